#include "webhook_apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "counters.h"
#include "db.h"
#include "log.h"
#include "msgstatus.h"

int webhook_callback_format(char *out, size_t outlen, long long campaign_id,
                            long long recipient_id)
{
    int n = snprintf(out, outlen, "pregon:%lld:%lld", campaign_id, recipient_id);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int webhook_callback_parse(const char *s, long long *campaign_id, long long *recipient_id)
{
    long long c, r;
    int end = 0;
    if (!s || sscanf(s, "pregon:%lld:%lld%n", &c, &r, &end) != 2 || s[end] != '\0' || c <= 0 ||
        r <= 0)
        return -1;
    *campaign_id = c;
    *recipient_id = r;
    return 0;
}

static const char *jstr(json_object *o, const char *k)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, k, &v))
        return NULL;
    if (json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

static json_object *jget(json_object *o, const char *k, json_type t)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, t))
        return NULL;
    return v;
}

/* Counter changes of one payload, per campaign, applied once at the end. */
struct deltas {
    long long campaign[64];
    struct msg_delta d[64];
    size_t n;
};

static struct msg_delta *delta_for(struct deltas *ds, long long campaign_id)
{
    for (size_t i = 0; i < ds->n; i++)
        if (ds->campaign[i] == campaign_id)
            return &ds->d[i];
    if (ds->n == sizeof ds->campaign / sizeof ds->campaign[0])
        return NULL;
    ds->campaign[ds->n] = campaign_id;
    memset(&ds->d[ds->n], 0, sizeof ds->d[0]);
    return &ds->d[ds->n++];
}

static int flush_deltas(struct db *db, struct deltas *ds)
{
    for (size_t i = 0; i < ds->n; i++) {
        int rc = counters_apply(db, ds->campaign[i], &ds->d[i]);
        if (rc != DB_OK)
            return rc;
    }
    ds->n = 0;
    return DB_OK;
}

static int apply_status(struct db *db, json_object *s, struct deltas *ds,
                        struct webhook_stats *st)
{
    st->statuses++;
    const char *wamid = jstr(s, "id"), *status = jstr(s, "status");
    const char *ts = jstr(s, "timestamp"), *cb = jstr(s, "biz_opaque_callback_data");
    enum msg_status next = msg_status_parse(status);
    if (!wamid || strlen(wamid) > 160 || (next != MSG_SENT && next != MSG_DELIVERED &&
                                          next != MSG_READ && next != MSG_FAILED)) {
        st->ignored++;
        return DB_OK;
    }
    long long when = ts ? atoll(ts) : 0;
    if (when <= 0)
        when = (long long)time(NULL);
    struct db_rows r;
    int rc = db_query(db,
                      "SELECT id, campaign_id, status FROM recipients WHERE wamid = ? FOR UPDATE",
                      DB_ARGS(DB_STR(wamid)), &r);
    if (rc != DB_OK)
        return rc;
    long long cid, rid;
    if (r.nrows == 0 && webhook_callback_parse(cb, &cid, &rid) == 0) {
        db_rows_free(&r);
        /* The worker may not have recorded the answer yet: our callback data finds it. */
        rc = db_query(db,
                      "SELECT id, campaign_id, status FROM recipients "
                      "WHERE id = ? AND campaign_id = ? AND (wamid IS NULL OR wamid = ?) "
                      "FOR UPDATE",
                      DB_ARGS(DB_INT(rid), DB_INT(cid), DB_STR(wamid)), &r);
        if (rc != DB_OK)
            return rc;
    }
    if (r.nrows == 0) {
        db_rows_free(&r);
        st->unmatched++;
        return DB_OK;
    }
    long long id = db_int(&r, 0, 0, 0), campaign_id = db_int(&r, 0, 1, 0);
    enum msg_status cur = msg_status_parse(db_val(&r, 0, 2));
    db_rows_free(&r);

    struct msg_delta d = {0};
    if (!msg_transition(cur, next, &d)) {
        st->ignored++;
        return DB_OK;
    }
    int code = 0;
    const char *etext = NULL;
    json_object *errs = jget(s, "errors", json_type_array);
    if (next == MSG_FAILED && errs && json_object_array_length(errs) > 0) {
        json_object *e = json_object_array_get_idx(errs, 0), *c;
        if (json_object_object_get_ex(e, "code", &c))
            code = json_object_get_int(c);
        json_object *ed = jget(e, "error_data", json_type_object);
        etext = jstr(ed, "details");
        if (!etext)
            etext = jstr(e, "title");
        if (!etext)
            etext = jstr(e, "message");
    }
    char etext_cut[1024];
    snprintf(etext_cut, sizeof etext_cut, "%s", etext ? etext : "");
    /* One statement for every status: times are kept per status, the first one wins. */
    rc = db_exec(db,
                 "UPDATE recipients SET status = ?, wamid = COALESCE(wamid, ?), "
                 "sent_at = COALESCE(sent_at, FROM_UNIXTIME(?)), "
                 "delivered_at = IF(? >= 2, COALESCE(delivered_at, FROM_UNIXTIME(?)), delivered_at), "
                 "read_at = IF(? = 3, COALESCE(read_at, FROM_UNIXTIME(?)), read_at), "
                 "failed_at = IF(? = 9, COALESCE(failed_at, FROM_UNIXTIME(?)), failed_at), "
                 "last_error_code = IF(? = 9, ?, last_error_code), "
                 "last_error_text = IF(? = 9, ?, last_error_text) WHERE id = ?",
                 DB_ARGS(DB_STR(msg_status_name(next)), DB_STR(wamid), DB_INT(when),
                         DB_INT(next == MSG_DELIVERED ? 2 : next == MSG_READ ? 3 : 0),
                         DB_INT(when), DB_INT(next == MSG_READ ? 3 : 0), DB_INT(when),
                         DB_INT(next == MSG_FAILED ? 9 : 0), DB_INT(when),
                         DB_INT(next == MSG_FAILED ? 9 : 0), code ? DB_INT(code) : DB_NULL,
                         DB_INT(next == MSG_FAILED ? 9 : 0), etext ? DB_STR(etext_cut) : DB_NULL,
                         DB_INT(id)),
                 NULL);
    if (rc != DB_OK)
        return rc;
    struct msg_delta *acc = delta_for(ds, campaign_id);
    if (!acc) {
        rc = flush_deltas(db, ds);
        if (rc != DB_OK)
            return rc;
        acc = delta_for(ds, campaign_id);
    }
    acc->pending += d.pending;
    acc->sending += d.sending;
    acc->sent += d.sent;
    acc->delivered += d.delivered;
    acc->read += d.read;
    acc->failed += d.failed;
    acc->blocked += d.blocked;
    acc->cancelled += d.cancelled;
    acc->unknown += d.unknown;
    st->applied++;
    return DB_OK;
}

static int apply_all(struct db *db, json_object *payload, struct webhook_stats *st)
{
    struct deltas ds;
    ds.n = 0;
    json_object *entries = jget(payload, "entry", json_type_array);
    for (size_t i = 0; entries && i < json_object_array_length(entries); i++) {
        json_object *changes = jget(json_object_array_get_idx(entries, i), "changes",
                                    json_type_array);
        for (size_t j = 0; changes && j < json_object_array_length(changes); j++) {
            json_object *ch = json_object_array_get_idx(changes, j);
            const char *field = jstr(ch, "field");
            json_object *value = jget(ch, "value", json_type_object);
            if (!field || strcmp(field, "messages") != 0 || !value) {
                st->other++;
                continue;
            }
            json_object *statuses = jget(value, "statuses", json_type_array);
            for (size_t k = 0; statuses && k < json_object_array_length(statuses); k++) {
                int rc = apply_status(db, json_object_array_get_idx(statuses, k), &ds, st);
                if (rc != DB_OK)
                    return rc;
            }
            if (jget(value, "messages", json_type_array))
                st->other++;
        }
    }
    return flush_deltas(db, &ds);
}

int webhook_apply(struct db *db, json_object *payload, struct webhook_stats *st)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        memset(st, 0, sizeof *st);
        int rc = db_begin(db);
        if (rc != DB_OK)
            return rc;
        rc = apply_all(db, payload, st);
        if (rc == DB_OK)
            rc = db_commit(db);
        if (rc == DB_OK)
            return DB_OK;
        db_rollback(db);
        if (rc != DB_ERR_RETRY)
            return rc;
        log_warn("webhook apply: %s; retrying", db_error(db));
    }
    return DB_ERR_RETRY;
}
