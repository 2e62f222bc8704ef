/* Status events -> recipients: the rows locked in the one lock order, each (wamid, status)
 * recorded once in message_statuses, status moving forward only (lib/msgstatus.h), the
 * counters' deltas, what a failed status's error code means (opt-out, retry in 24 h, pause),
 * and the auto-pause (lib/campaign_health). */
#include "webhook_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_health.h"
#include "cloudapi.h"
#include "db.h"
#include "log.h"

#define RETRY_24H_S 86400

/* The worker's parameter-error threshold (webhook_apply_set_policy). */
static int policy_param_pause = 3;

void webhook_apply_set_policy(int param_pause)
{
    policy_param_pause = param_pause;
}

/* ---- the batch's recipients, hashed by id and by wamid ----------------------------------- */

static size_t hash_id(long long id)
{
    unsigned long long x = (unsigned long long)id;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static size_t hash_str(const char *s)
{
    unsigned long long h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

/* Slot tables of recs indexes + 1 (0: empty), linear probing, at most half full. */
static void index_put(size_t *tab, size_t cap, size_t h, size_t i)
{
    size_t mask = cap - 1;
    while (tab[h & mask])
        h++;
    tab[h & mask] = i + 1;
}

static void index_wamid(struct batch *b, size_t i)
{
    index_put(b->rec_by_wamid, b->rec_hcap, hash_str(b->recs[i].wamid), i);
}

/* Indexes recs[i], the last one added: doubles the tables (and reindexes) when half full. */
static int index_rec(struct batch *b, size_t i)
{
    if (b->nrecs * 2 > b->rec_hcap) {
        size_t cap = b->rec_hcap ? b->rec_hcap * 2 : 256;
        while (cap < b->nrecs * 2)
            cap *= 2;
        size_t *by_id = calloc(cap, sizeof *by_id), *by_wamid = calloc(cap, sizeof *by_wamid);
        if (!by_id || !by_wamid) {
            free(by_id);
            free(by_wamid);
            return DB_ERR;
        }
        free(b->rec_by_id);
        free(b->rec_by_wamid);
        b->rec_by_id = by_id;
        b->rec_by_wamid = by_wamid;
        b->rec_hcap = cap;
        for (size_t k = 0; k < b->nrecs; k++) {
            index_put(by_id, cap, hash_id(b->recs[k].id), k);
            if (b->recs[k].has_wamid)
                index_wamid(b, k);
        }
        return DB_OK;
    }
    index_put(b->rec_by_id, b->rec_hcap, hash_id(b->recs[i].id), i);
    if (b->recs[i].has_wamid)
        index_wamid(b, i);
    return DB_OK;
}

static long find_rec_by_wamid(struct batch *b, const char *wamid)
{
    size_t mask = b->rec_hcap - 1;
    for (size_t h = hash_str(wamid); b->rec_hcap && b->rec_by_wamid[h & mask]; h++) {
        const struct rec *c = &b->recs[b->rec_by_wamid[h & mask] - 1];
        if (c->has_wamid && strcmp(c->wamid, wamid) == 0)
            return (long)(b->rec_by_wamid[h & mask] - 1);
    }
    return -1;
}

static long find_rec_by_id(struct batch *b, long long id)
{
    size_t mask = b->rec_hcap - 1;
    for (size_t h = hash_id(id); b->rec_hcap && b->rec_by_id[h & mask]; h++)
        if (b->recs[b->rec_by_id[h & mask] - 1].id == id)
            return (long)(b->rec_by_id[h & mask] - 1);
    return -1;
}

/* Adds the rows (id, campaign_id, status, wamid, phone, sent_at IS NOT NULL, variant) as
 * recipients of the batch. */
static int add_recs(struct batch *b, struct db_rows *r)
{
    for (size_t i = 0; i < r->nrows; i++) {
        long long id = db_int(r, i, 0, 0);
        if (find_rec_by_id(b, id) >= 0)
            continue;
        if (wh_grow((void **)&b->recs, &b->caprecs, b->nrecs + 1, sizeof *b->recs) < 0)
            return DB_ERR;
        struct rec *c = &b->recs[b->nrecs++];
        memset(c, 0, sizeof *c);
        c->id = id;
        c->campaign = db_int(r, i, 1, 0);
        c->st = msg_status_parse(db_val(r, i, 2));
        if (db_val(r, i, 3)) {
            snprintf(c->wamid, sizeof c->wamid, "%s", db_val(r, i, 3));
            c->has_wamid = 1;
        }
        snprintf(c->phone, sizeof c->phone, "%s", db_val(r, i, 4) ? db_val(r, i, 4) : "");
        c->was_sent = db_int(r, i, 5, 0) != 0;
        c->variant = db_val(r, i, 6) ? (int)db_int(r, i, 6, 0) : -1;
        int rc = index_rec(b, b->nrecs - 1);
        if (rc == DB_OK)
            rc = wh_campaign_account(b->db, c->campaign, &c->account);
        if (rc != DB_OK)
            return rc;
    }
    return DB_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* The one lock order of recipient rows (the worker's recorder and claimer follow it too):
 * by primary key, ascending, in one pass before anything else of the transaction. The ids
 * are found first without locks (by wamid and by our callback data), then locked in order;
 * what lock_recipients reads afterwards is already held. */
static int lock_recipients_ordered(struct batch *b)
{
    size_t cap = b->nitems * 2 + 1, n = 0;
    long long *ids = malloc(cap * sizeof *ids);
    if (!ids)
        return DB_ERR;
    int rc = DB_OK;
    char ph[WH_CHUNK * 2 + 8], sql[WH_CHUNK * 2 + 256];
    for (size_t off = 0; off < b->nitems && rc == DB_OK; off += WH_CHUNK) {
        size_t k = b->nitems - off < WH_CHUNK ? b->nitems - off : WH_CHUNK, kb = wh_bucket(k);
        db_arg args[WH_CHUNK];
        for (size_t i = 0; i < kb; i++)
            args[i] = DB_STR(b->items[off + (i < k ? i : k - 1)].wamid);
        wh_repeat_sql(ph, sizeof ph, "?", kb);
        snprintf(sql, sizeof sql, "SELECT id FROM recipients WHERE wamid IN (%s)", ph);
        struct db_rows r;
        rc = db_query(b->db, sql, args, kb, &r);
        for (size_t i = 0; rc == DB_OK && i < r.nrows && n < cap; i++)
            ids[n++] = db_int(&r, i, 0, 0);
        if (rc == DB_OK)
            db_rows_free(&r);
    }
    for (size_t i = 0; i < b->nitems && n < cap; i++) {
        long long cid, rid;
        if (webhook_callback_parse(b->items[i].cb, &cid, &rid) == 0)
            ids[n++] = rid;
    }
    qsort(ids, n, sizeof *ids, cmp_ll);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || ids[m - 1] != ids[i])
            ids[m++] = ids[i];
    for (size_t off = 0; off < m && rc == DB_OK; off += WH_CHUNK) {
        size_t k = m - off < WH_CHUNK ? m - off : WH_CHUNK, kb = wh_bucket(k);
        db_arg args[WH_CHUNK];
        for (size_t i = 0; i < kb; i++)
            args[i] = DB_INT(ids[off + (i < k ? i : k - 1)]);
        wh_repeat_sql(ph, sizeof ph, "?", kb);
        snprintf(sql, sizeof sql,
                 "SELECT id, campaign_id, status, wamid, phone, sent_at IS NOT NULL, variant FROM "
                 "recipients WHERE id IN (%s) ORDER BY id FOR UPDATE",
                 ph);
        struct db_rows r;
        rc = db_query(b->db, sql, args, kb, &r);
        if (rc == DB_OK) {
            rc = add_recs(b, &r);
            db_rows_free(&r);
        }
    }
    free(ids);
    return rc;
}

/* Locks the recipients of every status (by wamid, in wamid order so concurrent batches lock
 * in the same order; then by our callback data for wamids the worker has not recorded). */
static int lock_recipients(struct batch *b)
{
    int orc = lock_recipients_ordered(b);
    if (orc != DB_OK)
        return orc;
    size_t n = 0;
    const char **w = malloc((b->nitems + 1) * sizeof *w);
    if (!w)
        return DB_ERR;
    /* Only the wamids the ordered pass did not find (a send recorded meanwhile): the rows it
     * found are locked already (reading them again: bench/webhooks, statuses 146 -> 100 us
     * an event). */
    for (size_t i = 0; i < b->nitems; i++)
        if (find_rec_by_wamid(b, b->items[i].wamid) < 0)
            w[n++] = b->items[i].wamid;
    qsort(w, n, sizeof *w, cmp_str);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || strcmp(w[m - 1], w[i]) != 0)
            w[m++] = w[i];
    int rc = DB_OK;
    char ph[WH_CHUNK * 2 + 8], sql[WH_CHUNK * 2 + 256];
    for (size_t off = 0; off < m && rc == DB_OK; off += WH_CHUNK) {
        size_t k = m - off < WH_CHUNK ? m - off : WH_CHUNK, kb = wh_bucket(k);
        db_arg args[WH_CHUNK];
        for (size_t i = 0; i < kb; i++)
            args[i] = DB_STR(w[off + (i < k ? i : k - 1)]);
        wh_repeat_sql(ph, sizeof ph, "?", kb);
        snprintf(sql, sizeof sql,
                 "SELECT id, campaign_id, status, wamid, phone, sent_at IS NOT NULL, variant FROM "
                 "recipients "
                 "WHERE wamid IN (%s) FOR UPDATE",
                 ph);
        struct db_rows r;
        rc = db_query(b->db, sql, args, kb, &r);
        if (rc == DB_OK) {
            rc = add_recs(b, &r);
            db_rows_free(&r);
        }
    }
    free(w);
    for (size_t i = 0; i < b->nitems && rc == DB_OK; i++) {
        struct st_item *it = &b->items[i];
        it->rec = find_rec_by_wamid(b, it->wamid);
        long long cid, rid;
        if (it->rec >= 0 || webhook_callback_parse(it->cb, &cid, &rid) != 0)
            continue;
        it->rec = find_rec_by_id(b, rid);
        if (it->rec >= 0) {
            if (b->recs[it->rec].campaign != cid ||
                (b->recs[it->rec].has_wamid && strcmp(b->recs[it->rec].wamid, it->wamid) != 0))
                it->rec = -1;
            continue;
        }
        struct db_rows r;
        rc = db_query(b->db,
                      "SELECT id, campaign_id, status, wamid, phone, sent_at IS NOT NULL, variant "
                      "FROM recipients "
                      "WHERE id = ? AND campaign_id = ? AND (wamid IS NULL OR wamid = ?) "
                      "FOR UPDATE",
                      DB_ARGS(DB_INT(rid), DB_INT(cid), DB_STR(it->wamid)), &r);
        if (rc != DB_OK)
            break;
        rc = add_recs(b, &r);
        db_rows_free(&r);
        it->rec = find_rec_by_id(b, rid);
    }
    /* A status only touches recipients of the account it was routed to. */
    for (size_t i = 0; i < b->nitems && rc == DB_OK; i++) {
        struct st_item *it = &b->items[i];
        if (it->rec >= 0 && it->account && b->recs[it->rec].account != it->account) {
            log_warn("status for %s routed to account %lld but the message is account %lld's",
                     it->wamid, it->account, b->recs[it->rec].account);
            it->rec = -2; /* foreign: neither applied nor kept waiting */
        }
    }
    return rc;
}

struct item_key {
    const char *wamid, *raw;
    size_t ix;
};

static int cmp_item_key(const void *a, const void *b)
{
    const struct item_key *x = a, *y = b;
    int d = strcmp(x->wamid, y->wamid);
    if (!d)
        d = strcmp(x->raw, y->raw);
    return d ? d : (x->ix > y->ix) - (x->ix < y->ix);
}

/* Records each new (wamid, status) in message_statuses; marks the items that are new.
 * Statuses without a recipient stay there unapplied until the wamid is recorded. */
static int dedupe_statuses(struct batch *b)
{
    /* Sorted (wamid, status) so concurrent inserts take the key locks in one order. */
    size_t n = 0;
    size_t *ix = malloc((b->nitems + 1) * sizeof *ix);
    struct item_key *keys = malloc((b->nitems + 1) * sizeof *keys);
    if (!ix || !keys) {
        free(ix);
        free(keys);
        return DB_ERR;
    }
    for (size_t i = 0; i < b->nitems; i++)
        if (b->items[i].rec != -2 && !b->items[i].pending) {
            keys[n].wamid = b->items[i].wamid;
            keys[n].raw = b->items[i].raw;
            keys[n].ix = i;
            n++;
        }
    /* a 3 MB body carries tens of thousands of statuses: qsort, never quadratic */
    qsort(keys, n, sizeof *keys, cmp_item_key);
    for (size_t i = 0; i < n; i++)
        ix[i] = keys[i].ix;
    free(keys);
    int rc = DB_OK;
    enum { PER = 17 };
    char rows[WH_CHUNK * 112], sql[WH_CHUNK * 112 + 640];
    char(*etext)[1024] = malloc(WH_CHUNK * sizeof *etext);
    char(*cb)[512] = malloc(WH_CHUNK * sizeof *cb);
    db_arg *args = malloc(WH_CHUNK * PER * sizeof *args);
    if (!etext || !cb || !args)
        rc = DB_ERR;
    for (size_t off = 0; off < n && rc == DB_OK; off += WH_CHUNK) {
        size_t k = n - off < WH_CHUNK ? n - off : WH_CHUNK, kb = wh_bucket(k), a = 0;
        for (size_t i = 0; i < kb; i++) {
            size_t j = i < k ? i : k - 1;
            struct st_item *it = &b->items[ix[off + j]];
            if (i == j) {
                utf8_cut(it->etext, etext[j], sizeof etext[j]);
                utf8_cut(it->cb, cb[j], sizeof cb[j]);
            }
            long long rid = it->rec >= 0 ? b->recs[it->rec].id : 0;
            args[a++] = DB_STR(it->wamid);
            args[a++] = DB_STR(it->raw);
            args[a++] = DB_INT(it->t);
            args[a++] = it->account ? DB_INT(it->account) : DB_NULL;
            args[a++] = rid ? DB_INT(rid) : DB_NULL;
            args[a++] = it->cb ? DB_STR(cb[j]) : DB_NULL;
            args[a++] = it->code ? DB_INT(it->code) : DB_NULL;
            args[a++] = it->etext ? DB_STR(etext[j]) : DB_NULL;
            args[a++] = it->event_id ? DB_INT(it->event_id) : DB_NULL;
            args[a++] = DB_INT(rid);
            /* the pricing, kept for a status that waits for its wamid (sql/176) */
            args[a++] = it->p_model ? DB_STR(it->p_model) : DB_NULL;
            args[a++] = it->p_category ? DB_STR(it->p_category) : DB_NULL;
            args[a++] = it->billable >= 0 && it->has_pricing ? DB_INT(it->billable) : DB_NULL;
            args[a++] = it->p_type ? DB_STR(it->p_type) : DB_NULL;
            args[a++] = it->conv_id ? DB_STR(it->conv_id) : DB_NULL;
            args[a++] = it->conv_origin ? DB_STR(it->conv_origin) : DB_NULL;
            args[a++] = it->conv_expires > 0 ? DB_INT(it->conv_expires) : DB_NULL;
        }
        wh_repeat_sql(rows, sizeof rows,
                      "(?,?,FROM_UNIXTIME(?),?,?,?,?,?,?,IF(? > 0, NOW(3), NULL),"
                      "?,?,?,?,?,?,FROM_UNIXTIME(?))",
                      kb);
        snprintf(sql, sizeof sql,
                 "INSERT IGNORE INTO message_statuses (wamid, status, event_at, account_id, "
                 "recipient_id, callback, error_code, error_text, event_id, applied_at, "
                 "pricing_model, pricing_category, pricing_billable, pricing_type, "
                 "conversation_id, conversation_origin, conversation_expires_at) "
                 "VALUES %s RETURNING wamid, status",
                 rows);
        struct db_rows r;
        rc = db_query(b->db, sql, args, a, &r);
        if (rc != DB_OK)
            break;
        for (size_t i = 0; i < r.nrows; i++) {
            const char *w = db_val(&r, i, 0), *s = db_val(&r, i, 1);
            for (size_t j = 0; j < k; j++) {
                struct st_item *it = &b->items[ix[off + j]];
                if (!it->fresh && strcmp(it->wamid, w) == 0 && strcmp(it->raw, s) == 0) {
                    it->fresh = 1;
                    break;
                }
            }
        }
        db_rows_free(&r);
    }
    for (size_t i = 0; i < b->nitems; i++) {
        struct st_item *it = &b->items[i];
        if (it->pending || it->rec == -2)
            continue;
        if (!it->fresh)
            b->st->duplicates++;
        else if (it->rec < 0)
            b->st->unmatched++;
    }
    free(etext);
    free(cb);
    free(args);
    free(ix);
    return rc;
}

static void delta_add(struct msg_delta *a, const struct msg_delta *d)
{
    a->pending += d->pending;
    a->sending += d->sending;
    a->sent += d->sent;
    a->delivered += d->delivered;
    a->read += d->read;
    a->failed += d->failed;
    a->blocked += d->blocked;
    a->cancelled += d->cancelled;
    a->unknown += d->unknown;
}

static void tmin(long long *slot, long long t)
{
    if (*slot == 0 || t < *slot)
        *slot = t;
}

/* What a failed status's error code means for the campaign and the number (spec §2, the same
 * table the worker follows). */
static int failed_policy(struct batch *b, struct st_item *it, struct rec *c)
{
    /* Every failure Meta reports counts for the auto-pause, by its class; judged once the
     * batch's recipients are written (health_pauses). */
    enum campaign_health_kind hk = campaign_health_status_kind(it->code);
    if (hk == HEALTH_FAILURE || hk == HEALTH_PARAM) {
        struct camp *k = wh_camp_get(b, c->campaign);
        if (!k)
            return DB_ERR;
        k->failures++;
        k->param_failures += hk == HEALTH_PARAM;
        k->fail_code = it->code;
        utf8_cut(it->etext ? it->etext : (it->code ? cloudapi_explain(it->code, "es") : ""),
                 k->fail_text, sizeof k->fail_text);
    }
    if (!it->code)
        return DB_OK;
    enum cloudapi_action a = cloudapi_classify(it->code, CLOUDAPI_HTTP_WEBHOOK);
    char reason[1200];
    snprintf(reason, sizeof reason, "Meta error %d (%s) in a status webhook: %s", it->code,
             cloudapi_action_name(a), it->etext ? it->etext : cloudapi_explain(it->code, "es"));
    switch (a) {
    case CLOUDAPI_ACT_OPTOUT:
        return c->phone[0] ? wh_optout_add(b, c->phone, "error_131050", it->etext, c->campaign)
                           : DB_OK;
    case CLOUDAPI_ACT_RETRY_24H:
        /* Meta's per-user marketing cap: not before 24 h, when it may be sent again. */
        c->retry_at = it->t + RETRY_24H_S;
        return DB_OK;
    case CLOUDAPI_ACT_PAUSE_CAMPAIGN:
    case CLOUDAPI_ACT_STOP_CAMPAIGN:
        return wh_campaigns_event(b, CSCOPE_ONE, c->campaign, CEV_PAUSE_ERROR, reason);
    case CLOUDAPI_ACT_PAUSE_NUMBER:
    case CLOUDAPI_ACT_STOP_ACCOUNT:
    case CLOUDAPI_ACT_STOP_NUMBER:
        return c->account
                   ? wh_campaigns_event(b, CSCOPE_ACCOUNT, c->account,
                                        (enum campaign_event)campaign_error_event(it->code, a),
                                        reason)
                   : DB_OK;
    default:
        return DB_OK;
    }
}

static int apply_item(struct batch *b, struct st_item *it)
{
    struct rec *c = &b->recs[it->rec];
    enum msg_status cur = c->st;
    c->touched = 1;
    if (!c->has_wamid) {
        snprintf(c->wamid, sizeof c->wamid, "%s", it->wamid);
        c->has_wamid = 1;
        index_wamid(b, (size_t)it->rec);
    }
    /* Times: the earliest event implying each stage, whatever the order of arrival. */
    if (cur == MSG_SENDING || cur == MSG_SENT || cur == MSG_DELIVERED || cur == MSG_READ ||
        cur == MSG_FAILED || cur == MSG_UNKNOWN) {
        tmin(&c->t_sent, it->t);
        if (it->next == MSG_DELIVERED || it->next == MSG_READ)
            tmin(&c->t_deliv, it->t);
        if (it->next == MSG_READ)
            tmin(&c->t_read, it->t);
    }
    struct msg_delta d = {0};
    if (!msg_transition_counted(cur, it->next, c->was_sent, &d)) {
        b->st->ignored++;
        return DB_OK;
    }
    struct camp *k = wh_camp_get(b, c->campaign);
    if (!k)
        return DB_ERR;
    delta_add(&k->d, &d);
    if (c->variant > 0 && c->variant <= ABVAR_MAX)
        abvar_counts_funnel(&k->vd[c->variant], &d); /* its A/B variant's funnel */
    b->st->applied++;
    c->st = it->next;
    if (it->next == MSG_FAILED) {
        c->t_failed = it->t;
        c->err_mode = 1;
        c->code = it->code;
        utf8_cut(it->etext ? it->etext : "", c->etext, sizeof c->etext);
        return failed_policy(b, it, c);
    }
    if (cur == MSG_FAILED) {
        /* A later delivery proves the failure wrong. */
        c->err_mode = 2;
        c->t_failed = 0;
        c->retry_at = 0;
    }
    return DB_OK;
}

/* Writes the touched recipients, WH_CHUNK rows per statement: each row's new values are a row
 * of a derived table joined on the id (the times keep the earliest event, as one by one). */
static int update_recs(struct batch *b)
{
    enum { PER = 11 };
    size_t n = 0;
    size_t *ix = malloc((b->nrecs + 1) * sizeof *ix);
    db_arg *args = malloc(WH_CHUNK * PER * sizeof *args);
    static const char more[] = " UNION ALL SELECT ?,?,?,?,?,?,?,?,?,?,?";
    size_t rows_len = WH_CHUNK * sizeof more + 1, sql_len = rows_len + 1536;
    char *rows = malloc(rows_len), *sql = malloc(sql_len);
    int rc = ix && args && rows && sql ? DB_OK : DB_ERR;
    for (size_t i = 0; rc == DB_OK && i < b->nrecs; i++)
        if (b->recs[i].touched)
            ix[n++] = i;
    for (size_t off = 0; off < n && rc == DB_OK; off += WH_CHUNK) {
        size_t k = n - off < WH_CHUNK ? n - off : WH_CHUNK, kb = wh_bucket(k), a = 0;
        for (size_t i = 0; i < kb; i++) {
            const struct rec *c = &b->recs[ix[off + (i < k ? i : k - 1)]];
            args[a++] = DB_INT(c->id);
            args[a++] = DB_STR(msg_status_name(c->st));
            args[a++] = DB_STR(c->wamid);
            args[a++] = DB_INT(c->t_sent);
            args[a++] = DB_INT(c->t_deliv);
            args[a++] = DB_INT(c->t_read);
            args[a++] = DB_INT(c->err_mode);
            args[a++] = DB_INT(c->t_failed);
            args[a++] = c->code ? DB_INT(c->code) : DB_NULL;
            args[a++] = c->etext[0] ? DB_STR(c->etext) : DB_NULL;
            args[a++] = DB_INT(c->retry_at);
        }
        rows[0] = '\0';
        for (size_t i = 1; i < kb; i++)
            memcpy(rows + (i - 1) * (sizeof more - 1), more, sizeof more);
        snprintf(sql, sql_len,
                 "UPDATE recipients r JOIN (SELECT ? AS id, ? AS st, ? AS w, ? AS ts, ? AS td, "
                 "? AS tr, ? AS em, ? AS tf, ? AS code, ? AS et, ? AS ra%s) v ON r.id = v.id "
                 "SET r.status = v.st, r.wamid = COALESCE(r.wamid, v.w), "
                 "r.sent_at = IF(v.ts > 0, LEAST(COALESCE(r.sent_at, FROM_UNIXTIME(v.ts)), "
                 "FROM_UNIXTIME(v.ts)), r.sent_at), "
                 "r.delivered_at = IF(v.td > 0, LEAST(COALESCE(r.delivered_at, "
                 "FROM_UNIXTIME(v.td)), FROM_UNIXTIME(v.td)), r.delivered_at), "
                 "r.read_at = IF(v.tr > 0, LEAST(COALESCE(r.read_at, FROM_UNIXTIME(v.tr)), "
                 "FROM_UNIXTIME(v.tr)), r.read_at), "
                 "r.failed_at = CASE v.em WHEN 1 THEN FROM_UNIXTIME(v.tf) WHEN 2 THEN NULL "
                 "ELSE r.failed_at END, "
                 "r.last_error_code = CASE v.em WHEN 1 THEN v.code WHEN 2 THEN NULL "
                 "ELSE r.last_error_code END, "
                 "r.last_error_text = CASE v.em WHEN 1 THEN v.et WHEN 2 THEN NULL "
                 "ELSE r.last_error_text END, "
                 /* a time only while pending, or a failure's "not before" (sql/091) */
                 "r.next_attempt_at = IF(v.ra > 0, FROM_UNIXTIME(v.ra), "
                 "IF(v.st <> 'pending', DEFAULT(r.next_attempt_at), r.next_attempt_at))",
                 rows);
        rc = db_exec(b->db, sql, args, a, NULL);
    }
    free(ix);
    free(args);
    free(rows);
    free(sql);
    return rc;
}

/* The auto-pause (lib/campaign_health, the worker's rule too): this batch's failures go to
 * this connection's rows, and the campaigns that had some are judged on the shared window. */
static int health_pauses(struct batch *b)
{
    for (size_t i = 0; i < b->ncamps; i++) {
        struct camp *k = &b->camps[i];
        if (!k->failures)
            continue;
        struct campaign_health_sum d = {0, k->failures, k->param_failures};
        int rc = campaign_health_add(b->db, k->id, &d, k->fail_code);
        if (rc == DB_OK)
            rc = campaign_health_check(b->db, k->id, policy_param_pause, CACT_WEBHOOK, k->fail_text,
                                       NULL);
        if (rc != DB_OK)
            return rc;
        k->failures = k->param_failures = 0;
    }
    return DB_OK;
}

/* Marks pending statuses as ours to apply (another process may be applying them too). */
static int claim_pending(struct batch *b)
{
    for (size_t i = 0; i < b->nitems; i++) {
        struct st_item *it = &b->items[i];
        if (!it->pending || it->rec < 0)
            continue;
        struct db_res res;
        int rc =
            db_exec(b->db,
                    "UPDATE message_statuses SET applied_at = NOW(3), recipient_id = ? "
                    "WHERE wamid = ? AND status = ? AND applied_at IS NULL",
                    DB_ARGS(DB_INT(b->recs[it->rec].id), DB_STR(it->wamid), DB_STR(it->raw)), &res);
        if (rc != DB_OK)
            return rc;
        it->fresh = res.affected == 1;
    }
    return DB_OK;
}

/* recipient.status for a status of one of our messages, seen the first time (lib/hooks.h). */
static int status_event(struct batch *b, const struct st_item *it)
{
    const struct rec *c = &b->recs[it->rec];
    json_object *d = json_object_new_object();
    if (!d)
        return DB_ERR;
    json_object_object_add(d, "campaign_id", json_object_new_int64(c->campaign));
    json_object_object_add(d, "recipient_id", json_object_new_int64(c->id));
    json_object_object_add(d, "phone", json_object_new_string(c->phone));
    json_object_object_add(d, "wamid", json_object_new_string(it->wamid));
    json_object_object_add(d, "status", json_object_new_string(msg_status_name(it->next)));
    json_object_object_add(d, "at", json_object_new_int64(it->t));
    if (it->next == MSG_FAILED && it->code)
        json_object_object_add(d, "error_code", json_object_new_int(it->code));
    if (it->has_pricing) {
        /* what Meta charges for it, as the status said (a CRM books the cost per contact) */
        json_object *p = json_object_new_object();
        if (p) {
            if (it->p_model)
                json_object_object_add(p, "pricing_model", json_object_new_string(it->p_model));
            if (it->p_category)
                json_object_object_add(p, "category", json_object_new_string(it->p_category));
            if (it->p_type)
                json_object_object_add(p, "type", json_object_new_string(it->p_type));
            if (it->billable >= 0)
                json_object_object_add(p, "billable", json_object_new_boolean(it->billable));
            if (it->conv_id)
                json_object_object_add(p, "conversation_id", json_object_new_string(it->conv_id));
            if (it->conv_origin)
                json_object_object_add(p, "conversation_origin",
                                       json_object_new_string(it->conv_origin));
            json_object_object_add(d, "pricing", p);
        }
    }
    return wh_hook_add(b, "recipient.status", c->campaign, d);
}

int wh_apply_statuses(struct batch *b)
{
    if (b->nitems == 0)
        return DB_OK;
    int rc = lock_recipients(b);
    if (rc == DB_OK)
        rc = dedupe_statuses(b);
    if (rc == DB_OK)
        rc = claim_pending(b);
    for (size_t i = 0; i < b->nitems && rc == DB_OK; i++) {
        if (!b->items[i].fresh || b->items[i].rec < 0)
            continue;
        rc = apply_item(b, &b->items[i]);
        /* every status Meta reports for our message, once (message_statuses), also one that
         * moves nothing (the worker recorded `sent` at acceptance) */
        if (rc == DB_OK)
            rc = status_event(b, &b->items[i]);
    }
    if (rc == DB_OK)
        rc = update_recs(b);
    if (rc == DB_OK)
        rc = wh_apply_pricing(b);
    if (rc == DB_OK)
        rc = health_pauses(b);
    return rc;
}
