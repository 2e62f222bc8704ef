/* One batch of stored events, applied in the caller's transaction: pass 1 collects every
 * status (lib/webhook_walk.c) and applies them (lib/webhook_status.c), pass 2 the rest in
 * order (lib/webhook_inbound.c, lib/webhook_account.c), then the campaign counters. Also the
 * callback data we send, and pausing through lib/campaign_state. */
#include "webhook_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_store.h"
#include "db.h"
#include "hooks.h"
#include "log.h"

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

/* ---- small caches (per thread: each thread that applies has its own) ------------------ */

/* Campaign -> account: never changes, looked up to check a status belongs to the account
 * whose app signed it. */
static _Thread_local struct {
    long long campaign, account;
} camp_cache[512];

int wh_campaign_account(struct db *db, long long cid, long long *account)
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

void wh_batch_free(struct batch *b)
{
    free(b->items);
    free(b->recs);
    free(b->rec_by_id);
    free(b->rec_by_wamid);
    free(b->camps);
    person_rules_free(&b->rules);
    json_object_put(b->hook_status);
    json_object_put(b->hook_reply);
    memset(b, 0, sizeof *b);
}

struct camp *wh_camp_get(struct batch *b, long long cid)
{
    for (size_t i = 0; i < b->ncamps; i++)
        if (b->camps[i].id == cid)
            return &b->camps[i];
    if (wh_grow((void **)&b->camps, &b->capcamps, b->ncamps + 1, sizeof *b->camps) < 0)
        return NULL;
    struct camp *c = &b->camps[b->ncamps++];
    memset(c, 0, sizeof *c);
    c->id = cid;
    return c;
}

static int cmp_camp(const void *a, const void *b)
{
    long long x = ((const struct camp *)a)->id, y = ((const struct camp *)b)->id;
    return x < y ? -1 : x > y;
}

/* Counter changes last, in campaign order: the campaign row is the hot one, held briefly. */
int wh_flush_camps(struct batch *b)
{
    if (b->ncamps > 1)
        qsort(b->camps, b->ncamps, sizeof *b->camps, cmp_camp);
    for (size_t i = 0; i < b->ncamps; i++) {
        struct camp *c = &b->camps[i];
        int rc = campaign_store_add_counters(b->db, c->id, &c->d);
        if (rc == DB_OK)
            rc = campaign_store_add_replies(b->db, c->id, c->replies);
        for (int v = 1; v <= ABVAR_MAX && rc == DB_OK; v++)
            rc = abvar_counts_add(b->db, c->id, v, &c->vd[v]);
        if (rc != DB_OK)
            return rc;
    }
    b->ncamps = 0;
    int rc = hooks_emit_many(b->db, "recipient.status", b->hook_status);
    if (rc == DB_OK)
        rc = hooks_emit_many(b->db, "reply.received", b->hook_reply);
    json_object_put(b->hook_status);
    json_object_put(b->hook_reply);
    b->hook_status = b->hook_reply = NULL;
    return rc;
}

int wh_hook_add(struct batch *b, const char *type, long long campaign_id, json_object *data)
{
    int reply = strcmp(type, "reply.received") == 0;
    int *asked = reply ? &b->hook_asked_reply : &b->hook_asked_status;
    int *want = reply ? &b->hook_want_reply : &b->hook_want_status;
    json_object **list = reply ? &b->hook_reply : &b->hook_status;
    if (!*asked) {
        int rc = hooks_wanted(b->db, type, want);
        if (rc != DB_OK) {
            json_object_put(data);
            return rc;
        }
        *asked = 1;
    }
    if (!*want) {
        json_object_put(data);
        return DB_OK;
    }
    if (!*list && !(*list = json_object_new_array())) {
        json_object_put(data);
        return DB_ERR;
    }
    json_object *e = json_object_new_object();
    if (!e) {
        json_object_put(data);
        return DB_ERR;
    }
    json_object_object_add(e, "campaign_id", json_object_new_int64(campaign_id));
    json_object_object_add(e, "data", data);
    json_object_array_add(*list, e);
    return DB_OK;
}

/* "?,?,?" (n times `one`, comma separated) into buf. */
void wh_repeat_sql(char *buf, size_t len, const char *one, size_t n)
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
size_t wh_bucket(size_t n)
{
    size_t b = 1;
    while (b < n)
        b *= 2;
    return b;
}

/* ---- pausing: lib/campaign_state --------------------------------------------------------- */

int wh_campaigns_event(struct batch *b, enum campaign_scope_kind kind, long long id,
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

/* ---- the two passes ------------------------------------------------------------------------ */

static int visit_status(void *ctx, json_object *s, long long account, long long event_id)
{
    return wh_collect_status(ctx, s, account, event_id);
}

static int visit_user_ids(void *ctx, json_object *v, long long account)
{
    return wh_apply_user_ids(ctx, v, account);
}

static int visit_message(void *ctx, json_object *m, long long account, long long event_id)
{
    return wh_apply_message(ctx, m, account, event_id);
}

static int visit_preference(void *ctx, json_object *p, long long account)
{
    return wh_apply_preference(ctx, p, account);
}

static int visit_template(void *ctx, json_object *v, long long account)
{
    return wh_apply_template(ctx, v, account);
}

static int visit_quality(void *ctx, json_object *v, const long long *acc, size_t n)
{
    return wh_apply_quality(ctx, v, acc, n);
}

static int visit_account(void *ctx, json_object *v, long long account)
{
    return wh_apply_account_update(ctx, v, account);
}

int wh_apply_events(struct db *db, const struct ev *evs, size_t n, struct webhook_stats *st)
{
    struct batch b;
    memset(&b, 0, sizeof b);
    b.db = db;
    b.st = st;
    const struct webhook_visitor pass1 = {.ctx = &b, .status = visit_status};
    const struct webhook_visitor pass2 = {.ctx = &b,
                                          .user_ids = visit_user_ids,
                                          .message = visit_message,
                                          .preference = visit_preference,
                                          .template_update = visit_template,
                                          .quality = visit_quality,
                                          .account_update = visit_account};
    int rc = DB_OK;
    double t0 = wh_mono(), t1, t2, t3;
    for (size_t i = 0; i < n && rc == DB_OK; i++)
        rc = webhook_walk(evs[i].payload, &evs[i].src, evs[i].id, 1, &pass1, st);
    t1 = wh_mono();
    if (rc == DB_OK)
        rc = wh_apply_statuses(&b);
    t2 = wh_mono();
    for (size_t i = 0; i < n && rc == DB_OK; i++)
        rc = webhook_walk(evs[i].payload, &evs[i].src, evs[i].id, 0, &pass2, st);
    t3 = wh_mono();
    if (rc == DB_OK)
        rc = wh_flush_camps(&b);
    st->secs[WH_T_WALK] += t1 - t0;
    st->secs[WH_T_STATUSES] += t2 - t1;
    st->secs[WH_T_OTHERS] += t3 - t2;
    st->secs[WH_T_COUNTERS] += wh_mono() - t3;
    wh_batch_free(&b);
    return rc;
}
