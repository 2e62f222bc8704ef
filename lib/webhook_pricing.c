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

void wh_pricing_from_row(struct st_item *it, const struct db_rows *r, size_t i, size_t col)
{
    it->p_model = db_val(r, i, col);
    it->p_category = db_val(r, i, col + 1);
    it->billable = db_val(r, i, col + 2) ? (int)db_int(r, i, col + 2, 0) : -1;
    it->p_type = db_val(r, i, col + 3);
    it->conv_id = db_val(r, i, col + 4);
    it->conv_origin = db_val(r, i, col + 5);
    it->conv_expires = db_int(r, i, col + 6, 0);
    it->has_pricing = it->p_model || it->p_category || it->billable >= 0 || it->conv_id;
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

static int same_str(const char *a, const char *b)
{
    return a ? b && strcmp(a, b) == 0 : b == NULL;
}

/* Whether status b of a message carries the pricing a (a status, or the stored row read
 * back) already holds (KEEP_CONV: b without a conversation keeps a's). */
static int same_item_pricing(const struct st_item *a, const struct st_item *b)
{
    return same_str(b->p_model, a->p_model) && same_str(b->p_category, a->p_category) &&
           b->billable == a->billable && same_str(b->p_type, a->p_type) &&
           (!b->conv_id || same_str(b->conv_id, a->conv_id)) &&
           (!b->conv_origin || same_str(b->conv_origin, a->conv_origin)) &&
           (b->conv_expires <= 0 || b->conv_expires == a->conv_expires);
}

/* Drops from ix[0..*n) (sorted by recipient, then arrival) the statuses whose pricing the
 * stored row of their message, or the status of the batch kept before them, already holds:
 * Meta repeats the same pricing on sent, delivered and read,
 * and an upsert that changes nothing costs as much as one that does (bench/webhooks: about
 * a quarter of the applier's row writes). Their event time is then not stored, so a later
 * status carrying another pricing but an earlier time could still win; that needs a
 * pricing that changes and changes back (A, B, A), which Meta does not send. */
static int skip_stored(struct batch *b, struct by_rec *ix, size_t *n)
{
    char ph[WH_CHUNK * 2 + 8], sql[WH_CHUNK * 2 + 320];
    size_t kept = 0;
    for (size_t off = 0; off < *n; off += WH_CHUNK) {
        size_t k = *n - off < WH_CHUNK ? *n - off : WH_CHUNK, kb = wh_bucket(k);
        db_arg args[WH_CHUNK];
        for (size_t i = 0; i < kb; i++)
            args[i] = DB_INT(ix[off + (i < k ? i : k - 1)].id);
        wh_repeat_sql(ph, sizeof ph, "?", kb);
        snprintf(sql, sizeof sql,
                 "SELECT recipient_id, pricing_model, category, billable, pricing_type, "
                 "conversation_id, conversation_origin, UNIX_TIMESTAMP(conversation_expires_at) "
                 "FROM message_pricing WHERE recipient_id IN (%s) ORDER BY recipient_id",
                 ph);
        struct db_rows r;
        int rc = db_query(b->db, sql, args, kb, &r);
        if (rc != DB_OK)
            return rc;
        size_t row = 0; /* both in recipient order */
        for (size_t i = off; i < off + k; i++) {
            while (row < r.nrows && db_int(&r, row, 0, 0) < ix[i].id)
                row++;
            const struct st_item *it = &b->items[ix[i].ix];
            if (row < r.nrows && db_int(&r, row, 0, 0) == ix[i].id) {
                struct st_item stored = {0};
                wh_pricing_from_row(&stored, &r, row, 1);
                if (same_item_pricing(&stored, it))
                    continue;
            }
            if (kept && ix[kept - 1].id == ix[i].id &&
                same_item_pricing(&b->items[ix[kept - 1].ix], it))
                continue;
            ix[kept++] = ix[i];
        }
        db_rows_free(&r);
    }
    *n = kept;
    return DB_OK;
}

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
    if (rc == DB_OK && n)
        rc = skip_stored(b, ix, &n);
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
