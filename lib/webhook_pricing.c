/* Meta's pricing of each message (sql/176): the pricing and conversation objects of status
 * webhooks, read in pass 1 and written once per batch, WH_CHUNK rows per statement, into
 * message_pricing, where the latest status (event time, then the furthest status) wins. */
#include "webhook_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "costs.h"
#include "db.h"

/* A string member no longer than max (its column); NULL otherwise: a long value from the
 * payload must never fail the batch's statement. */
static const char *jstr_max(json_object *o, const char *k, size_t max)
{
    const char *v = wh_jstr(o, k);
    return v && strlen(v) <= max ? v : NULL;
}

void wh_collect_pricing(struct st_item *it, json_object *s)
{
    it->billable = -1;
    json_object *p = wh_jget(s, "pricing", json_type_object);
    json_object *c = wh_jget(s, "conversation", json_type_object);
    if (!p && !c)
        return;
    it->has_pricing = 1;
    it->p_model = jstr_max(p, "pricing_model", 16);
    it->p_category = jstr_max(p, "category", 32);
    it->p_type = jstr_max(p, "type", 32);
    json_object *b = wh_jget(p, "billable", json_type_boolean);
    if (b)
        it->billable = json_object_get_boolean(b) ? 1 : 0;
    it->conv_id = jstr_max(c, "id", 128);
    it->conv_origin = jstr_max(wh_jget(c, "origin", json_type_object), "type", 32);
    char buf[32];
    const char *e = wh_jscalar(c, "expiration_timestamp", buf, sizeof buf);
    if (e) {
        char *end;
        long long t = strtoll(e, &end, 10);
        /* 2001..2100, as event times */
        it->conv_expires = *end == '\0' && t >= 1000000000LL && t <= 4102444800LL ? t : 0;
    }
}

static int status_rank(enum msg_status s)
{
    return s == MSG_SENT ? 1 : s == MSG_DELIVERED ? 2 : 3; /* read, failed */
}

struct by_rec {
    long long id;
    size_t ix;
};

/* By recipient id: concurrent batches insert into message_pricing in one key order. */
static int cmp_by_rec(const void *a, const void *b)
{
    const struct by_rec *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->ix > y->ix) - (x->ix < y->ix); /* a message's statuses in arrival order */
}

/* "newer": this row's status is later than the stored one. status_rank and status_at are
 * assigned last, so every IF reads the stored values. */
#define NEWER                                                                                      \
    "(VALUES(status_at) > status_at OR (VALUES(status_at) = status_at AND "                        \
    "VALUES(status_rank) >= status_rank))"
#define KEEP(col) col " = IF(" NEWER ", VALUES(" col "), " col "), "
/* Meta sends the conversation with `sent` only: a later status without one keeps it. */
#define KEEP_CONV(col) col " = IF(" NEWER ", COALESCE(VALUES(" col "), " col "), " col "), "

int wh_apply_pricing(struct batch *b)
{
    enum { PER = 14 };
    size_t n = 0;
    struct by_rec *ix = malloc((b->nitems + 1) * sizeof *ix);
    db_arg *args = malloc(WH_CHUNK * PER * sizeof *args);
    char(*country)[3] = malloc(WH_CHUNK * sizeof *country);
    char rows[WH_CHUNK * 80], sql[WH_CHUNK * 80 + 4096];
    int rc = ix && args && country ? DB_OK : DB_ERR;
    for (size_t i = 0; rc == DB_OK && i < b->nitems; i++)
        if (b->items[i].fresh && b->items[i].rec >= 0 && b->items[i].has_pricing) {
            ix[n].id = b->recs[b->items[i].rec].id;
            ix[n++].ix = i;
        }
    if (n > 1)
        qsort(ix, n, sizeof *ix, cmp_by_rec);
    for (size_t off = 0; off < n && rc == DB_OK; off += WH_CHUNK) {
        size_t k = n - off < WH_CHUNK ? n - off : WH_CHUNK, kb = wh_bucket(k), a = 0;
        for (size_t i = 0; i < kb; i++) {
            size_t j = i < k ? i : k - 1;
            const struct st_item *it = &b->items[ix[off + j].ix];
            const struct rec *c = &b->recs[it->rec];
            memcpy(country[j], costs_country(c->phone), 3);
            args[a++] = DB_INT(c->id);
            args[a++] = DB_INT(c->campaign);
            args[a++] = DB_STR(it->wamid);
            args[a++] = DB_STR(country[j]);
            args[a++] = it->p_model ? DB_STR(it->p_model) : DB_NULL;
            args[a++] = it->p_category ? DB_STR(it->p_category) : DB_NULL;
            args[a++] = it->billable >= 0 ? DB_INT(it->billable) : DB_NULL;
            args[a++] = it->p_type ? DB_STR(it->p_type) : DB_NULL;
            args[a++] = it->conv_id ? DB_STR(it->conv_id) : DB_NULL;
            args[a++] = it->conv_origin ? DB_STR(it->conv_origin) : DB_NULL;
            args[a++] = it->conv_expires > 0 ? DB_INT(it->conv_expires) : DB_NULL;
            args[a++] = DB_STR(msg_status_name(it->next));
            args[a++] = DB_INT(it->t);
            args[a++] = DB_INT(status_rank(it->next));
        }
        wh_repeat_sql(rows, sizeof rows,
                      "(?,?,?,?,?,?,?,?,?,?,FROM_UNIXTIME(?),?,FROM_UNIXTIME(?),?)", kb);
        snprintf(sql, sizeof sql,
                 "INSERT INTO message_pricing (recipient_id, campaign_id, wamid, country, "
                 "pricing_model, category, billable, pricing_type, conversation_id, "
                 "conversation_origin, conversation_expires_at, status, status_at, status_rank) "
                 "VALUES %s ON DUPLICATE KEY UPDATE " KEEP("pricing_model") KEEP("category")
                     KEEP("billable") KEEP("pricing_type") KEEP_CONV("conversation_id")
                         KEEP_CONV("conversation_origin") KEEP_CONV("conversation_expires_at")
                             KEEP("status") KEEP("status_rank") "status_at = IF(" NEWER
                                                                ", VALUES(status_at), status_at)",
                 rows);
        rc = db_exec(b->db, sql, args, a, NULL);
    }
    free(ix);
    free(args);
    free(country);
    return rc;
}
