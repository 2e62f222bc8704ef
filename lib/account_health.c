#include "account_health.h"

#include <json-c/json.h>
#include <string.h>

#include "db.h"

static const struct {
    const char *name;
    long n;
} tiers[] = {{"TIER_250", 250},   {"TIER_1K", 1000},     {"TIER_2K", 2000},
             {"TIER_10K", 10000}, {"TIER_100K", 100000}, {"TIER_UNLIMITED", -1}};

int account_tier_known(const char *tier)
{
    for (size_t i = 0; tier && i < sizeof tiers / sizeof tiers[0]; i++)
        if (strcmp(tier, tiers[i].name) == 0)
            return 1;
    return 0;
}

long account_tier_limit(const char *tier)
{
    for (size_t i = 0; tier && i < sizeof tiers / sizeof tiers[0]; i++)
        if (strcmp(tier, tiers[i].name) == 0)
            return tiers[i].n;
    return 250;
}

void account_default_pace(const char *tier, const char *quality_rating, struct account_pace *p)
{
    long lim = account_tier_limit(tier);
    p->tier_limit = lim;
    /* interval_ms is the least time between two messages: a small tier's budget spread over
     * about three quarters of an hour instead of one burst, an unlimited one at the number's
     * own rate. */
    if (lim < 0) {
        p->batch_size = 200;
        p->interval_ms = 0;
    } else if (lim <= 250) {
        p->batch_size = 20;
        p->interval_ms = 10000;
    } else if (lim <= 2000) {
        p->batch_size = 20;
        p->interval_ms = 3000;
    } else if (lim <= 10000) {
        p->batch_size = 50;
        p->interval_ms = 1000;
    } else {
        p->batch_size = 100;
        p->interval_ms = 200;
    }
    p->daily_cap = lim > 0 ? lim : 0;
    const char *q = quality_rating ? quality_rating : "";
    if (!strcmp(q, "GREEN") || !strcmp(q, "HIGH")) {
        p->quality = "high";
        return;
    }
    int shift = 1; /* medium and not yet rated: half the batch, twice the wait */
    if (!strcmp(q, "RED") || !strcmp(q, "LOW")) {
        p->quality = "low";
        shift = 2;
    } else {
        p->quality = !strcmp(q, "YELLOW") || !strcmp(q, "MEDIUM") ? "medium" : "unknown";
    }
    p->batch_size >>= shift;
    if (p->batch_size < 5)
        p->batch_size = 5;
    p->interval_ms = p->interval_ms ? p->interval_ms << shift : 100 * shift;
}

int account_tier_used(struct db *db, const char *waba_id, long long cap, long long *used)
{
    *used = 0;
    struct db_rows r;
    /* Both read ix_contact_pace_time; the plain count spares the worker's claims (it runs
     * under the business's claim lock) the derived table the bounded one needs. */
    int rc = cap > 0 ? db_query(db,
                                "SELECT COUNT(*) FROM (SELECT 1 FROM contact_pace WHERE "
                                "waba_id = ? AND last_send_at > NOW(3) - INTERVAL 1 DAY "
                                "LIMIT ?) x",
                                DB_ARGS(DB_STR(waba_id), DB_INT(cap)), &r)
                     : db_query(db,
                                "SELECT COUNT(*) FROM contact_pace WHERE waba_id = ? AND "
                                "last_send_at > NOW(3) - INTERVAL 1 DAY",
                                DB_ARGS(DB_STR(waba_id)), &r);
    if (rc != DB_OK)
        return rc;
    *used = db_int(&r, 0, 0, 0);
    db_rows_free(&r);
    return DB_OK;
}

static int restricting(const char *event)
{
    static const char *const ev[] = {"ACCOUNT_RESTRICTION", "ACCOUNT_VIOLATION", "DISABLED_UPDATE",
                                     "ACCOUNT_DELETED"};
    for (size_t i = 0; event && i < sizeof ev / sizeof ev[0]; i++)
        if (strcmp(event, ev[i]) == 0)
            return 1;
    return 0;
}

int account_restricted(const char *account_event, const char *restriction, time_t now,
                       time_t *until)
{
    *until = 0;
    if (!restriction || !*restriction)
        return 0;
    /* A later event that does not restrict (e.g. VERIFIED_ACCOUNT) leaves the column as it
     * was: only the expirations can end the restriction then. */
    json_object *o = json_tokener_parse(restriction);
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return restricting(account_event); /* the bare event name, no details */
    }
    json_object *ban, *st, *list;
    int restricted = 1;
    if (json_object_object_get_ex(o, "ban_info", &ban) &&
        json_object_object_get_ex(ban, "waba_ban_state", &st) &&
        strcmp(json_object_get_string(st), "REINSTATE") == 0)
        restricted = 0;
    if (restricted && json_object_object_get_ex(o, "restriction_info", &list) &&
        json_object_is_type(list, json_type_array) && json_object_array_length(list) > 0) {
        int open = 0;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            json_object *exp;
            json_object *item = json_object_array_get_idx(list, i);
            if (!json_object_object_get_ex(item, "expiration", &exp)) {
                open = 1; /* no end given */
                continue;
            }
            time_t t = (time_t)json_object_get_int64(exp);
            if (t > *until)
                *until = t;
            if (t > now)
                open = 1;
        }
        restricted = open;
    }
    json_object_put(o);
    return restricted;
}
