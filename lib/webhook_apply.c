#include "webhook_apply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "cloudapi.h"
#include "counters.h"
#include "db.h"
#include "jsonparse.h"
#include "log.h"
#include "identity.h"
#include "msgstatus.h"
#include "optout.h"
#include "campaign_health.h"
#include "campaign_state.h"
#include "pace.h"
#include "person.h"

#define CHUNK        64 /* rows per multi-row statement */
#define SWEEP_EVENTS 64 /* stored events per sweep transaction */
#define MAX_ATTEMPTS 5  /* failed applies before only an explicit sweep retries */
#define RETRY_24H_S  86400

/* The worker's parameter-error threshold (webhook_apply_set_policy). */
static int policy_param_pause = 3;

void webhook_apply_set_policy(int param_pause)
{
    policy_param_pause = param_pause;
}

int webhook_callback_format(char *out, size_t outlen, long long campaign_id, long long recipient_id)
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

/* ---- JSON helpers ---------------------------------------------------------------------- */

static const char *jstr(json_object *o, const char *k)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static json_object *jget(json_object *o, const char *k, json_type t)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, t))
        return NULL;
    return v;
}

/* A member that may be a string or a number ("timestamp": "1750030073" or 1731705721;
 * message_template_id as a number), as text in buf. NULL when absent or another type. */
static const char *jscalar(json_object *o, const char *k, char *buf, size_t len)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, k, &v))
        return NULL;
    if (json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    if (json_object_is_type(v, json_type_int)) {
        snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
        return buf;
    }
    return NULL;
}

/* Unix seconds of an event; now when absent or nonsense. */
static long long event_time(json_object *o)
{
    char buf[32];
    const char *s = jscalar(o, "timestamp", buf, sizeof buf);
    long long t = 0;
    if (s) {
        char *end;
        t = strtoll(s, &end, 10);
        if (*end != '\0')
            t = 0;
    }
    /* 2001..2100: anything else is not a real event time */
    if (t < 1000000000LL || t > 4102444800LL)
        t = (long long)time(NULL);
    return t;
}

/* Copies s into out cut to fit (on a UTF-8 boundary). */
static const char *cut(const char *s, char *out, size_t outlen)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    if (n >= outlen) {
        n = outlen - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/* ---- small caches (per thread: each thread that applies has its own) ------------------ */

/* Campaign -> account: never changes, looked up to check a status belongs to the account
 * whose app signed it. */
static _Thread_local struct {
    long long campaign, account;
} camp_cache[512];

static int campaign_account(struct db *db, long long cid, long long *account)
{
    size_t slot = (size_t)(cid % 512);
    if (camp_cache[slot].campaign == cid) {
        *account = camp_cache[slot].account;
        return DB_OK;
    }
    struct db_rows r;
    int rc =
        db_query(db, "SELECT account_id FROM campaigns WHERE id = ?", DB_ARGS(DB_INT(cid)), &r);
    if (rc != DB_OK)
        return rc;
    *account = r.nrows ? db_int(&r, 0, 0, 0) : 0;
    db_rows_free(&r);
    if (*account) {
        camp_cache[slot].campaign = cid;
        camp_cache[slot].account = *account;
    }
    return DB_OK;
}

/* ---- one batch of payloads -------------------------------------------------------------- */

struct st_item {
    const char *wamid, *raw, *cb, *etext;
    enum msg_status next;
    long long t, account, event_id;
    int code;
    int fresh;   /* first time we see this (wamid, status) */
    int pending; /* came from message_statuses, waiting for its wamid */
    long rec;    /* index into recs, -1 none */
};

struct rec {
    long long id, campaign, account;
    enum msg_status st;
    char phone[17];
    char wamid[161];
    int has_wamid;
    long long t_sent, t_deliv, t_read, t_failed, retry_at;
    int err_mode; /* 0 keep, 1 set, 2 clear */
    int code;
    char etext[1024];
    int touched;
    int was_sent; /* sent_at was set when loaded: an earlier attempt is counted as sent */
};

struct camp {
    long long id;
    struct msg_delta d;
    int replies;
    /* `failed` statuses for the auto-pause (lib/campaign_health): how many, of which
     * parameter errors (100, 132000, 132012), the latest code and its details */
    int failures, param_failures, fail_code;
    char fail_text[512];
};

struct batch {
    struct db *db;
    struct webhook_stats *st;
    struct st_item *items;
    size_t nitems, capitems;
    struct rec *recs;
    size_t nrecs, caprecs;
    struct camp *camps;
    size_t ncamps, capcamps;
    struct person_rules rules; /* opt-out keywords and phrases, read once per batch */
    int rules_loaded;
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(*p, ncap * size);
    if (!np)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

static void batch_free(struct batch *b)
{
    free(b->items);
    free(b->recs);
    free(b->camps);
    person_rules_free(&b->rules);
    memset(b, 0, sizeof *b);
}

static struct camp *camp_get(struct batch *b, long long cid)
{
    for (size_t i = 0; i < b->ncamps; i++)
        if (b->camps[i].id == cid)
            return &b->camps[i];
    if (grow((void **)&b->camps, &b->capcamps, b->ncamps + 1, sizeof *b->camps) < 0)
        return NULL;
    struct camp *c = &b->camps[b->ncamps++];
    memset(c, 0, sizeof *c);
    c->id = cid;
    return c;
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

static int cmp_camp(const void *a, const void *b)
{
    long long x = ((const struct camp *)a)->id, y = ((const struct camp *)b)->id;
    return x < y ? -1 : x > y;
}

/* Counter changes last, in campaign order: the campaign row is the hot one, held briefly. */
static int flush_camps(struct batch *b)
{
    if (b->ncamps > 1)
        qsort(b->camps, b->ncamps, sizeof *b->camps, cmp_camp);
    for (size_t i = 0; i < b->ncamps; i++) {
        struct camp *c = &b->camps[i];
        int rc = counters_apply(b->db, c->id, &c->d);
        if (rc == DB_OK && c->replies)
            rc = db_exec(b->db,
                         "UPDATE campaigns SET replies_count = replies_count + ? WHERE id = ?",
                         DB_ARGS(DB_INT(c->replies), DB_INT(c->id)), NULL);
        if (rc != DB_OK)
            return rc;
    }
    b->ncamps = 0;
    return DB_OK;
}

/* "?,?,?" (n times `one`, comma separated) into buf. */
static void repeat_sql(char *buf, size_t len, const char *one, size_t n)
{
    size_t o = 0, l = strlen(one);
    buf[0] = '\0';
    for (size_t i = 0; i < n && o + l + 2 < len; i++) {
        if (i)
            buf[o++] = ',';
        memcpy(buf + o, one, l);
        o += l;
        buf[o] = '\0';
    }
}

/* Statement sizes are rounded up to a power of two (the last row repeated), so a handful of
 * prepared statements serve every batch. */
static size_t bucket(size_t n)
{
    size_t b = 1;
    while (b < n)
        b *= 2;
    return b;
}

/* ---- the opt-out list --------------------------------------------------------------------- */

/* What WhatsApp (the person, or Meta for them) does to the list: lib/person.h's rules. */
static const struct person_actor webhook_actor = {"webhook", NULL, 0};

static int optout_add(struct batch *b, const char *phone, const char *source, const char *detail,
                      long long campaign)
{
    enum person_change ch;
    int rc = person_block(b->db, phone, source, detail, campaign, &webhook_actor, &ch);
    if (rc == DB_OK && ch == PERSON_CHANGED)
        b->st->optouts++;
    return rc;
}

static int optout_lift(struct batch *b, const char *phone, const char *source, const char *detail)
{
    enum person_change ch;
    int rc = person_lift(b->db, phone, source, detail, &webhook_actor, &ch);
    if (rc == DB_OK && ch == PERSON_CHANGED)
        b->st->lifts++;
    return rc;
}

/* ---- pausing: lib/campaign_state --------------------------------------------------------- */

static int campaigns_event(struct batch *b, enum campaign_scope_kind kind, long long id,
                           enum campaign_event ev, const char *reason)
{
    struct campaign_scope sc = {.kind = kind, .id = id};
    struct campaign_change ch = {.reason = reason};
    unsigned long long n = 0;
    int rc = campaign_state_apply(b->db, &sc, ev, CACT_WEBHOOK, &ch, &n);
    if (rc == DB_OK && n)
        log_warn("%llu campaign(s) of %s %lld: %s (%s)", n,
                 kind == CSCOPE_ACCOUNT ? "account" : "id", id, campaign_event_name(ev),
                 reason ? reason : "");
    return rc;
}

/* ---- routing -------------------------------------------------------------------------------- */

static int src_verified(const struct webhook_src *src, long long id)
{
    if (src->nverified == 0)
        return 1;
    for (size_t i = 0; i < src->nverified; i++)
        if (src->verified[i] == id)
            return 1;
    return 0;
}

/* The account a messages change is for: its phone number id, else the WABA (entry.id) when
 * that WABA has one number only. 0 when none of ours (or not signed by its app). */
static long long route_messages(const struct webhook_src *src, const char *waba,
                                const char *phone_id)
{
    const struct account_list *l = src->accounts;
    long long found = 0;
    int n_waba = 0;
    for (size_t i = 0; l && i < l->n; i++) {
        const struct account *a = &l->v[i];
        if (phone_id && strcmp(a->phone_number_id, phone_id) == 0) {
            found = a->id;
            n_waba = 1;
            break;
        }
        if (!phone_id && waba && strcmp(a->waba_id, waba) == 0) {
            found = a->id;
            n_waba++;
        }
    }
    if (!found || n_waba != 1 || !src_verified(src, found))
        return 0;
    return found;
}

/* ---- statuses -------------------------------------------------------------------------------- */

static int collect_status(struct batch *b, json_object *s, long long account, long long event_id)
{
    b->st->statuses++;
    const char *wamid = jstr(s, "id"), *raw = jstr(s, "status");
    enum msg_status next = msg_status_parse(raw);
    if (!wamid || !*wamid || strlen(wamid) > 160 ||
        (next != MSG_SENT && next != MSG_DELIVERED && next != MSG_READ && next != MSG_FAILED)) {
        b->st->ignored++;
        return DB_OK;
    }
    if (grow((void **)&b->items, &b->capitems, b->nitems + 1, sizeof *b->items) < 0)
        return DB_ERR;
    struct st_item *it = &b->items[b->nitems++];
    memset(it, 0, sizeof *it);
    it->wamid = wamid;
    it->raw = raw;
    it->next = next;
    it->t = event_time(s);
    it->cb = jstr(s, "biz_opaque_callback_data");
    it->account = account;
    it->event_id = event_id;
    it->rec = -1;
    json_object *errs = jget(s, "errors", json_type_array);
    if (next == MSG_FAILED && errs && json_object_array_length(errs) > 0) {
        json_object *e = json_object_array_get_idx(errs, 0), *c;
        if (json_object_object_get_ex(e, "code", &c))
            it->code = json_object_get_int(c);
        it->etext = jstr(jget(e, "error_data", json_type_object), "details");
        if (!it->etext)
            it->etext = jstr(e, "message");
        if (!it->etext)
            it->etext = jstr(e, "title");
    }
    return DB_OK;
}

static long find_rec_by_wamid(struct batch *b, const char *wamid)
{
    for (size_t i = 0; i < b->nrecs; i++)
        if (b->recs[i].has_wamid && strcmp(b->recs[i].wamid, wamid) == 0)
            return (long)i;
    return -1;
}

static long find_rec_by_id(struct batch *b, long long id)
{
    for (size_t i = 0; i < b->nrecs; i++)
        if (b->recs[i].id == id)
            return (long)i;
    return -1;
}

/* Adds the rows (id, campaign_id, status, wamid, phone, sent_at IS NOT NULL) as recipients
 * of the batch. */
static int add_recs(struct batch *b, struct db_rows *r)
{
    for (size_t i = 0; i < r->nrows; i++) {
        long long id = db_int(r, i, 0, 0);
        if (find_rec_by_id(b, id) >= 0)
            continue;
        if (grow((void **)&b->recs, &b->caprecs, b->nrecs + 1, sizeof *b->recs) < 0)
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
        int rc = campaign_account(b->db, c->campaign, &c->account);
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
    char ph[CHUNK * 2 + 8], sql[CHUNK * 2 + 256];
    for (size_t off = 0; off < b->nitems && rc == DB_OK; off += CHUNK) {
        size_t k = b->nitems - off < CHUNK ? b->nitems - off : CHUNK, kb = bucket(k);
        db_arg args[CHUNK];
        for (size_t i = 0; i < kb; i++)
            args[i] = DB_STR(b->items[off + (i < k ? i : k - 1)].wamid);
        repeat_sql(ph, sizeof ph, "?", kb);
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
    for (size_t off = 0; off < m && rc == DB_OK; off += CHUNK) {
        size_t k = m - off < CHUNK ? m - off : CHUNK, kb = bucket(k);
        db_arg args[CHUNK];
        for (size_t i = 0; i < kb; i++)
            args[i] = DB_INT(ids[off + (i < k ? i : k - 1)]);
        repeat_sql(ph, sizeof ph, "?", kb);
        snprintf(sql, sizeof sql,
                 "SELECT id, campaign_id, status, wamid, phone, sent_at IS NOT NULL FROM "
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
    for (size_t i = 0; i < b->nitems; i++)
        w[n++] = b->items[i].wamid;
    qsort(w, n, sizeof *w, cmp_str);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || strcmp(w[m - 1], w[i]) != 0)
            w[m++] = w[i];
    int rc = DB_OK;
    char ph[CHUNK * 2 + 8], sql[CHUNK * 2 + 256];
    for (size_t off = 0; off < m && rc == DB_OK; off += CHUNK) {
        size_t k = m - off < CHUNK ? m - off : CHUNK, kb = bucket(k);
        db_arg args[CHUNK];
        for (size_t i = 0; i < kb; i++)
            args[i] = DB_STR(w[off + (i < k ? i : k - 1)]);
        repeat_sql(ph, sizeof ph, "?", kb);
        snprintf(
            sql, sizeof sql,
            "SELECT id, campaign_id, status, wamid, phone, sent_at IS NOT NULL FROM recipients "
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
        rc = db_query(
            b->db,
            "SELECT id, campaign_id, status, wamid, phone, sent_at IS NOT NULL FROM recipients "
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
    enum { PER = 10 };
    char rows[CHUNK * 64], sql[CHUNK * 64 + 512];
    char(*etext)[1024] = malloc(CHUNK * sizeof *etext);
    char(*cb)[512] = malloc(CHUNK * sizeof *cb);
    db_arg *args = malloc(CHUNK * PER * sizeof *args);
    if (!etext || !cb || !args)
        rc = DB_ERR;
    for (size_t off = 0; off < n && rc == DB_OK; off += CHUNK) {
        size_t k = n - off < CHUNK ? n - off : CHUNK, kb = bucket(k), a = 0;
        for (size_t i = 0; i < kb; i++) {
            size_t j = i < k ? i : k - 1;
            struct st_item *it = &b->items[ix[off + j]];
            if (i == j) {
                cut(it->etext, etext[j], sizeof etext[j]);
                cut(it->cb, cb[j], sizeof cb[j]);
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
        }
        repeat_sql(rows, sizeof rows, "(?,?,FROM_UNIXTIME(?),?,?,?,?,?,?,IF(? > 0, NOW(3), NULL))",
                   kb);
        snprintf(sql, sizeof sql,
                 "INSERT IGNORE INTO message_statuses (wamid, status, event_at, account_id, "
                 "recipient_id, callback, error_code, error_text, event_id, applied_at) "
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
        struct camp *k = camp_get(b, c->campaign);
        if (!k)
            return DB_ERR;
        k->failures++;
        k->param_failures += hk == HEALTH_PARAM;
        k->fail_code = it->code;
        cut(it->etext ? it->etext : (it->code ? cloudapi_explain(it->code, "es") : ""),
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
        return c->phone[0] ? optout_add(b, c->phone, "error_131050", it->etext, c->campaign)
                           : DB_OK;
    case CLOUDAPI_ACT_RETRY_24H:
        /* Meta's per-user marketing cap: not before 24 h, when it may be sent again. */
        c->retry_at = it->t + RETRY_24H_S;
        return DB_OK;
    case CLOUDAPI_ACT_PAUSE_CAMPAIGN:
    case CLOUDAPI_ACT_STOP_CAMPAIGN:
        return campaigns_event(b, CSCOPE_ONE, c->campaign, CEV_PAUSE_ERROR, reason);
    case CLOUDAPI_ACT_PAUSE_NUMBER:
    case CLOUDAPI_ACT_STOP_ACCOUNT:
    case CLOUDAPI_ACT_STOP_NUMBER:
        return c->account
                   ? campaigns_event(b, CSCOPE_ACCOUNT, c->account,
                                     (enum campaign_event)campaign_error_event(it->code, a), reason)
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
    struct camp *k = camp_get(b, c->campaign);
    if (!k)
        return DB_ERR;
    delta_add(&k->d, &d);
    b->st->applied++;
    c->st = it->next;
    if (it->next == MSG_FAILED) {
        c->t_failed = it->t;
        c->err_mode = 1;
        c->code = it->code;
        cut(it->etext ? it->etext : "", c->etext, sizeof c->etext);
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

/* Writes the touched recipients, CHUNK rows per statement: each row's new values are a row
 * of a derived table joined on the id (the times keep the earliest event, as one by one). */
static int update_recs(struct batch *b)
{
    enum { PER = 11 };
    size_t n = 0;
    size_t *ix = malloc((b->nrecs + 1) * sizeof *ix);
    db_arg *args = malloc(CHUNK * PER * sizeof *args);
    static const char more[] = " UNION ALL SELECT ?,?,?,?,?,?,?,?,?,?,?";
    size_t rows_len = CHUNK * sizeof more + 1, sql_len = rows_len + 1536;
    char *rows = malloc(rows_len), *sql = malloc(sql_len);
    int rc = ix && args && rows && sql ? DB_OK : DB_ERR;
    for (size_t i = 0; rc == DB_OK && i < b->nrecs; i++)
        if (b->recs[i].touched)
            ix[n++] = i;
    for (size_t off = 0; off < n && rc == DB_OK; off += CHUNK) {
        size_t k = n - off < CHUNK ? n - off : CHUNK, kb = bucket(k), a = 0;
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

static int apply_statuses(struct batch *b)
{
    if (b->nitems == 0)
        return DB_OK;
    int rc = lock_recipients(b);
    if (rc == DB_OK)
        rc = dedupe_statuses(b);
    if (rc == DB_OK)
        rc = claim_pending(b);
    for (size_t i = 0; i < b->nitems && rc == DB_OK; i++)
        if (b->items[i].fresh && b->items[i].rec >= 0)
            rc = apply_item(b, &b->items[i]);
    if (rc == DB_OK)
        rc = update_recs(b);
    if (rc == DB_OK)
        rc = health_pauses(b);
    return rc;
}

/* ---- inbound messages -------------------------------------------------------------------- */

/* A "user_changed_number" system message: the person now has the number in system.wa_id.
 * Their opt-out follows them to it (and their user id, when they have one). */
static int number_changed(struct batch *b, json_object *m, const char *old_phone, long long account)
{
    json_object *sys = jget(m, "system", json_type_object);
    const char *st = jstr(sys, "type"), *wa = jstr(sys, "wa_id");
    const char *uid = jstr(m, "from_user_id");
    char phone[E164_MAX + 1], detail[64];
    int blocked;
    if (!st || strcmp(st, "user_changed_number") != 0 || !wa ||
        identity_from_wa(wa, phone) != E164_OK || strcmp(phone, old_phone) == 0)
        return DB_OK;
    int rc = DB_OK;
    if (identity_user_id_ok(uid))
        rc = person_link_user(b->db, uid, phone, account, &webhook_actor);
    if (rc == DB_OK)
        rc = person_is_blocked(b->db, old_phone, &blocked);
    if (rc != DB_OK || !blocked)
        return rc;
    snprintf(detail, sizeof detail, "number changed from %s", old_phone);
    return optout_add(b, phone, "number_change", detail, 0);
}

/* What an inbound text or button asks for under the batch's keyword rules; *matched is the
 * text that decided (the payload before the text). A stop anywhere wins over a resume. */
static enum optout_action inbound_action(struct batch *b, const char *payload, const char *text,
                                         const char **matched)
{
    *matched = NULL;
    if (!text && !payload)
        return OPTOUT_NONE;
    if (!b->rules_loaded) {
        person_rules_load(b->db, &b->rules); /* the defaults when unreadable (logged) */
        b->rules_loaded = 1;
    }
    enum optout_action ap = optout_classify(payload, b->rules.v, b->rules.n, NULL);
    enum optout_action at = optout_classify(text, b->rules.v, b->rules.n, NULL);
    enum optout_action a = ap == OPTOUT_STOP || at == OPTOUT_STOP       ? OPTOUT_STOP
                           : ap == OPTOUT_RESUME || at == OPTOUT_RESUME ? OPTOUT_RESUME
                                                                        : OPTOUT_NONE;
    if (a != OPTOUT_NONE)
        *matched = ap == a ? payload : text;
    return a;
}

/* The person behind a payload that names a business-scoped user id: the phone when it came
 * too (then remembered), else the one the user id is known by. */
static int inbound_person(struct batch *b, const char *uid, const char *phone_in, long long account,
                          char phone[E164_MAX + 1])
{
    int found = 0;
    if (!uid)
        return DB_OK;
    if (phone_in[0])
        return person_link_user(b->db, uid, phone_in, account, &webhook_actor);
    int rc = person_phone_of_user(b->db, uid, phone, &found);
    if (rc == DB_OK && !found)
        phone[0] = '\0';
    return rc;
}

static int apply_message(struct batch *b, json_object *m, long long account, long long event_id)
{
    const char *id = jstr(m, "id"), *type = jstr(m, "type"), *from = jstr(m, "from");
    const char *uid = jstr(m, "from_user_id");
    char phone[E164_MAX + 1] = "";
    if (uid && !identity_user_id_ok(uid))
        uid = NULL;
    /* the canonical person (lib/identity.h): 5215512345678 is the import's +525512345678 */
    if (from && identity_from_wa(from, phone) != E164_OK)
        phone[0] = '\0';
    if (!id || !*id || strlen(id) > 160 || !type || (!phone[0] && !uid)) {
        b->st->other++;
        return DB_OK;
    }
    const char *text = NULL, *payload = NULL, *source = "keyword";
    if (strcmp(type, "text") == 0) {
        text = jstr(jget(m, "text", json_type_object), "body");
    } else if (strcmp(type, "button") == 0) {
        json_object *btn = jget(m, "button", json_type_object);
        payload = jstr(btn, "payload");
        text = jstr(btn, "text");
        source = "button";
    } else if (strcmp(type, "interactive") == 0) {
        json_object *in = jget(m, "interactive", json_type_object);
        json_object *rep = jget(in, "button_reply", json_type_object);
        if (!rep)
            rep = jget(in, "list_reply", json_type_object);
        payload = jstr(rep, "id");
        text = jstr(rep, "title");
        source = "button";
    }
    const char *matched;
    enum optout_action action = inbound_action(b, payload, text, &matched);
    const char *ctx = jstr(jget(m, "context", json_type_object), "id");
    if (ctx && strlen(ctx) > 160)
        ctx = NULL;
    long long rid = 0, cid = 0;
    char rphone[E164_MAX + 1] = "";
    int rc = inbound_person(b, uid, phone, account, phone);
    if (rc != DB_OK)
        return rc;
    if (ctx) {
        struct db_rows r;
        rc = db_query(b->db, "SELECT id, campaign_id, phone FROM recipients WHERE wamid = ?",
                      DB_ARGS(DB_STR(ctx)), &r);
        if (rc != DB_OK)
            return rc;
        if (r.nrows) {
            rid = db_int(&r, 0, 0, 0);
            cid = db_int(&r, 0, 1, 0);
            snprintf(rphone, sizeof rphone, "%s", db_val(&r, 0, 2) ? db_val(&r, 0, 2) : "");
        }
        db_rows_free(&r);
        long long acc = 0;
        if (cid && (rc = campaign_account(b->db, cid, &acc)) != DB_OK)
            return rc;
        if (cid && account && acc != account)
            rid = cid = 0; /* an answer to another account's message */
    }
    if (!phone[0] && uid && rid && rphone[0]) {
        /* only a user id: the person is the one the answered message went to */
        memcpy(phone, rphone, sizeof phone);
        if ((rc = person_link_user(b->db, uid, phone, account, &webhook_actor)) != DB_OK)
            return rc;
    }
    char body[4096], pl[1024];
    long long t = event_time(m);
    struct db_res res;
    rc = db_exec(
        b->db,
        "INSERT IGNORE INTO inbound_messages (wamid, account_id, phone, user_id, type, "
        "body, payload, context_wamid, campaign_id, recipient_id, opt_out, sent_at, "
        "event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?), ?)",
        DB_ARGS(DB_STR(id), account ? DB_INT(account) : DB_NULL, DB_STR(phone[0] ? phone : NULL),
                DB_STR(uid), DB_STRN(type, strlen(type) > 32 ? 32 : strlen(type)),
                DB_STR(cut(text, body, sizeof body)), DB_STR(cut(payload, pl, sizeof pl)),
                DB_STR(ctx), cid ? DB_INT(cid) : DB_NULL, rid ? DB_INT(rid) : DB_NULL,
                DB_INT(action == OPTOUT_STOP), DB_INT(t), event_id ? DB_INT(event_id) : DB_NULL),
        &res);
    if (rc != DB_OK || res.affected == 0)
        return rc; /* a message seen before changes nothing */
    b->st->messages++;
    if (rid) {
        b->st->replies++;
        rc = db_exec(b->db,
                     "UPDATE recipients SET replied_at = LEAST(COALESCE(replied_at, "
                     "FROM_UNIXTIME(?)), FROM_UNIXTIME(?)) WHERE id = ?",
                     DB_ARGS(DB_INT(t), DB_INT(t), DB_INT(rid)), NULL);
        if (rc != DB_OK)
            return rc;
        struct camp *k = camp_get(b, cid);
        if (!k)
            return DB_ERR;
        k->replies++;
    }
    if (action == OPTOUT_STOP && phone[0])
        return optout_add(b, phone, source, matched, cid);
    if (action == OPTOUT_STOP) {
        /* only a user id nobody knows yet: blocks the phone it is linked to later */
        enum person_change ch;
        rc = person_block_user(b->db, uid, source, matched, cid, &webhook_actor, &ch);
        if (rc == DB_OK && ch == PERSON_CHANGED)
            b->st->optouts++;
        return rc;
    }
    if (action == OPTOUT_RESUME && phone[0])
        return optout_lift(b, phone, source, matched);
    if (strcmp(type, "system") == 0 && phone[0])
        return number_changed(b, m, phone, account);
    return DB_OK;
}

/* Links the business-scoped user ids a messages change carries to the person's phone:
 * contacts[] (wa_id and user_id) and statuses (recipient_id, or the recipient of the wamid,
 * with recipient_user_id). */
static int apply_user_ids(struct batch *b, json_object *v, long long account)
{
    json_object *contacts = jget(v, "contacts", json_type_array);
    char phone[E164_MAX + 1];
    int rc = DB_OK;
    for (size_t i = 0; contacts && i < json_object_array_length(contacts) && rc == DB_OK; i++) {
        json_object *c = json_object_array_get_idx(contacts, i);
        const char *uid = jstr(c, "user_id"), *wa = jstr(c, "wa_id");
        if (identity_user_id_ok(uid) && wa && identity_from_wa(wa, phone) == E164_OK)
            rc = person_link_user(b->db, uid, phone, account, &webhook_actor);
    }
    json_object *sts = jget(v, "statuses", json_type_array);
    for (size_t i = 0; sts && i < json_object_array_length(sts) && rc == DB_OK; i++) {
        json_object *s = json_object_array_get_idx(sts, i);
        const char *uid = jstr(s, "recipient_user_id"), *to = jstr(s, "recipient_id");
        const char *wamid = jstr(s, "id");
        if (!identity_user_id_ok(uid))
            continue;
        if (to && identity_from_wa(to, phone) == E164_OK) {
            rc = person_link_user(b->db, uid, phone, account, &webhook_actor);
        } else if (wamid && strlen(wamid) <= 160) {
            struct db_rows r;
            rc = db_query(b->db, "SELECT phone FROM recipients WHERE wamid = ?",
                          DB_ARGS(DB_STR(wamid)), &r);
            if (rc != DB_OK)
                break;
            phone[0] = '\0';
            if (r.nrows && db_val(&r, 0, 0) && strlen(db_val(&r, 0, 0)) <= E164_MAX)
                snprintf(phone, sizeof phone, "%s", db_val(&r, 0, 0));
            db_rows_free(&r);
            if (phone[0])
                rc = person_link_user(b->db, uid, phone, account, &webhook_actor);
        }
    }
    return rc;
}

/* ---- user preferences ------------------------------------------------------------------------ */

static int apply_preference(struct batch *b, json_object *p, long long account)
{
    const char *value = jstr(p, "value"), *category = jstr(p, "category");
    const char *detail = jstr(p, "detail");
    const char *wa = jstr(p, "wa_id"), *uid = jstr(p, "user_id");
    char phone[E164_MAX + 1] = "", d[512];
    if (uid && !identity_user_id_ok(uid))
        uid = NULL;
    if (wa && identity_from_wa(wa, phone) != E164_OK)
        phone[0] = '\0';
    if (!value || (strcmp(value, "stop") != 0 && strcmp(value, "resume") != 0) ||
        (!phone[0] && !uid)) {
        b->st->other++;
        return DB_OK;
    }
    int rc = inbound_person(b, uid, phone, account, phone);
    if (rc != DB_OK)
        return rc;
    if (!phone[0]) {
        /* only a user id nobody knows yet: a stop waits for the phone, a resume has nothing
         * to lift */
        enum person_change ch = PERSON_UNCHANGED;
        if (strcmp(value, "stop") == 0)
            rc = person_block_user(b->db, uid, "user_preferences", detail, 0, &webhook_actor, &ch);
        if (rc == DB_OK && ch == PERSON_CHANGED)
            b->st->optouts++;
        return rc;
    }
    if (!category || strlen(category) > 64)
        category = "marketing_messages";
    long long t = event_time(p);
    struct db_rows r;
    rc = db_query(b->db,
                  "SELECT value, UNIX_TIMESTAMP(event_at) FROM user_preferences "
                  "WHERE phone = ? AND category = ? FOR UPDATE",
                  DB_ARGS(DB_STR(phone), DB_STR(category)), &r);
    if (rc != DB_OK)
        return rc;
    int stale = 0;
    if (r.nrows) {
        long long have = db_int(&r, 0, 1, 0);
        /* Older than what we have, or the same event again: nothing to do. */
        stale = have > t || (have == t && db_val(&r, 0, 0) && strcmp(db_val(&r, 0, 0), value) == 0);
    }
    db_rows_free(&r);
    if (stale)
        return DB_OK;
    rc = db_exec(b->db,
                 "INSERT INTO user_preferences (phone, category, value, detail, event_at, "
                 "account_id) VALUES (?, ?, ?, ?, FROM_UNIXTIME(?), ?) ON DUPLICATE KEY UPDATE "
                 "value = VALUES(value), detail = VALUES(detail), event_at = VALUES(event_at), "
                 "account_id = VALUES(account_id)",
                 DB_ARGS(DB_STR(phone), DB_STR(category), DB_STR(value),
                         DB_STR(cut(detail, d, sizeof d)), DB_INT(t),
                         account ? DB_INT(account) : DB_NULL),
                 NULL);
    if (rc != DB_OK)
        return rc;
    if (strcmp(value, "stop") == 0)
        return optout_add(b, phone, "user_preferences", detail, 0);
    return optout_lift(b, phone, "user_preferences", detail);
}

/* ---- templates, quality, account ---------------------------------------------------------- */

static int apply_template(struct batch *b, json_object *v, long long account)
{
    char idbuf[32], why[512], name_buf[513], lang_buf[17];
    const char *event = jstr(v, "event");
    const char *meta_id = jscalar(v, "message_template_id", idbuf, sizeof idbuf);
    const char *name = jstr(v, "message_template_name");
    const char *lang = jstr(v, "message_template_language");
    if (!event || (!meta_id && !(name && lang))) {
        b->st->other++;
        return DB_OK;
    }
    int rc;
    if (!name || !lang) {
        struct db_rows r;
        rc = db_query(b->db,
                      "SELECT name, language FROM templates WHERE account_id = ? AND meta_id = ?",
                      DB_ARGS(DB_INT(account), DB_STR(meta_id)), &r);
        if (rc != DB_OK)
            return rc;
        if (r.nrows == 0) {
            db_rows_free(&r);
            b->st->other++;
            return DB_OK;
        }
        name = cut(db_val(&r, 0, 0), name_buf, sizeof name_buf);
        lang = cut(db_val(&r, 0, 1), lang_buf, sizeof lang_buf);
        db_rows_free(&r);
    }
    json_object *info = jget(v, "other_info", json_type_object);
    const char *reason = jstr(v, "reason"), *title = jstr(info, "title");
    const char *desc = jstr(info, "description");
    snprintf(why, sizeof why, "%s%s%s%s%s", reason ? reason : "", title ? " " : "",
             title ? title : "", desc ? ": " : "", desc ? desc : "");
    char st[33];
    /* REINSTATED is an event, not a status: the template is usable again, as APPROVED. */
    cut(strcmp(event, "REINSTATED") == 0 ? "APPROVED" : event, st, sizeof st);
    rc = db_exec(b->db,
                 "INSERT INTO templates (account_id, meta_id, name, language, status, "
                 "status_reason) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
                 "status = VALUES(status), status_reason = VALUES(status_reason), "
                 "meta_id = IF(VALUES(meta_id) = '', meta_id, VALUES(meta_id))",
                 DB_ARGS(DB_INT(account), DB_STR(meta_id ? meta_id : ""),
                         DB_STRN(name, strlen(name) > 512 ? 512 : strlen(name)),
                         DB_STRN(lang, strlen(lang) > 16 ? 16 : strlen(lang)), DB_STR(st),
                         DB_STR(why[0] ? why : NULL)),
                 NULL);
    if (rc != DB_OK)
        return rc;
    char reason_text[1200];
    if (strcmp(event, "PAUSED") == 0 || strcmp(event, "DISABLED") == 0) {
        snprintf(reason_text, sizeof reason_text, "Meta %s the template %s (%s)%s%s",
                 strcmp(event, "PAUSED") == 0 ? "paused" : "disabled", name, lang,
                 why[0] ? ": " : "", why);
        struct campaign_scope sc = {.kind = CSCOPE_TEMPLATE,
                                    .id = account,
                                    .template_name = name,
                                    .template_language = lang};
        struct campaign_change ch = {.reason = reason_text};
        unsigned long long n = 0;
        rc = campaign_state_apply(b->db, &sc, CEV_TEMPLATE_PAUSED, CACT_WEBHOOK, &ch, &n);
        if (rc == DB_OK && n)
            log_warn("%llu campaigns paused: %s", n, reason_text);
        return rc;
    }
    if (strcmp(event, "REINSTATED") == 0 || strcmp(event, "APPROVED") == 0) {
        snprintf(reason_text, sizeof reason_text,
                 "Meta %s the template %s (%s): the campaign can be resumed",
                 strcmp(event, "APPROVED") == 0 ? "approved" : "reinstated", name, lang);
        struct campaign_scope sc = {.kind = CSCOPE_TEMPLATE,
                                    .id = account,
                                    .template_name = name,
                                    .template_language = lang};
        struct campaign_change ch = {.reason = reason_text};
        return campaign_state_apply(b->db, &sc, CEV_TEMPLATE_LIFTED, CACT_WEBHOOK, &ch, NULL);
    }
    return DB_OK;
}

static int same_digits(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    for (;;) {
        while (*a && (*a < '0' || *a > '9'))
            a++;
        while (*b && (*b < '0' || *b > '9'))
            b++;
        if (*a != *b)
            return 0;
        if (!*a)
            return 1;
        a++;
        b++;
    }
}

static int apply_quality(struct batch *b, json_object *v, const long long *acc, size_t nacc)
{
    const char *event = jstr(v, "event");
    const char *tier = jstr(v, "max_daily_conversations_per_business");
    if (!tier)
        tier = jstr(v, "current_limit");
    if (!event) {
        b->st->other++;
        return DB_OK;
    }
    const char *rating = jstr(v, "current_quality_rating");
    if (!rating)
        rating = jstr(v, "quality_rating");
    if (!rating && strcmp(event, "FLAGGED") == 0)
        rating = "RED";
    if (!rating && strcmp(event, "UNFLAGGED") == 0)
        rating = "GREEN";
    long long mps = strcmp(event, "THROUGHPUT_UPGRADE") == 0 ? 1000 : 0;
    char e[65], t[17], q[17];
    size_t matched = nacc;
    const long long *target = acc;
    for (size_t i = 0; i < matched; i++) {
        int rc = db_exec(b->db,
                         "UPDATE wa_accounts SET quality_event = ?, quality_updated_at = NOW(3), "
                         "messaging_tier = COALESCE(?, messaging_tier), "
                         "quality_rating = COALESCE(?, quality_rating), "
                         "throughput_mps = IF(? > 0, ?, throughput_mps) WHERE id = ?",
                         DB_ARGS(DB_STR(cut(event, e, sizeof e)), DB_STR(cut(tier, t, sizeof t)),
                                 DB_STR(cut(rating, q, sizeof q)), DB_INT(mps), DB_INT(mps),
                                 DB_INT(target[i])),
                         NULL);
        if (rc != DB_OK)
            return rc;
    }
    return DB_OK;
}

static int apply_account_update(struct batch *b, json_object *v, long long account)
{
    const char *event = jstr(v, "event");
    if (!event) {
        b->st->other++;
        return DB_OK;
    }
    json_object *details = json_object_new_object();
    if (!details)
        return DB_ERR;
    static const char *const keys[] = {"restriction_info", "ban_info", "violation_info"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_object *x;
        if (json_object_object_get_ex(v, keys[i], &x))
            json_object_object_add(details, keys[i], json_object_get(x));
    }
    char info[1024], e[65];
    cut(json_object_object_length(details)
            ? json_object_to_json_string_ext(details, JSON_C_TO_STRING_PLAIN)
            : NULL,
        info, sizeof info);
    int has_info = json_object_object_length(details) > 0;
    json_object_put(details);
    int rc = db_exec(b->db,
                     "UPDATE wa_accounts SET account_event = ?, account_updated_at = NOW(3), "
                     "restriction = IF(? IN ('ACCOUNT_RESTRICTION', 'ACCOUNT_VIOLATION', "
                     "'DISABLED_UPDATE', 'ACCOUNT_DELETED'), ?, restriction) WHERE id = ?",
                     DB_ARGS(DB_STR(cut(event, e, sizeof e)), DB_STR(e),
                             DB_STR(has_info ? info : e), DB_INT(account)),
                     NULL);
    if (rc != DB_OK)
        return rc;
    const char *ban = jstr(jget(v, "ban_info", json_type_object), "waba_ban_state");
    char reason[1200];
    snprintf(reason, sizeof reason, "Meta account_update %s%s%s", e, has_info ? ": " : "",
             has_info ? info : "");
    if (strcmp(event, "DISABLED_UPDATE") == 0 && ban && strcmp(ban, "REINSTATE") == 0)
        return campaigns_event(b, CSCOPE_ACCOUNT, account, CEV_ACCOUNT_LIFTED, NULL);
    if (strcmp(event, "ACCOUNT_RESTRICTION") == 0 || strcmp(event, "ACCOUNT_VIOLATION") == 0)
        return campaigns_event(b, CSCOPE_ACCOUNT, account, CEV_ACCOUNT_RESTRICTED, reason);
    if (strcmp(event, "DISABLED_UPDATE") == 0)
        return campaigns_event(b, CSCOPE_ACCOUNT, account, CEV_ACCOUNT_BANNED, reason);
    /* A deleted account never sends again: its campaigns cannot go on by themselves. */
    if (strcmp(event, "ACCOUNT_DELETED") == 0)
        return campaigns_event(b, CSCOPE_ACCOUNT, account, CEV_FAIL, reason);
    return DB_OK;
}

/* ---- walking payloads ------------------------------------------------------------------------ */

struct ev {
    json_object *payload;
    long long id;
    struct webhook_src src;
};

/* Accounts of a WABA (entry.id) that signed the payload; for phone_number_quality_update the
 * one whose display number it names when there are several. */
static size_t waba_accounts(const struct webhook_src *src, const char *waba, const char *display,
                            long long *out, size_t max)
{
    size_t n = 0;
    const struct account_list *l = src->accounts;
    for (size_t i = 0; waba && l && i < l->n && n < max; i++)
        if (strcmp(l->v[i].waba_id, waba) == 0 && src_verified(src, l->v[i].id))
            out[n++] = l->v[i].id;
    if (display && n > 1) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            const struct account *a = accounts_find(l, out[i]);
            if (a && same_digits(a->display_phone, display))
                out[m++] = out[i];
        }
        n = m;
    }
    return n;
}

/* Pass 1 (statuses = 1): collects every status. Pass 2: everything else, in order. */
static int walk(struct batch *b, const struct ev *e, int statuses)
{
    json_object *entries = jget(e->payload, "entry", json_type_array);
    if (!entries) {
        if (statuses)
            b->st->other++;
        return DB_OK;
    }
    for (size_t i = 0; i < json_object_array_length(entries); i++) {
        json_object *entry = json_object_array_get_idx(entries, i);
        char wbuf[40];
        const char *waba = jscalar(entry, "id", wbuf, sizeof wbuf);
        json_object *changes = jget(entry, "changes", json_type_array);
        for (size_t j = 0; changes && j < json_object_array_length(changes); j++) {
            json_object *ch = json_object_array_get_idx(changes, j);
            const char *field = jstr(ch, "field");
            json_object *v = jget(ch, "value", json_type_object);
            if (!field || !v) {
                if (statuses)
                    b->st->other++;
                continue;
            }
            int rc = DB_OK;
            if (strcmp(field, "messages") == 0) {
                const char *pid = jstr(jget(v, "metadata", json_type_object), "phone_number_id");
                long long acc = route_messages(&e->src, waba, pid);
                json_object *list = jget(v, statuses ? "statuses" : "messages", json_type_array);
                if (!statuses && acc && (rc = apply_user_ids(b, v, acc)) != DB_OK)
                    return rc;
                if (!list)
                    continue;
                if (!acc) {
                    b->st->unrouted++;
                    continue;
                }
                for (size_t k = 0; k < json_object_array_length(list) && rc == DB_OK; k++) {
                    json_object *x = json_object_array_get_idx(list, k);
                    rc = statuses ? collect_status(b, x, acc, e->id)
                                  : apply_message(b, x, acc, e->id);
                }
            } else if (statuses) {
                continue;
            } else if (strcmp(field, "user_preferences") == 0) {
                const char *pid = jstr(jget(v, "metadata", json_type_object), "phone_number_id");
                long long acc = route_messages(&e->src, waba, pid);
                json_object *list = jget(v, "user_preferences", json_type_array);
                if (!acc) {
                    b->st->unrouted++;
                    continue;
                }
                for (size_t k = 0; list && k < json_object_array_length(list) && rc == DB_OK; k++)
                    rc = apply_preference(b, json_object_array_get_idx(list, k), acc);
            } else if (strcmp(field, "message_template_status_update") == 0 ||
                       strcmp(field, "phone_number_quality_update") == 0 ||
                       strcmp(field, "account_update") == 0) {
                long long acc[64];
                int quality = field[0] == 'p';
                size_t n = waba_accounts(&e->src, waba,
                                         quality ? jstr(v, "display_phone_number") : NULL, acc, 64);
                if (n == 0) {
                    b->st->unrouted++;
                    continue;
                }
                if (quality)
                    rc = apply_quality(b, v, acc, n);
                for (size_t k = 0; !quality && k < n && rc == DB_OK; k++)
                    rc = field[0] == 'm' ? apply_template(b, v, acc[k])
                                         : apply_account_update(b, v, acc[k]);
            } else {
                b->st->other++; /* kept in webhook_events, nothing to do */
            }
            if (rc != DB_OK)
                return rc;
        }
    }
    return DB_OK;
}

/* Applies the events inside the caller's transaction. */
static int apply_events(struct db *db, const struct ev *evs, size_t n, struct webhook_stats *st)
{
    struct batch b;
    memset(&b, 0, sizeof b);
    b.db = db;
    b.st = st;
    int rc = DB_OK;
    for (size_t i = 0; i < n && rc == DB_OK; i++)
        rc = walk(&b, &evs[i], 1);
    if (rc == DB_OK)
        rc = apply_statuses(&b);
    for (size_t i = 0; i < n && rc == DB_OK; i++)
        rc = walk(&b, &evs[i], 0);
    if (rc == DB_OK)
        rc = flush_camps(&b);
    batch_free(&b);
    return rc;
}

int webhook_walk_statuses(json_object *payload, const struct webhook_src *src,
                          struct webhook_stats *st, size_t *collected)
{
    struct batch b;
    memset(&b, 0, sizeof b);
    b.st = st; /* no database: the first pass only reads the payload and src */
    struct ev e = {.payload = payload, .id = 0, .src = *src};
    int rc = walk(&b, &e, 1);
    *collected = b.nitems;
    batch_free(&b);
    return rc;
}

/* ---- storing and the sweep ------------------------------------------------------------------- */

static void verified_csv(const struct webhook_src *src, char *out, size_t len)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < src->nverified && o + 24 < len; i++)
        o += (size_t)snprintf(out + o, len - o, "%s%lld", i ? "," : "", src->verified[i]);
}

static size_t parse_csv(const char *s, long long *out, size_t max)
{
    size_t n = 0;
    while (s && *s && n < max) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s)
            break;
        if (v > 0)
            out[n++] = v;
        s = *end == ',' ? end + 1 : end;
        if (*end != ',')
            break;
    }
    return n;
}

int webhook_store(struct db *db, const struct webhook_src *src, const char *signature,
                  const char *body, size_t len, long long *event_id)
{
    char csv[256];
    struct db_res res;
    verified_csv(src, csv, sizeof csv);
    *event_id = 0;
    int rc =
        db_exec(db,
                "INSERT INTO webhook_events (signature, verified_accounts, body) "
                "VALUES (?, ?, ?)",
                DB_ARGS(DB_STR(signature), DB_STR(csv[0] ? csv : NULL), DB_STRN(body, len)), &res);
    if (rc == DB_OK)
        *event_id = (long long)res.insert_id;
    return rc;
}

int webhook_store_many(struct db *db, const struct webhook_stored *v, size_t n)
{
    static const char one[] = ",(?,?,?)";
    if (n == 0 || n > WEBHOOK_STORE_MAX)
        return DB_ERR;
    char sql[128 + WEBHOOK_STORE_MAX * sizeof one];
    char(*csv)[256] = malloc(n * sizeof *csv);
    db_arg *args = malloc(n * 3 * sizeof *args);
    int rc = DB_ERR;
    if (csv && args) {
        size_t o = (size_t)snprintf(sql, sizeof sql,
                                    "INSERT INTO webhook_events (signature, "
                                    "verified_accounts, body) VALUES (?,?,?)");
        for (size_t i = 0; i < n; i++) {
            if (i) {
                memcpy(sql + o, one, sizeof one);
                o += sizeof one - 1;
            }
            verified_csv(v[i].src, csv[i], sizeof csv[i]);
            args[3 * i] = DB_STR(v[i].signature);
            args[3 * i + 1] = DB_STR(csv[i][0] ? csv[i] : NULL);
            args[3 * i + 2] = DB_STRN(v[i].body, v[i].len);
        }
        /* One statement, one commit; RETURNING gives the ids in the rows' order. */
        snprintf(sql + o, sizeof sql - o, " RETURNING id");
        struct db_rows r;
        rc = db_query(db, sql, args, 3 * n, &r);
        for (size_t i = 0; i < n; i++)
            *v[i].event_id = rc == DB_OK && i < r.nrows ? db_int(&r, i, 0, 0) : 0;
        if (rc == DB_OK)
            db_rows_free(&r);
    }
    free(csv);
    free(args);
    return rc;
}

static int mark_failed(struct db *db, long long id, const char *msg, int give_up)
{
    char m[1024];
    return db_exec(db,
                   "UPDATE webhook_events SET apply_error = ?, "
                   "apply_attempts = IF(?, 999, apply_attempts + 1) WHERE id = ?",
                   DB_ARGS(DB_STR(cut(msg, m, sizeof m)), DB_INT(give_up), DB_INT(id)), NULL);
}

struct stored {
    struct ev *evs;
    size_t n;
    long long (*verified)[16]; /* per event: the accounts that signed it */
};

static void stored_free(struct stored *s)
{
    for (size_t i = 0; i < s->n; i++)
        json_object_put(s->evs[i].payload);
    free(s->evs);
    free(s->verified);
    s->evs = NULL;
    s->verified = NULL;
    s->n = 0;
}

/* Locks and parses up to max unapplied events (one id when only > 0). Bodies that are not
 * JSON are marked and left out. */
static int claim_events(struct db *db, const struct account_list *accounts, int older_than_s,
                        int include_failed, long long only, size_t max, struct stored *s)
{
    struct db_rows r;
    int rc;
    if (only)
        rc = db_query(db,
                      "SELECT id, body, verified_accounts FROM webhook_events "
                      "WHERE id = ? AND applied_at IS NULL FOR UPDATE SKIP LOCKED",
                      DB_ARGS(DB_INT(only)), &r);
    else
        rc = db_query(db,
                      "SELECT id, body, verified_accounts FROM webhook_events "
                      "WHERE applied_at IS NULL AND apply_attempts < ? "
                      "AND received_at <= NOW(3) - INTERVAL ? SECOND "
                      "ORDER BY applied_at, id LIMIT ? FOR UPDATE SKIP LOCKED",
                      DB_ARGS(DB_INT(include_failed ? 1000000 : MAX_ATTEMPTS), DB_INT(older_than_s),
                              DB_INT((long long)max)),
                      &r);
    if (rc != DB_OK)
        return rc;
    s->evs = calloc(r.nrows + 1, sizeof *s->evs);
    s->verified = calloc(r.nrows + 1, sizeof *s->verified);
    if (!s->evs || !s->verified) {
        db_rows_free(&r);
        return DB_ERR;
    }
    for (size_t i = 0; i < r.nrows && rc == DB_OK; i++) {
        long long id = db_int(&r, i, 0, 0);
        const char *body = db_val(&r, i, 1);
        size_t len = r.len[i * r.ncols + 1];
        json_object *o = body ? jsonparse_whole(body, len, 0, NULL, NULL) : NULL;
        int ok = o && json_object_is_type(o, json_type_object);
        if (!ok) {
            json_object_put(o);
            log_error("webhook event %lld is not a JSON object; left unapplied", id);
            rc = mark_failed(db, id, "the stored body is not a JSON object", 1);
            continue;
        }
        struct ev *e = &s->evs[s->n];
        e->payload = o;
        e->id = id;
        e->src.accounts = accounts;
        e->src.verified = s->verified[s->n];
        e->src.nverified = parse_csv(db_val(&r, i, 2), s->verified[s->n], 16);
        s->n++;
    }
    db_rows_free(&r);
    return rc;
}

static int mark_applied(struct db *db, const struct stored *s)
{
    if (s->n == 0)
        return DB_OK;
    size_t kb = bucket(s->n);
    char *ph = malloc(kb * 2 + 8), *sql = malloc(kb * 2 + 128);
    db_arg *args = malloc(kb * sizeof *args);
    int rc = DB_ERR;
    if (ph && sql && args) {
        for (size_t i = 0; i < kb; i++)
            args[i] = DB_INT(s->evs[i < s->n ? i : s->n - 1].id);
        repeat_sql(ph, kb * 2 + 8, "?", kb);
        snprintf(sql, kb * 2 + 128,
                 "UPDATE webhook_events SET applied_at = NOW(3), apply_error = NULL "
                 "WHERE id IN (%s)",
                 ph);
        rc = db_exec(db, sql, args, kb, NULL);
    }
    free(ph);
    free(sql);
    free(args);
    return rc;
}

static void stats_add(struct webhook_stats *a, const struct webhook_stats *b)
{
    a->statuses += b->statuses;
    a->applied += b->applied;
    a->duplicates += b->duplicates;
    a->ignored += b->ignored;
    a->unmatched += b->unmatched;
    a->messages += b->messages;
    a->replies += b->replies;
    a->optouts += b->optouts;
    a->lifts += b->lifts;
    a->unrouted += b->unrouted;
    a->other += b->other;
    a->events += b->events;
}

/* One transaction: claim, apply, mark. Returns events applied (0: none left) or a db_rc. */
static int sweep_once(struct db *db, const struct account_list *accounts, int older_than_s,
                      int include_failed, long long only, size_t batch, struct webhook_stats *st)
{
    struct stored s;
    struct webhook_stats part; /* counted only once committed */
    memset(&s, 0, sizeof s);
    memset(&part, 0, sizeof part);
    int rc = db_begin(db);
    if (rc != DB_OK)
        return rc;
    rc = claim_events(db, accounts, older_than_s, include_failed, only, only ? 1 : batch, &s);
    size_t n = s.n;
    if (rc == DB_OK && n)
        rc = apply_events(db, s.evs, n, &part);
    if (rc == DB_OK)
        rc = mark_applied(db, &s);
    if (rc == DB_OK)
        rc = db_commit(db);
    if (rc != DB_OK) {
        db_rollback(db);
        if (rc != DB_ERR_RETRY && rc != DB_ERR_CONN && n > 1 && !only) {
            /* One bad event must not hold the others back: apply them one by one. */
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", db_error(db));
            log_warn("webhook sweep of %zu events failed (%s); applying them one by one", n, msg);
            int done = 0;
            for (size_t i = 0; i < n; i++) {
                int r1 = sweep_once(db, accounts, 0, 1, s.evs[i].id, 1, st);
                if (r1 > 0)
                    done += r1;
            }
            stored_free(&s);
            return done;
        }
        if (only && rc != DB_ERR_RETRY && rc != DB_ERR_CONN) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", db_error(db));
            log_error("webhook event %lld not applied: %s", only, msg);
            mark_failed(db, only, msg, 0);
        }
        stored_free(&s);
        return rc;
    }
    stats_add(st, &part);
    st->events += (int)n;
    stored_free(&s);
    return (int)n;
}

int webhook_sweep(struct db *db, const struct account_list *accounts, int older_than_s,
                  int include_failed, struct webhook_stats *st)
{
    struct account_list own;
    memset(&own, 0, sizeof own);
    memset(st, 0, sizeof *st);
    if (!accounts) {
        int rc = accounts_load(db, NULL, &own);
        if (rc != DB_OK)
            return rc;
        accounts = &own;
    }
    int total = 0, rc = DB_OK, retries = 0;
    for (;;) {
        int n = sweep_once(db, accounts, older_than_s, include_failed, 0, SWEEP_EVENTS, st);
        if (n == DB_ERR_RETRY && retries++ < 5)
            continue;
        if (n < 0) {
            rc = n;
            break;
        }
        if (n == 0)
            break;
        total += n;
    }
    if (rc == DB_OK) {
        /* Statuses that came before their wamid was known, which may be known by now. */
        rc = db_begin(db);
        if (rc == DB_OK) {
            rc = webhook_apply_pending(db, 0);
            rc = rc == DB_OK ? db_commit(db) : rc;
            if (rc != DB_OK)
                db_rollback(db);
        }
    }
    if (own.v)
        accounts_free(&own);
    return rc == DB_OK ? total : rc;
}

static int lock_query(struct db *db, const char *sql)
{
    struct db_rows r;
    int rc = db_query(db, sql, DB_NOARGS, &r);
    if (rc != DB_OK)
        return rc;
    int got = r.nrows && db_int(&r, 0, 0, 0) == 1;
    db_rows_free(&r);
    return got;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int webhook_drain(struct db *db, const struct account_list *accounts, size_t batch,
                  int (*busy)(void), int (*refresh)(void), struct webhook_stats *st)
{
    int total = 0;
    memset(st, 0, sizeof *st);
    if (batch < 1)
        batch = 1;
    for (;;) {
        int got = lock_query(db, "SELECT GET_LOCK('pregon_webhook_apply', 0)");
        if (got <= 0) {
            st->contended = got == 0;
            return got < 0 ? got : total; /* someone else is applying: they will take ours */
        }
        int rc = DB_OK, retries = 0;
        double behind_since = 0; /* since when every batch came back full */
        for (;;) {
            double t0 = mono_s();
            if (refresh && refresh() < 0) {
                rc = DB_ERR_CONN;
                break;
            }
            int n = sweep_once(db, accounts, 0, 0, 0, batch, st);
            if (n == DB_ERR_RETRY && retries++ < 5)
                continue;
            if (n <= 0) {
                rc = n;
                break;
            }
            total += n;
            if ((size_t)n < batch)
                behind_since = 0;
            else if (behind_since == 0)
                behind_since = t0;
            int lagging = behind_since > 0 && mono_s() - behind_since > WEBHOOK_MAX_LAG_S;
            if (busy && !lagging && busy()) {
                /* Requests keep coming: leave them most of the 2 cores (the lock held, so
                 * no other applier steps in), then take what gathered meanwhile in one
                 * batch; full speed as soon as they stop. */
                double pause = (mono_s() - t0) * WEBHOOK_BUSY_PAUSE;
                struct timespec ts = {(time_t)pause, (long)((pause - (double)(time_t)pause) * 1e9)};
                nanosleep(&ts, NULL);
                continue;
            }
            if ((size_t)n < batch)
                break; /* all taken (what came meanwhile: the look below) */
        }
        lock_query(db, "SELECT RELEASE_LOCK('pregon_webhook_apply')");
        if (rc < 0)
            return rc;
        /* An event stored while we held the lock, by a process whose applier then found it
         * taken, is ours to apply: look once more after letting go. */
        got = lock_query(db, "SELECT EXISTS (SELECT 1 FROM webhook_events "
                             "WHERE applied_at IS NULL AND apply_attempts < 5)");
        if (got <= 0)
            return got < 0 ? got : total;
    }
}

static int apply_pending(struct db *db, long long campaign_id, struct webhook_stats *out);

int webhook_apply_pending(struct db *db, long long campaign_id)
{
    struct webhook_stats st;
    memset(&st, 0, sizeof st);
    return apply_pending(db, campaign_id, &st);
}

int webhook_apply_waiting(struct db *db, struct webhook_stats *st)
{
    struct webhook_stats part;
    memset(st, 0, sizeof *st);
    memset(&part, 0, sizeof part);
    int rc = db_begin(db);
    if (rc != DB_OK)
        return rc;
    rc = apply_pending(db, 0, &part);
    rc = rc == DB_OK ? db_commit(db) : rc;
    if (rc != DB_OK) {
        db_rollback(db);
        return rc;
    }
    *st = part;
    return part.applied;
}

static int apply_pending(struct db *db, long long campaign_id, struct webhook_stats *out)
{
    struct db_rows r;
    /* A plain read sees the caller's own uncommitted wamids. */
    int rc = db_query(db,
                      "SELECT ms.wamid, ms.status, UNIX_TIMESTAMP(ms.event_at), ms.account_id, "
                      "ms.callback, ms.error_code, ms.error_text, ms.event_id "
                      "FROM message_statuses ms JOIN recipients r ON r.wamid = ms.wamid "
                      "WHERE ms.applied_at IS NULL AND (? = 0 OR r.campaign_id = ?) "
                      "ORDER BY ms.wamid, ms.status LIMIT 1000",
                      DB_ARGS(DB_INT(campaign_id), DB_INT(campaign_id)), &r);
    if (rc != DB_OK || r.nrows == 0) {
        if (rc == DB_OK)
            db_rows_free(&r);
        return rc;
    }
    struct webhook_stats st;
    memset(&st, 0, sizeof st);
    struct batch b;
    memset(&b, 0, sizeof b);
    b.db = db;
    b.st = &st;
    if (grow((void **)&b.items, &b.capitems, r.nrows, sizeof *b.items) < 0) {
        db_rows_free(&r);
        return DB_ERR;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        struct st_item *it = &b.items[b.nitems++];
        memset(it, 0, sizeof *it);
        it->wamid = db_val(&r, i, 0);
        it->raw = db_val(&r, i, 1);
        it->next = msg_status_parse(it->raw);
        it->t = db_int(&r, i, 2, 0);
        it->account = db_int(&r, i, 3, 0);
        it->cb = db_val(&r, i, 4);
        it->code = (int)db_int(&r, i, 5, 0);
        it->etext = db_val(&r, i, 6);
        it->event_id = db_int(&r, i, 7, 0);
        it->pending = 1;
        it->rec = -1;
    }
    rc = apply_statuses(&b);
    if (rc == DB_OK)
        rc = flush_camps(&b);
    if (rc == DB_OK && st.applied)
        log_info("%d statuses applied once their send was recorded", st.applied);
    if (rc == DB_OK)
        *out = st;
    batch_free(&b);
    db_rows_free(&r);
    return rc;
}
