/* The claimer thread: registers and heartbeats, follows campaigns and accounts, starts
 * scheduled campaigns, claims recipients (SKIP LOCKED, lease, claim token), takes the rate
 * budget from the shared timelines, arms requests right before their slot, releases what it
 * will not send and recovers the claims of workers that died. */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "account_health.h"
#include "campaign_state.h"
#include "counters.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "person.h"
#include "worker.h"

#define MAX_BATCH     1000
#define REFRESH_S     0.5
#define ACCOUNTS_S    10.0
#define TIER_CHECK_S  5.0
#define LEAD_US       20000
#define LEAD_ARMED_US 2000

/* ---- small helpers --------------------------------------------------------------------- */

/* Rounds n up to a power of two (at most MAX_BATCH) so IN lists reuse a few statements. */
static size_t pad_n(size_t n)
{
    size_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

/* "?,?,...,?" for n placeholders, malloc'd. */
static char *qmarks(size_t n)
{
    char *s = malloc(n * 2 + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = '?';
        s[2 * i + 1] = ',';
    }
    s[n ? n * 2 - 1 : 0] = '\0';
    return s;
}

/* Runs sql (with one "%s" for an IN list) over ids, padded by repeating the last id; pre
 * arguments come first, post after the list. */
static int exec_in(struct db *db, const char *fmt, const db_arg *pre, size_t npre,
                   const long long *ids, size_t n, const db_arg *post, size_t npost,
                   struct db_res *res, struct db_rows *rows)
{
    size_t pn = pad_n(n);
    char *q = qmarks(pn);
    char *sql = q ? malloc(strlen(fmt) + strlen(q) + 1) : NULL;
    db_arg *args = calloc(npre + pn + npost + 1, sizeof *args);
    int rc = DB_ERR;
    if (!q || !sql || !args)
        goto out;
    sprintf(sql, fmt, q);
    size_t a = 0;
    for (size_t i = 0; i < npre; i++)
        args[a++] = pre[i];
    for (size_t i = 0; i < pn; i++)
        args[a++] = DB_INT(ids[i < n ? i : n - 1]);
    for (size_t i = 0; i < npost; i++)
        args[a++] = post[i];
    rc = rows ? db_query(db, sql, args, a, rows) : db_exec(db, sql, args, a, res);
out:
    free(q);
    free(sql);
    free(args);
    return rc;
}

/* A claim's numbers, sorted, to find a row's job without a quadratic scan (one recipient per
 * number per campaign: a batch holds each number once). */
struct phone_ix {
    const char *phone;
    size_t i;
};

static int phone_ix_cmp(const void *a, const void *b)
{
    return strcmp(((const struct phone_ix *)a)->phone, ((const struct phone_ix *)b)->phone);
}

static long phone_ix_find(const struct phone_ix *ix, size_t n, const char *phone)
{
    if (!phone)
        return -1;
    struct phone_ix key = {phone, 0};
    const struct phone_ix *f = bsearch(&key, ix, n, sizeof *ix, phone_ix_cmp);
    return f ? (long)f->i : -1;
}

/* The numbers of ix as a JSON array, for statements that join them as a table (JSON_TABLE):
 * one statement text whatever the count, and each number found by its key with no range
 * analysis of a thousand-item IN list. Caller puts the result; NULL when out of memory. */
static json_object *phones_json(const struct phone_ix *ix, size_t n)
{
    json_object *a = json_object_new_array_ext((int)n);
    for (size_t i = 0; a && i < n; i++)
        if (json_object_array_add(a, json_object_new_string(ix[i].phone)) != 0) {
            json_object_put(a);
            a = NULL;
        }
    return a;
}

void endpoint_put(struct endpoint *ep)
{
    if (!ep || --ep->refs > 0)
        return;
    curl_slist_free_all(ep->hdrs);
    free(ep->url);
    free(ep);
}

/* Jobs are big (about 2.5 KB: Meta's answer and the outcome's text live in them), made by
 * the claimer and freed by the recorder: beyond the allocator's per-thread caches, so each
 * one went through its shared arenas and their locks. Kept for reuse instead. */
#define JOB_POOL_MAX 8192
static pthread_mutex_t job_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct job *job_pool;
static size_t job_pool_n;

/* n zeroed jobs into v (from the pool first); 0, or -1 when out of memory (v then holds
 * what was made, the rest NULL). */
static int job_alloc(struct job **v, size_t n)
{
    size_t k = 0;
    pthread_mutex_lock(&job_pool_mu);
    while (k < n && job_pool) {
        v[k] = job_pool;
        job_pool = job_pool->next;
        job_pool_n--;
        k++;
    }
    pthread_mutex_unlock(&job_pool_mu);
    for (size_t i = 0; i < k; i++)
        memset(v[i], 0, sizeof *v[i]);
    for (; k < n; k++) {
        v[k] = calloc(1, sizeof *v[k]);
        if (!v[k])
            return -1;
    }
    return 0;
}

/* Frees a job (into the pool); the caller holds mu (campaign and endpoint references). */
void job_free(struct job *j)
{
    if (!j)
        return;
    if (j->camp)
        j->camp->refs--;
    endpoint_put(j->ep);
    free(j->body);
    free(j->resp);
    j->body = j->resp = NULL;
    pthread_mutex_lock(&job_pool_mu);
    if (job_pool_n < JOB_POOL_MAX) {
        j->next = job_pool;
        job_pool = j;
        job_pool_n++;
        j = NULL;
    }
    pthread_mutex_unlock(&job_pool_mu);
    free(j);
}

void job_pool_drain(void)
{
    pthread_mutex_lock(&job_pool_mu);
    while (job_pool) {
        struct job *j = job_pool;
        job_pool = j->next;
        free(j);
    }
    job_pool_n = 0;
    pthread_mutex_unlock(&job_pool_mu);
}

/* Local time in zone (IANA name) at t: minute of the day and the date. The C library only
 * knows one zone at a time (TZ), so this is done under a lock and only by this thread. */
static void tz_local(const char *zone, time_t t, int *minute, char *date, size_t dlen)
{
    static pthread_mutex_t tz_mu = PTHREAD_MUTEX_INITIALIZER;
    char path[256];
    struct stat st;
    int ok = zone && *zone && !strstr(zone, "..") && zone[0] != '/' &&
             snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zone) < (int)sizeof path &&
             stat(path, &st) == 0 && S_ISREG(st.st_mode);
    struct tm tm;
    pthread_mutex_lock(&tz_mu);
    if (ok) {
        setenv("TZ", zone, 1);
        tzset();
        localtime_r(&t, &tm);
        setenv("TZ", "UTC", 1);
        tzset();
    } else {
        gmtime_r(&t, &tm);
    }
    pthread_mutex_unlock(&tz_mu);
    *minute = tm.tm_hour * 60 + tm.tm_min;
    strftime(date, dlen, "%Y-%m-%d", &tm);
}

/* ---- registration -------------------------------------------------------------------- */

int claim_register(struct worker *w, struct db *db)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    struct db_res res;
    int rc = db_exec(db, "INSERT INTO workers (host, pid) VALUES (?, ?)",
                     DB_ARGS(DB_STR(host), DB_INT(getpid())), &res);
    if (rc != DB_OK)
        return rc;
    pthread_mutex_lock(&w->mu);
    w->worker_id = (long long)res.insert_id;
    pthread_mutex_unlock(&w->mu);
    return DB_OK;
}

void claim_unregister(struct worker *w, struct db *db)
{
    db_exec(db, "UPDATE workers SET stopped_at = NOW(3) WHERE id = ?",
            DB_ARGS(DB_INT(w->worker_id)), NULL);
}

void claim_heartbeat(struct worker *w, struct db *db)
{
    struct db_res res;
    if (db_exec(db, "UPDATE workers SET heartbeat_at = NOW(3) WHERE id = ? AND stopped_at IS NULL",
                DB_ARGS(DB_INT(w->worker_id)), &res) != DB_OK) {
        log_warn("heartbeat: %s", db_error(db));
        return;
    }
    if (res.affected == 0) {
        /* Declared dead while the database was away: our claims are being recovered (an
         * arm or a record under their old tokens no longer matches). Start afresh. */
        long long old = w->worker_id;
        if (claim_register(w, db) == DB_OK)
            log_warn("worker %lld was declared dead by another; now worker %lld", old,
                     w->worker_id);
    }
}

/* ---- accounts ---------------------------------------------------------------------------- */

static struct acct *acct_find(struct worker *w, long long id)
{
    for (struct acct *a = w->accts; a; a = a->next)
        if (a->id == id)
            return a;
    return NULL;
}

static struct endpoint *endpoint_new(const struct worker *w, const struct account *acc)
{
    struct endpoint *ep = calloc(1, sizeof *ep);
    if (!ep)
        return NULL;
    if (!(ep->url = accounts_messages_url(acc, w->cfg.graph_base_url))) {
        free(ep);
        return NULL;
    }
    ep->tls = strncasecmp(ep->url, "https:", 6) == 0;
    ep->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    char *auth = NULL;
    if (acc->access_token && asprintf(&auth, "Authorization: Bearer %s", acc->access_token) > 0) {
        ep->hdrs = curl_slist_append(ep->hdrs, auth);
        sodium_memzero(auth, strlen(auth));
        free(auth);
    }
    ep->refs = 1;
    return ep;
}

static void accounts_refresh(struct worker *w, struct db *db)
{
    struct account_list list;
    if (accounts_load(db, w->key, &list) != DB_OK) {
        log_warn("loading accounts: %s", db_error(db));
        return;
    }
    struct db_rows r;
    if (db_query(db,
                 "SELECT id, waba_id, timezone, messaging_tier, throughput_mps FROM wa_accounts",
                 DB_NOARGS, &r) != DB_OK) {
        accounts_free(&list);
        return;
    }
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < r.nrows; i++) {
        long long id = db_int(&r, i, 0, 0);
        struct acct *a = acct_find(w, id);
        if (!a) {
            a = calloc(1, sizeof *a);
            if (!a)
                continue;
            a->id = id;
            a->factor = 1.0;
            a->tier_checked = -1e9;
            snprintf(a->pace_key, sizeof a->pace_key, "a:%lld", id);
            a->next = w->accts;
            w->accts = a;
        }
        snprintf(a->waba_id, sizeof a->waba_id, "%s", db_val(&r, i, 1) ? db_val(&r, i, 1) : "");
        snprintf(a->timezone, sizeof a->timezone, "%s", db_val(&r, i, 2) ? db_val(&r, i, 2) : "");
        snprintf(a->tier, sizeof a->tier, "%s", db_val(&r, i, 3) ? db_val(&r, i, 3) : "");
        a->mps = (int)db_int(&r, i, 4, 80);
        const struct account *acc = accounts_find(&list, id);
        struct endpoint *ep = acc ? endpoint_new(w, acc) : NULL;
        if (ep) {
            endpoint_put(a->ep);
            a->ep = ep;
        }
    }
    pthread_mutex_unlock(&w->mu);
    db_rows_free(&r);
    accounts_free(&list);
}

/* ---- the rate budget: shared timelines ----------------------------------------------------- */

/* Reserves n slots interval_us apart on timeline key, none before earliest (local clock).
 * Returns the first slot on the local clock, or -1 when the database is away. */
static long long pace_take(struct db *db, const char *key, int *row_exists, long long interval_us,
                           int n, long long earliest)
{
    if (!*row_exists) {
        if (db_exec(db, "INSERT IGNORE INTO pace_timelines (pace_key) VALUES (?)",
                    DB_ARGS(DB_STR(key)), NULL) != DB_OK)
            return -1;
        *row_exists = 1;
    }
    if (db_begin(db) != DB_OK)
        return -1;
    long long t0 = now_us();
    struct db_rows r;
    if (db_query(db,
                 "SELECT next_slot_us, CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED) "
                 "FROM pace_timelines WHERE pace_key = ? FOR UPDATE",
                 DB_ARGS(DB_STR(key)), &r) != DB_OK) {
        db_rollback(db);
        return -1;
    }
    long long t1 = now_us();
    if (r.nrows == 0) {
        db_rows_free(&r);
        db_rollback(db);
        *row_exists = 0;
        return -1;
    }
    long long next = db_int(&r, 0, 0, 0), dbnow = db_int(&r, 0, 1, 0);
    db_rows_free(&r);
    /* The database's clock orders every worker's slots; ours only converts. */
    long long offset = dbnow - (t0 + t1) / 2;
    long long first = pace_reserve(&next, earliest + offset, interval_us, n);
    if (db_exec(db, "UPDATE pace_timelines SET next_slot_us = ? WHERE pace_key = ?",
                DB_ARGS(DB_INT(next), DB_STR(key)), NULL) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        return -1;
    }
    return first - offset;
}

/* A 130429: hold the number's timeline for every worker and slow it down. A burst of
 * 130429s answers one excess: one hold and one cut per worker_throttle_pause_ms, not one
 * per answer (holding again for each answer that trickles in kept the number silent for
 * seconds and halved the realistic run). */
static void pace_hold(struct worker *w, struct db *db, struct acct *a)
{
    long long pause_us = (long long)w->cfg.worker_throttle_pause_ms * 1000;
    if (a->throttled_us && now_us() - a->throttled_us < pause_us)
        return;
    if (a->factor < 1.0) {
        /* Already backing off from a limit: a further cut finds it without the silence of
         * another hold (a hold at every window halved the pace under a real limit). */
        a->slot_left = 0;
        a->factor = pace_throttle_next(a->factor, PACE_THR_LIMIT);
        a->throttled_us = now_us();
        log_warn("account %lld: throughput limit hit (130429); pace now %.0f%%", a->id,
                 a->factor * 100);
        return;
    }
    /* The timeline is on the database's clock, like every slot. */
    db_exec(db,
            "UPDATE pace_timelines SET next_slot_us = GREATEST(next_slot_us, "
            "CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED) + ?) WHERE pace_key = ?",
            DB_ARGS(DB_INT(pause_us), DB_STR(a->pace_key)), NULL);
    a->slot_left = 0;
    a->factor = pace_throttle_next(a->factor, PACE_THR_LIMIT);
    a->throttled_us = now_us();
    log_warn("account %lld: throughput limit hit (130429); holding %d ms, pace now %.0f%%", a->id,
             w->cfg.worker_throttle_pause_ms, a->factor * 100);
}

static long long acct_interval(const struct acct *a)
{
    long long iv = pace_interval_us(a->mps > 0 ? a->mps : 80);
    return (long long)((double)iv / a->factor + 0.5);
}

/* ---- campaigns ------------------------------------------------------------------------ */

static struct camp *camp_find(struct worker *w, long long id)
{
    for (struct camp *c = w->camps; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static int col_int(const struct db_rows *r, size_t i, const char *name, int dflt)
{
    int c = db_col(r, name);
    return c < 0 ? dflt : (int)db_int(r, i, (size_t)c, dflt);
}

static const char *col_str(const struct db_rows *r, size_t i, const char *name)
{
    int c = db_col(r, name);
    return c < 0 ? NULL : db_val(r, i, (size_t)c);
}

static void set_wait(struct db *db, struct camp *c, const char *reason, const char *in_db)
{
    if (!strcmp(reason, in_db ? in_db : ""))
        return;
    if (db_exec(db, "UPDATE campaigns SET wait_reason = ? WHERE id = ? AND status = 'running'",
                DB_ARGS(*reason ? DB_STR(reason) : DB_NULL, DB_INT(c->id)), NULL) == DB_OK) {
        snprintf(c->wait, sizeof c->wait, "%s", reason);
        if (*reason)
            log_info("campaign %lld waits: %s", c->id, reason);
    }
}

/* Loads the template's slots when the campaign has a parameter mapping (sql/003). */
static void camp_load_template(struct db *db, struct camp *c, const char *param_map)
{
    json_object *pm = param_map ? json_tokener_parse(param_map) : NULL;
    if (!pm || !json_object_is_type(pm, json_type_object) || json_object_object_length(pm) == 0) {
        json_object_put(pm);
        return;
    }
    struct db_rows r;
    if (db_query(db,
                 "SELECT components FROM templates WHERE account_id = ? AND name = ? AND "
                 "language = ?",
                 DB_ARGS(DB_INT(c->account_id), DB_STR(c->template_name), DB_STR(c->language)),
                 &r) != DB_OK) {
        json_object_put(pm);
        return;
    }
    char err[256];
    if (r.nrows == 1 &&
        cloudapi_template_slots(db_val(&r, 0, 0), &c->slots, err, sizeof err) == 0) {
        c->param_map = pm;
        c->have_slots = 1;
    } else {
        if (r.nrows == 1)
            log_warn("campaign %lld: template %s/%s: %s", c->id, c->template_name, c->language,
                     err);
        json_object_put(pm);
    }
    db_rows_free(&r);
}

void camp_free(struct camp *c)
{
    json_object_put(c->body_params);
    json_object_put(c->param_map);
    if (c->have_slots)
        cloudapi_slots_free(&c->slots);
    cloudapi_prepared_free(&c->prep);
    free(c);
}

static void schedule_campaigns(struct worker *w, struct db *db)
{
    unsigned long long n;
    char why[200];
    /* A schedule missed by more than the margin (the system was down) waits for a person. */
    snprintf(why, sizeof why, "the schedule was missed by more than %d s; start it again to send",
             w->cfg.worker_schedule_margin_s);
    struct campaign_scope overdue = {.kind = CSCOPE_OVERDUE,
                                     .margin_s = w->cfg.worker_schedule_margin_s};
    struct campaign_change ch = {.reason = why};
    if (campaign_state_apply(db, &overdue, CEV_SCHEDULE_MISSED, CACT_SCHEDULER, &ch, &n) == DB_OK &&
        n)
        log_warn("%llu overdue scheduled campaign(s) wait for an operator", n);
    /* Due ones start, unless their account's campaigns_enabled is off (CSCOPE_DUE). */
    struct campaign_scope due = {.kind = CSCOPE_DUE, .margin_s = w->cfg.worker_schedule_margin_s};
    if (campaign_state_apply(db, &due, CEV_SCHEDULE_DUE, CACT_SCHEDULER, NULL, &n) == DB_OK && n)
        log_info("%llu scheduled campaign(s) started", n);
}

/* Reads the running campaigns; marks the rest not running (their queued jobs get released). */
static void campaigns_refresh(struct worker *w, struct db *db)
{
    schedule_campaigns(w, db);
    struct db_rows r;
    /* The account's switch is read at every pass (every claim cycle): a running campaign of
     * an account whose campaigns_enabled is off pauses here, and its queued jobs are
     * released below with those of every campaign that stopped running. */
    /* Template pacing (record.c): the template's hold, whether it is over (its time passed
     * or a status of the held message came) and until when. */
    if (db_query(db,
                 "SELECT c.*, a.campaigns_enabled AS account_enabled, "
                 "t.pacing_wamid AS pacing_wamid, "
                 "DATE_FORMAT(t.pacing_until, '%Y-%m-%d %H:%i UTC') AS pacing_until_text, "
                 "(t.pacing_until <= NOW(3) OR EXISTS (SELECT 1 FROM message_statuses m "
                 "WHERE m.wamid = t.pacing_wamid)) AS pacing_over "
                 "FROM campaigns c JOIN wa_accounts a ON a.id = c.account_id "
                 "LEFT JOIN templates t ON t.account_id = c.account_id AND "
                 "t.name = c.template_name AND t.language = c.template_language "
                 "WHERE c.status = 'running' ORDER BY c.id",
                 DB_NOARGS, &r) != DB_OK) {
        log_warn("listing campaigns: %s", db_error(db));
        return;
    }
    pthread_mutex_lock(&w->mu);
    for (struct camp *c = w->camps; c; c = c->next)
        c->seen = 0;
    pthread_mutex_unlock(&w->mu);
    time_t now = time(NULL);
    for (size_t i = 0; i < r.nrows; i++) {
        long long id = col_int(&r, i, "id", 0);
        if (!col_int(&r, i, "account_enabled", 1)) {
            unsigned long long n = 0;
            if (campaign_state_apply_one(
                    db, id, CEV_ACCOUNT_DISABLED, CACT_WORKER,
                    "campaigns are disabled for this WhatsApp account (campaigns_enabled is "
                    "off); resume the campaign once they are enabled again",
                    &n) == DB_OK &&
                n)
                log_warn("campaign %lld paused: campaigns_enabled is off for its account", id);
            continue; /* not seen: stops running here, its jobs are released */
        }
        pthread_mutex_lock(&w->mu);
        struct camp *c = camp_find(w, id);
        pthread_mutex_unlock(&w->mu);
        if (!c) {
            c = calloc(1, sizeof *c);
            if (!c)
                continue;
            c->id = id;
            c->account_id = col_int(&r, i, "account_id", 0);
            snprintf(c->template_name, sizeof c->template_name, "%s",
                     col_str(&r, i, "template_name") ? col_str(&r, i, "template_name") : "");
            snprintf(c->language, sizeof c->language, "%s",
                     col_str(&r, i, "template_language") ? col_str(&r, i, "template_language")
                                                         : "");
            const char *bp = col_str(&r, i, "body_params");
            c->body_params = bp ? json_tokener_parse(bp) : NULL;
            if (c->body_params && !json_object_is_type(c->body_params, json_type_array)) {
                json_object_put(c->body_params);
                c->body_params = NULL;
            }
            camp_load_template(db, c, col_str(&r, i, "param_map"));
            c->ramp_seen_step = -1;
            pthread_mutex_lock(&w->mu);
            c->next = w->camps;
            w->camps = c;
            pthread_mutex_unlock(&w->mu);
        }
        c->batch_size = col_int(&r, i, "batch_size", 200);
        c->interval_ms = col_int(&r, i, "interval_ms", 0);
        c->daily_cap = col_int(&r, i, "daily_cap", 0);
        c->win_start =
            col_str(&r, i, "send_window_start") ? col_int(&r, i, "send_window_start", -1) : -1;
        c->win_end = col_str(&r, i, "send_window_end") ? col_int(&r, i, "send_window_end", -1) : -1;
        c->ramp_step = col_int(&r, i, "ramp_step", 0);
        /* The campaign's own pace: its interval and its progressive-start step. */
        long long civ = (long long)c->interval_ms * 1000;
        int cap = pace_ramp_cap(w->ramp_steps, w->nramp, c->ramp_step);
        if (cap > 0 && 1000000LL / cap > civ)
            civ = 1000000LL / cap;
        if (civ != c->cap_interval_us)
            c->cslot_left = 0;
        c->cap_interval_us = civ;

        /* Why it waits, if it does. */
        char reason[256] = "";
        pthread_mutex_lock(&w->mu);
        struct acct *a = acct_find(w, c->account_id);
        pthread_mutex_unlock(&w->mu);
        const char *held = col_str(&r, i, "pacing_wamid");
        int paced = 0;
        if (held && col_int(&r, i, "pacing_over", 0)) {
            /* The first statuses came (or the window passed): the hold is over for all. */
            db_exec(db,
                    "UPDATE templates SET pacing_wamid = NULL, pacing_until = NULL "
                    "WHERE account_id = ? AND name = ? AND language = ? AND pacing_wamid = ?",
                    DB_ARGS(DB_INT(c->account_id), DB_STR(c->template_name), DB_STR(c->language),
                            DB_STR(held)),
                    NULL);
        } else if (held) {
            paced = 1;
            snprintf(reason, sizeof reason,
                     "template pacing: Meta holds %.60s (%s) for a quality assessment; the rest "
                     "of its audience waits for the first statuses (at most until %s)",
                     c->template_name, c->language,
                     col_str(&r, i, "pacing_until_text") ? col_str(&r, i, "pacing_until_text")
                                                         : "?");
        }
        if (paced) {
            /* the wait reason above */
        } else if (!a || !a->ep) {
            snprintf(reason, sizeof reason, "its WhatsApp account is not available");
        } else {
            int minute;
            char date[16];
            tz_local(a->timezone, now, &minute, date, sizeof date);
            int wait_min = pace_window_wait_min(c->win_start, c->win_end, minute);
            if (wait_min > 0) {
                snprintf(reason, sizeof reason,
                         "outside the send window (%02d:00-%02d:00 %s); opens in %d min",
                         c->win_start, c->win_end, a->timezone, wait_min);
            } else if (c->daily_cap > 0) {
                struct db_rows d;
                if (db_query(db, "SELECT used FROM campaign_days WHERE campaign_id = ? AND day = ?",
                             DB_ARGS(DB_INT(c->id), DB_STR(date)), &d) == DB_OK) {
                    if (d.nrows && db_int(&d, 0, 0, 0) >= c->daily_cap)
                        snprintf(reason, sizeof reason,
                                 "daily cap of %d messages reached for %s (%s); resumes tomorrow",
                                 c->daily_cap, date, a->timezone);
                    db_rows_free(&d);
                }
            }
            long lim = account_tier_limit(a->tier);
            if (!reason[0] && lim >= 0 && a->tier_used >= lim)
                snprintf(reason, sizeof reason,
                         "messaging tier %s used up: %lld unique users in the last 24 h; "
                         "resumes as the window frees",
                         a->tier, a->tier_used);
        }
        set_wait(db, c, reason, col_str(&r, i, "wait_reason"));
        pthread_mutex_lock(&w->mu);
        c->seen = 1;
        c->running = 1;
        c->sendable = reason[0] == '\0';
        c->paced = paced;
        pthread_mutex_unlock(&w->mu);
        if (col_int(&r, i, "pending_count", 1) == 0 && col_int(&r, i, "sending_count", 1) == 0) {
            int done = 0;
            if (counters_complete_if_done(db, c->id, &done) == DB_OK && done)
                log_info("campaign %lld completed", c->id);
        }
    }
    db_rows_free(&r);
    pthread_mutex_lock(&w->mu);
    struct camp **pp = &w->camps;
    while (*pp) {
        struct camp *c = *pp;
        if (!c->seen) {
            c->running = 0;
            c->sendable = 0;
        }
        if (!c->running && c->refs == 0) {
            *pp = c->next;
            camp_free(c);
            continue;
        }
        pp = &c->next;
    }
    pthread_mutex_unlock(&w->mu);
}

static void tier_refresh(struct worker *w, struct db *db, double mono)
{
    for (struct acct *a = w->accts; a; a = a->next) {
        if (account_tier_limit(a->tier) < 0 || mono - a->tier_checked < TIER_CHECK_S)
            continue;
        long long used;
        if (account_tier_used(db, a->waba_id, 0, &used) == DB_OK) {
            a->tier_used = used;
            a->tier_checked = mono;
        }
    }
}

/* ---- claiming --------------------------------------------------------------------------- */

static int send_log_blocked(struct db *db, struct worker *w, struct camp *c, struct job **v,
                            size_t n)
{
    enum { NCOL = 10 };
    db_arg *args = calloc(n * NCOL + 1, sizeof *args);
    if (!args)
        return DB_ERR;
    size_t a = 0;
    for (size_t i = 0; i < n; i++) {
        args[a++] = DB_INT(c->id);
        args[a++] = DB_INT(v[i]->id);
        args[a++] = DB_STR(v[i]->phone);
        args[a++] = v[i]->contact_id ? DB_INT(v[i]->contact_id) : DB_NULL;
        args[a++] = DB_STR(c->template_name);
        args[a++] = DB_STR(c->language);
        args[a++] = DB_INT(v[i]->attempt);
        args[a++] = DB_STR("opted out: not sent");
        args[a++] = DB_INT(w->worker_id);
        args[a++] = DB_INT((long long)v[i]->token);
    }
    struct db_res res;
    int rc =
        db_exec_bulk(db,
                     "INSERT INTO send_log (campaign_id, recipient_id, phone, lead_id, "
                     "template_name, template_language, attempt, outcome, error_text, "
                     "worker_id, claim_token) VALUES (?, ?, ?, ?, ?, ?, ?, 'blocked', ?, ?, ?)",
                     args, NCOL, n, &res);
    free(args);
    if (rc == DB_OK)
        rc = counters_add_minute(db, c->id, "blocked", (long long)res.affected);
    return rc;
}

/* Claims up to limit recipients of c into the account's wait queue. Returns how many were
 * claimed (0: nothing to claim now) or a negative db_rc. */
static int claim_batch(struct worker *w, struct db *db, struct camp *c, struct acct *a, int limit)
{
    if (limit > MAX_BATCH)
        limit = MAX_BATCH;
    if (limit < 1)
        return 0;
    unsigned long long token =
        (((unsigned long long)randombytes_random() << 31) ^ randombytes_random()) &
        0x7fffffffffffffffull;
    if (token == 0)
        token = 1;
    char date[16] = "";
    int minute;
    tz_local(a->timezone, time(NULL), &minute, date, sizeof date);

    /* The business's lock row: claims of every worker for numbers of this business (the
     * pair rate and the messaging tier are per business) take turns, so two workers
     * claiming at the same moment cannot both see a number as free or both spend the
     * last of the tier. Created once, outside the transaction. */
    char lock_key[40];
    snprintf(lock_key, sizeof lock_key, "w:%s", a->waba_id);
    if (!a->lock_row) {
        if (db_exec(db, "INSERT IGNORE INTO pace_timelines (pace_key) VALUES (?)",
                    DB_ARGS(DB_STR(lock_key)), NULL) != DB_OK)
            return DB_ERR;
        a->lock_row = 1;
    }
    int rc = db_begin(db);
    if (rc != DB_OK)
        return rc;
    struct db_rows r = {0};
    struct job **v = NULL;
    long long *ids = NULL;
    size_t n = 0;
    rc = db_query(db, "SELECT next_slot_us FROM pace_timelines WHERE pace_key = ? FOR UPDATE",
                  DB_ARGS(DB_STR(lock_key)), &r);
    if (rc != DB_OK)
        goto fail;
    if (r.nrows == 0)
        a->lock_row = 0; /* deleted meanwhile: created again next time */
    db_rows_free(&r);
    long lim = account_tier_limit(a->tier);
    if (lim >= 0) {
        /* Under the lock the count is exact: every other claim has committed its users. */
        long long used;
        rc = account_tier_used(db, a->waba_id, 0, &used);
        if (rc != DB_OK)
            goto fail;
        a->tier_used = used;
        a->tier_checked = now_monotonic();
    }
    if (c->daily_cap > 0) {
        /* The day's row serializes the claims of every worker for this campaign. */
        rc = db_exec(db, "INSERT IGNORE INTO campaign_days (campaign_id, day) VALUES (?, ?)",
                     DB_ARGS(DB_INT(c->id), DB_STR(date)), NULL);
        if (rc == DB_OK)
            rc = db_query(db,
                          "SELECT used FROM campaign_days WHERE campaign_id = ? AND day = ? "
                          "FOR UPDATE",
                          DB_ARGS(DB_INT(c->id), DB_STR(date)), &r);
        if (rc != DB_OK)
            goto fail;
        long long left = c->daily_cap - db_int(&r, 0, 0, 0);
        db_rows_free(&r);
        if (left < limit)
            limit = (int)(left > 0 ? left : 0);
        if (limit == 0) {
            db_rollback(db);
            return 0;
        }
    }
    /* ix_recipients_queue (campaign_id, status, next_attempt_at, phone) gives these rows in
     * order: no filesort, no scan beyond what is claimed (sql/091).
     * After a full claim the next starts where it ended: the entries before it are mostly
     * claimed rows whose old 'pending' entries wait, delete-marked, for the purge, and a scan
     * from the start would step over all of them every time. A short claim (the end of what
     * is due) starts again from the beginning, so rows put back behind the cursor (released,
     * skipped while another worker held them) are found then. */
    if (c->claim_after_at[0])
        rc = db_query(db,
                      "SELECT id, phone, vars, attempts, contact_id, sent_at IS NOT NULL, "
                      "next_attempt_at FROM recipients FORCE INDEX (ix_recipients_queue) "
                      "WHERE campaign_id = ? AND status = 'pending' AND next_attempt_at <= NOW(3) "
                      "AND (next_attempt_at > ? OR (next_attempt_at = ? AND phone > ?)) "
                      "ORDER BY next_attempt_at, phone LIMIT ? FOR UPDATE SKIP LOCKED",
                      DB_ARGS(DB_INT(c->id), DB_STR(c->claim_after_at), DB_STR(c->claim_after_at),
                              DB_STR(c->claim_after_phone), DB_INT(limit)),
                      &r);
    else
        rc = db_query(db,
                      "SELECT id, phone, vars, attempts, contact_id, sent_at IS NOT NULL, "
                      "next_attempt_at FROM recipients FORCE INDEX (ix_recipients_queue) "
                      "WHERE campaign_id = ? AND status = 'pending' AND next_attempt_at <= NOW(3) "
                      "ORDER BY next_attempt_at, phone LIMIT ? FOR UPDATE SKIP LOCKED",
                      DB_ARGS(DB_INT(c->id), DB_INT(limit)), &r);
    if (rc != DB_OK)
        goto fail;
    n = r.nrows;
    if ((int)n < limit) {
        c->claim_after_at[0] = 0;
    } else {
        snprintf(c->claim_after_at, sizeof c->claim_after_at, "%s", db_val(&r, n - 1, 6));
        snprintf(c->claim_after_phone, sizeof c->claim_after_phone, "%s", db_val(&r, n - 1, 1));
    }
    if (n == 0) {
        db_rows_free(&r);
        db_rollback(db);
        return 0;
    }
    v = calloc(n, sizeof *v);
    ids = calloc(n, sizeof *ids);
    if (!v || !ids) {
        rc = DB_ERR;
        goto fail;
    }
    if (job_alloc(v, n) != 0) {
        rc = DB_ERR;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        struct job *j = v[i];
        j->heap_idx = -1;
        j->id = db_int(&r, i, 0, 0);
        snprintf(j->phone, sizeof j->phone, "%s", db_val(&r, i, 1));
        j->resp = db_val(&r, i, 2) ? strdup(db_val(&r, i, 2)) : NULL;
        j->attempt = (int)db_int(&r, i, 3, 0) + 1;
        j->contact_id = db_int(&r, i, 4, 0);
        j->was_sent = (int)db_int(&r, i, 5, 0);
        j->token = token;
        ids[i] = j->id;
    }
    db_rows_free(&r);

    /* Opt-outs, the pair rate and the tier, checked right before sending. */
    enum { GO, BLOCK, LATER_PAIR, LATER_TIER };
    unsigned char *fate = calloc(n, 1);
    if (!fate) {
        rc = DB_ERR;
        goto fail;
    }
    /* By number, straight on the keys of opt_outs and contact_pace. */
    struct phone_ix *pix = calloc(n, sizeof *pix);
    if (!pix) {
        free(fate);
        rc = DB_ERR;
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        pix[i] = (struct phone_ix){v[i]->phone, i};
    qsort(pix, n, sizeof *pix, phone_ix_cmp);
    json_object *pj = phones_json(pix, n);
    size_t pjl = 0;
    const char *pjs =
        pj ? json_object_to_json_string_length(pj, JSON_C_TO_STRING_PLAIN, &pjl) : NULL;
    memset(&r, 0, sizeof r);
    rc = pjs ? person_blocked_query(db, pjs, pjl, &r) : DB_ERR; /* the one blocked rule */
    if (rc == DB_OK) {
        for (size_t k = 0; k < r.nrows; k++) {
            long i = phone_ix_find(pix, n, db_val(&r, k, 0));
            if (i >= 0)
                fate[i] = BLOCK;
        }
        db_rows_free(&r);
        rc = db_query(
            db,
            "SELECT STRAIGHT_JOIN c.phone, c.last_send_at > NOW(3) - INTERVAL ? SECOND, "
            "c.last_send_at > NOW(3) - INTERVAL 1 DAY FROM JSON_TABLE(?, '$[*]' COLUMNS ("
            "phone VARCHAR(16) CHARACTER SET ascii PATH '$')) p "
            "JOIN contact_pace c FORCE INDEX (PRIMARY) ON c.waba_id = ? AND c.phone = p.phone",
            DB_ARGS(DB_INT(w->cfg.worker_pair_gap_s + 2), DB_STRN(pjs, pjl), DB_STR(a->waba_id)),
            &r);
    }
    json_object_put(pj);
    if (rc != DB_OK) {
        free(pix);
        free(fate);
        goto fail;
    }
    long long tier_room = lim < 0 ? -1 : lim - a->tier_used;
    unsigned char *seen24 = calloc(n, 1);
    for (size_t k = 0; k < r.nrows; k++) {
        long i = phone_ix_find(pix, n, db_val(&r, k, 0));
        if (i < 0)
            continue;
        if (fate[i] == GO && db_int(&r, k, 1, 0))
            fate[i] = LATER_PAIR;
        if (seen24 && db_int(&r, k, 2, 0))
            seen24[i] = 1;
    }
    db_rows_free(&r);
    free(pix);
    for (size_t i = 0; i < n; i++) {
        if (fate[i] != GO || tier_room < 0 || (seen24 && seen24[i]))
            continue;
        if (tier_room > 0)
            tier_room--;
        else
            fate[i] = LATER_TIER;
    }
    free(seen24);

    /* Split the ids by fate (ids is reused in place, per group). */
    long long *grp = calloc(n, sizeof *grp);
    struct job **bl = calloc(n, sizeof *bl);
    size_t ngo = 0, nbl = 0;
    if (!grp || !bl) {
        free(grp);
        free(bl);
        free(fate);
        rc = DB_ERR;
        goto fail;
    }
    struct msg_delta d = {0};
    for (int f = BLOCK; f <= LATER_TIER && rc == DB_OK; f++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (fate[i] == f) {
                grp[k++] = v[i]->id;
                if (f == BLOCK)
                    bl[nbl++] = v[i];
            }
        if (!k)
            continue;
        if (f == BLOCK) {
            rc = exec_in(db,
                         "UPDATE recipients SET status = 'blocked', failed_at = NOW(3), "
                         "next_attempt_at = DEFAULT(next_attempt_at), last_error_code = NULL, "
                         "last_error_text = 'opted out: not sent' "
                         "WHERE id IN (%s)",
                         NULL, 0, grp, k, NULL, 0, NULL, NULL);
            d.pending -= (int)k;
            d.blocked += (int)k;
            if (rc == DB_OK)
                rc = send_log_blocked(db, w, c, bl, nbl);
        } else {
            rc = exec_in(db,
                         "UPDATE recipients SET next_attempt_at = NOW(3) + INTERVAL ? SECOND "
                         "WHERE id IN (%s)",
                         DB_ARGS(DB_INT(f == LATER_PAIR ? w->cfg.worker_pair_gap_s + 2 : 60)), grp,
                         k, NULL, 0, NULL, NULL);
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (fate[i] == GO)
            grp[k++] = v[i]->id;
    ngo = k;
    /* Armed with the claim when every one of them will have its slot within the arm horizon
     * anyway (a fast number with a short queue, no campaign cap): what arm_jobs would commit
     * a few milliseconds later, without its own statement and commit. */
    int arm_now = 0;
    if (ngo && c->cap_interval_us <= 0 && a->factor >= 1.0) {
        long long iv = acct_interval(a);
        long long last_us = (long long)(a->waitq.n + ngo) * (iv > 0 ? iv : 1);
        arm_now = last_us + LEAD_US <= (long long)w->cfg.worker_arm_ahead_ms * 1000;
    }
    if (rc == DB_OK && ngo) {
        rc = exec_in(db,
                     "UPDATE recipients SET status = 'sending', claim_token = ?, claimed_by = ?, "
                     "lease_until = NOW(3) + INTERVAL ? SECOND, armed_at = IF(?, NOW(3), NULL), "
                     "next_attempt_at = DEFAULT(next_attempt_at), attempts = attempts + 1 "
                     "WHERE id IN (%s)",
                     DB_ARGS(DB_INT((long long)token), DB_INT(w->worker_id),
                             DB_INT(w->cfg.worker_lease_s), DB_INT(arm_now)),
                     grp, ngo, NULL, 0, NULL, NULL);
        d.pending -= (int)ngo;
        d.sending += (int)ngo;
        if (rc == DB_OK) {
            /* The pair rate and the tier read this: one row per user, the last message. */
            db_arg *args = calloc(ngo * 3 + 1, sizeof *args);
            if (!args) {
                rc = DB_ERR;
            } else {
                /* When it will really leave: after the jobs already waiting for the
                 * number's slots. The pair-rate check allows 2 s beyond the gap; a queue of
                 * several seconds (a slow number, a big batch) would eat it. */
                long long iv = acct_interval(a);
                long long ahead_ms = (long long)(a->waitq.n + ngo) * iv / 1000;
                if (ahead_ms > 3600000)
                    ahead_ms = 3600000;
                size_t an = 0, m = 0;
                for (size_t i = 0; i < n; i++) {
                    if (fate[i] != GO)
                        continue;
                    args[an++] = DB_STR(a->waba_id);
                    args[an++] = DB_STR(v[i]->phone);
                    args[an++] = DB_INT(ahead_ms);
                    m++;
                }
                rc = db_exec_bulk(db,
                                  "INSERT INTO contact_pace (waba_id, phone, last_send_at) "
                                  "VALUES (?, ?, NOW(3) + INTERVAL ? * 1000 MICROSECOND) "
                                  "ON DUPLICATE KEY UPDATE last_send_at = VALUES(last_send_at)",
                                  args, 3, m, NULL);
            }
            free(args);
        }
        if (rc == DB_OK && c->daily_cap > 0)
            rc = db_exec(
                db, "UPDATE campaign_days SET used = used + ? WHERE campaign_id = ? AND day = ?",
                DB_ARGS(DB_INT((long long)ngo), DB_INT(c->id), DB_STR(date)), NULL);
    }
    if (rc == DB_OK)
        rc = counters_apply(db, c->id, &d);
    if (rc == DB_OK) {
        rc = db_commit(db);
        /* The answer to the commit was lost: the claim may or may not be there. Released by
         * its token once the database is back, never sent. */
        if (rc == DB_ERR_CONN && ngo && w->norphans < sizeof w->orphans / sizeof w->orphans[0]) {
            w->orphans[w->norphans].token = token;
            w->orphans[w->norphans].campaign_id = c->id;
            w->norphans++;
        }
    }
    free(grp);
    free(bl);
    if (rc != DB_OK) {
        free(fate);
        goto fail;
    }
    if (lim >= 0)
        a->tier_used += (long long)ngo; /* an upper bound until the next recount */
    /* Build each request now; the ones that cannot be built are recorded as failed. */
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < n; i++) {
        struct job *j = v[i];
        if (fate[i] != GO) {
            job_free(j);
            continue;
        }
        j->camp = c;
        c->refs++;
        j->armed = arm_now;
        j->acct = a;
        j->ep = a->ep;
        a->ep->refs++;
    }
    pthread_mutex_unlock(&w->mu);
    int got = 0;
    for (size_t i = 0; i < n; i++) {
        if (fate[i] != GO)
            continue;
        struct job *j = v[i];
        if (send_build(j) < 0) {
            pthread_mutex_lock(&w->mu);
            jobq_push(&w->done, j);
            pthread_cond_broadcast(&w->cond);
            pthread_mutex_unlock(&w->mu);
            continue;
        }
        jobq_push(&a->waitq, j);
        got++;
    }
    if (nbl)
        log_info("campaign %lld: %zu opted-out recipient(s) blocked", c->id, nbl);
    c->claimed_total += (long long)ngo;
    free(fate);
    free(v);
    free(ids);
    return (int)n; /* rows dealt with (claimed, blocked or deferred) */
fail:
    db_rows_free(&r);
    db_rollback(db);
    for (size_t i = 0; v && i < n; i++)
        job_free(v[i]); /* nothing referenced yet: camp and ep are still NULL */
    free(v);
    free(ids);
    return rc < 0 ? rc : DB_ERR;
}

/* ---- releasing ---------------------------------------------------------------------------- */

/* Puts never-started jobs back to pending without counting an attempt and frees them.
 * Best effort: what cannot be released stays claimed by us, and the other workers recover
 * it (to pending when it was never armed). */
static void release_jobs(struct worker *w, struct db *db, struct jobq *q, int tries)
{
    while (q->head) {
        /* One statement per claim token (one campaign each). */
        unsigned long long tok = q->head->token;
        struct camp *c = q->head->camp;
        long long ids[MAX_BATCH];
        size_t n = 0;
        struct jobq rest = {0}, mine = {0};
        struct job *j;
        while ((j = jobq_pop(q))) {
            if (j->token == tok && n < MAX_BATCH) {
                ids[n++] = j->id;
                jobq_push(&mine, j);
            } else {
                jobq_push(&rest, j);
            }
        }
        *q = rest;
        int rc = DB_ERR;
        for (int t = 0; t < tries && rc != DB_OK; t++) {
            if (t)
                usleep(200000);
            struct db_res res;
            rc = db_begin(db);
            if (rc == DB_OK)
                rc = exec_in(db,
                             "UPDATE recipients SET status = 'pending', attempts = "
                             "GREATEST(attempts, 1) - 1, claim_token = NULL, claimed_by = NULL, "
                             "lease_until = NULL, armed_at = NULL "
                             "WHERE id IN (%s) AND claim_token = ? AND status = 'sending'",
                             NULL, 0, ids, n, DB_ARGS(DB_INT((long long)tok)), &res, NULL);
            if (rc == DB_OK) {
                struct msg_delta d = {0};
                d.sending = -(int)res.affected;
                d.pending = (int)res.affected;
                rc = counters_apply(db, c->id, &d);
            }
            if (rc == DB_OK)
                rc = db_commit(db);
            if (rc != DB_OK)
                db_rollback(db);
        }
        if (rc != DB_OK)
            log_warn("releasing %zu claims failed (%s); another worker will recover them", n,
                     db_error(db));
        pthread_mutex_lock(&w->mu);
        while ((j = jobq_pop(&mine)))
            job_free(j);
        pthread_mutex_unlock(&w->mu);
    }
}

/* ---- arming and slots -------------------------------------------------------------------- */

/* Commits "may have left" for the unarmed jobs of v (one claim token each group); drops the
 * jobs whose claim was lost meanwhile. Returns DB_OK, or an error with nothing armed. */
static int arm_jobs(struct db *db, struct job **v, size_t n, size_t *kept)
{
    *kept = n;
    int rc = db_begin(db);
    if (rc != DB_OK)
        return rc;
    size_t i = 0;
    while (i < n && rc == DB_OK) {
        unsigned long long tok = v[i]->token;
        long long ids[MAX_BATCH];
        size_t k = 0, from = i;
        while (i < n && v[i]->token == tok && k < MAX_BATCH)
            ids[k++] = v[i++]->id;
        struct db_res res;
        rc = exec_in(db,
                     "UPDATE recipients SET armed_at = NOW(3) WHERE id IN (%s) AND "
                     "claim_token = ? AND status = 'sending'",
                     NULL, 0, ids, k, DB_ARGS(DB_INT((long long)tok)), &res, NULL);
        if (rc != DB_OK || res.affected == k)
            continue;
        /* Some claims were recovered by another worker: those are not ours to send. */
        struct db_rows r;
        rc = exec_in(db,
                     "SELECT id FROM recipients WHERE id IN (%s) AND claim_token = ? AND "
                     "status = 'sending'",
                     NULL, 0, ids, k, DB_ARGS(DB_INT((long long)tok)), NULL, &r);
        if (rc != DB_OK)
            continue;
        for (size_t x = from; x < i; x++) {
            int found = 0;
            for (size_t y = 0; y < r.nrows; y++)
                if (db_int(&r, y, 0, 0) == v[x]->id)
                    found = 1;
            if (!found)
                v[x]->armed = -1;
        }
        db_rows_free(&r);
    }
    if (rc == DB_OK)
        rc = db_commit(db);
    if (rc != DB_OK) {
        db_rollback(db);
        for (size_t x = 0; x < n; x++)
            if (v[x]->armed < 0)
                v[x]->armed = 0;
        return rc;
    }
    size_t out = 0;
    for (size_t x = 0; x < n; x++) {
        if (v[x]->armed < 0) {
            log_warn("recipient %lld: claim recovered by another worker; not sending", v[x]->id);
            continue; /* the caller frees it */
        }
        v[x]->armed = 1;
        out++;
    }
    *kept = out;
    return DB_OK;
}

/* Gives slots to the account's waiting jobs up to the arm horizon, arms them and hands them
 * to the sender. Returns how many were handed over. */
static int slot_account(struct worker *w, struct db *db, struct acct *a, size_t room)
{
    if (!a->waitq.n || room == 0)
        return 0;
    long long now = now_us(), horizon = now + (long long)w->cfg.worker_arm_ahead_ms * 1000;
    long long iv = acct_interval(a);
    if (iv != a->slot_iv) {
        a->slot_left = 0;
        a->slot_iv = iv;
    }
    long long tol = pace_tolerance_us(iv);
    size_t cap = a->waitq.n < room ? a->waitq.n : room;
    struct job **picked = calloc(cap + 1, sizeof *picked);
    struct job **unarmed = calloc(cap + 1, sizeof *unarmed);
    if (!picked || !unarmed) {
        free(picked);
        free(unarmed);
        return 0;
    }
    size_t np = 0, nu = 0;
    while (np < cap && a->waitq.n) {
        if (a->slot_left == 0) {
            int want = pace_chunk(iv, w->cfg.worker_pace_chunk_ms, (int)a->waitq.n);
            /* The lead covers arming before the first slot; jobs armed with their claim
             * need only the hand-over to the sender. */
            long long lead = a->waitq.head && a->waitq.head->armed ? LEAD_ARMED_US : LEAD_US;
            long long first = pace_take(db, a->pace_key, &a->pace_row, iv, want, now + lead);
            if (first < 0)
                break;
            a->slot_next = first;
            a->slot_left = want;
        }
        long long ta = a->slot_next;
        if (ta > horizon)
            break;
        if (ta + tol < now) { /* missed while we were busy: dropped, never bunched */
            a->slot_next += iv;
            a->slot_left--;
            continue;
        }
        /* The first waiting job whose campaign may send at ta. */
        struct job *prev = NULL, *j = a->waitq.head, *fit = NULL, *fprev = NULL;
        long long fit_at = ta;
        for (; j; prev = j, j = j->next) {
            struct camp *c = j->camp;
            if (!c->sendable)
                continue;
            if (c->cap_interval_us <= 0) {
                fit = j, fprev = prev, fit_at = ta;
                break;
            }
            while (c->cslot_left > 0 && c->cslot_next + c->cap_interval_us < ta) {
                c->cslot_next += c->cap_interval_us; /* stale campaign slots */
                c->cslot_left--;
            }
            if (c->cslot_left == 0) {
                int want = pace_chunk(c->cap_interval_us, w->cfg.worker_pace_chunk_ms, 0);
                char key[40];
                int row = 0;
                snprintf(key, sizeof key, "c:%lld", c->id);
                long long first = pace_take(db, key, &row, c->cap_interval_us, want, now + LEAD_US);
                if (first < 0)
                    continue;
                c->cslot_next = first;
                c->cslot_left = want;
            }
            if (c->cslot_next <= ta + tol) {
                fit = j, fprev = prev;
                fit_at = c->cslot_next > ta ? c->cslot_next : ta;
                break;
            }
        }
        a->slot_next += iv;
        a->slot_left--;
        if (!fit)
            continue; /* nobody may use this slot */
        if (fit->camp->cap_interval_us > 0) {
            fit->camp->cslot_next += fit->camp->cap_interval_us;
            fit->camp->cslot_left--;
        }
        /* unlink */
        if (fprev)
            fprev->next = fit->next;
        else
            a->waitq.head = fit->next;
        if (a->waitq.tail == fit)
            a->waitq.tail = fprev;
        a->waitq.n--;
        fit->next = NULL;
        fit->slot_us = fit_at;
        fit->tol_us = iv > 2 ? tol : 0;
        picked[np++] = fit;
        if (!fit->armed)
            unarmed[nu++] = fit;
    }
    if (nu) {
        size_t kept;
        if (arm_jobs(db, unarmed, nu, &kept) != DB_OK) {
            /* Not armed: they wait for new slots. */
            log_warn("arming: %s", db_error(db));
            for (size_t i = 0; i < np; i++)
                jobq_push(&a->waitq, picked[i]);
            free(picked);
            free(unarmed);
            return 0;
        }
    }
    int handed = 0;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < np; i++) {
        if (picked[i]->armed != 1) {
            job_free(picked[i]); /* its claim was recovered by another worker */
            continue;
        }
        if (heap_push(w, picked[i]) == 0)
            handed++;
        else
            jobq_push(&a->waitq, picked[i]);
    }
    pthread_mutex_unlock(&w->mu);
    if (handed)
        send_wakeup(w);
    free(picked);
    free(unarmed);
    return handed;
}

/* ---- recovery ---------------------------------------------------------------------------- */

#define INFLIGHT_CAMPS 256

/* The campaigns that may have claims in flight ('sending' rows): ix_recipients_queue starts
 * with campaign_id, so the in-flight rows are found campaign by campaign (sql/091). The
 * counters move with the rows, in the same transactions; the running campaigns come too, in
 * case. Returns how many ids (at most max), or -1. */
static int inflight_campaigns(struct db *db, long long *ids, size_t max)
{
    struct db_rows r;
    if (db_query(db,
                 "SELECT id FROM campaigns WHERE sending_count <> 0 OR status = 'running' "
                 "ORDER BY sending_count <> 0 DESC, id LIMIT ?",
                 DB_ARGS(DB_INT((long long)max)), &r) != DB_OK)
        return -1;
    size_t n = 0;
    for (; n < r.nrows && n < max; n++)
        ids[n] = db_int(&r, n, 0, 0);
    db_rows_free(&r);
    return (int)n;
}

/* Claims of workers whose heartbeat stopped (or that stopped without releasing), and leases
 * that ran out: never armed -> pending again; armed -> unknown (the request may have reached
 * Meta: a status webhook or an operator settles it, never an automatic resend). */
static void recover(struct worker *w, struct db *db)
{
    struct db_res res;
    if (db_exec(db,
                "UPDATE workers SET stopped_at = NOW(3) WHERE stopped_at IS NULL AND "
                "heartbeat_at < NOW(3) - INTERVAL ? SECOND AND id <> ?",
                DB_ARGS(DB_INT(w->cfg.worker_dead_s), DB_INT(w->worker_id)), &res) == DB_OK &&
        res.affected)
        log_warn("%llu worker(s) stopped sending heartbeats; recovering their claims",
                 res.affected);
    long long camps[INFLIGHT_CAMPS];
    int ncamps = inflight_campaigns(db, camps, INFLIGHT_CAMPS);
    if (ncamps <= 0)
        return;
    for (int round = 0; round < 20; round++) {
        if (db_begin(db) != DB_OK)
            return;
        struct db_rows r;
        int rc = exec_in(db,
                         "SELECT r.id, r.campaign_id, r.armed_at IS NOT NULL "
                         "FROM recipients r FORCE INDEX (ix_recipients_queue) "
                         "LEFT JOIN workers w ON w.id = r.claimed_by "
                         "WHERE r.campaign_id IN (%s) AND r.status = 'sending' AND "
                         "(r.claimed_by IS NULL OR r.claimed_by <> ?) AND "
                         "(r.lease_until < NOW(3) OR w.id IS NULL OR w.stopped_at IS NOT NULL) "
                         "LIMIT 500 FOR UPDATE SKIP LOCKED",
                         NULL, 0, camps, (size_t)ncamps, DB_ARGS(DB_INT(w->worker_id)), NULL, &r);
        if (rc != DB_OK || r.nrows == 0) {
            if (rc == DB_OK)
                db_rows_free(&r);
            db_rollback(db);
            return;
        }
        /* A few statements for the whole set: the transaction stays short, so the
         * campaign rows it updates are not held long. */
        long long armed[500], unarmed[500], armed_camp[500];
        size_t na = 0, nu = 0;
        long long camp_ids[64];
        struct msg_delta deltas[64];
        size_t nc = 0;
        memset(deltas, 0, sizeof deltas);
        for (size_t i = 0; i < r.nrows; i++) {
            long long id = db_int(&r, i, 0, 0), cid = db_int(&r, i, 1, 0);
            int is_armed = (int)db_int(&r, i, 2, 1);
            size_t k;
            for (k = 0; k < nc && camp_ids[k] != cid; k++)
                ;
            if (k == nc) {
                if (nc == 64)
                    continue; /* the next round takes it */
                camp_ids[nc++] = cid;
            }
            if (is_armed) {
                armed_camp[na] = cid;
                armed[na++] = id;
                msg_delta_move(&deltas[k], MSG_SENDING, MSG_UNKNOWN);
            } else {
                unarmed[nu++] = id;
                msg_delta_move(&deltas[k], MSG_SENDING, MSG_PENDING);
            }
        }
        db_rows_free(&r);
        if (nu)
            rc = exec_in(db,
                         "UPDATE recipients SET status = 'pending', attempts = "
                         "GREATEST(attempts, 1) - 1, claim_token = NULL, claimed_by = NULL, "
                         "lease_until = NULL, armed_at = NULL WHERE id IN (%s)",
                         NULL, 0, unarmed, nu, NULL, 0, NULL, NULL);
        /* One statement per campaign: the rows it inserts count in its minute. */
        for (size_t k = 0; k < nc && rc == DB_OK && na; k++) {
            long long ids[500];
            size_t ni = 0;
            for (size_t i = 0; i < na; i++)
                if (armed_camp[i] == camp_ids[k])
                    ids[ni++] = armed[i];
            if (!ni)
                continue;
            struct db_res ins;
            rc = exec_in(db,
                         "INSERT IGNORE INTO send_log (campaign_id, recipient_id, phone, lead_id, "
                         "template_name, template_language, attempt, outcome, error_text, "
                         "worker_id, claim_token) SELECT r.campaign_id, r.id, r.phone, "
                         "r.contact_id, c.template_name, c.template_language, r.attempts, "
                         "'unknown', 'the worker sending it stopped', ?, r.claim_token "
                         "FROM recipients r "
                         "JOIN campaigns c ON c.id = r.campaign_id WHERE r.id IN (%s)",
                         DB_ARGS(DB_INT(w->worker_id)), ids, ni, NULL, 0, &ins, NULL);
            if (rc == DB_OK)
                rc = counters_add_minute(db, camp_ids[k], "unknown", (long long)ins.affected);
        }
        if (rc == DB_OK && na)
            rc = exec_in(db,
                         "UPDATE recipients SET status = 'unknown', claim_token = NULL, "
                         "claimed_by = NULL, lease_until = NULL, armed_at = NULL, "
                         "last_error_text = 'the worker sending it stopped; outcome unknown' "
                         "WHERE id IN (%s)",
                         NULL, 0, armed, na, NULL, 0, NULL, NULL);
        for (size_t k = 0; k < nc && rc == DB_OK; k++)
            rc = counters_apply(db, camp_ids[k], &deltas[k]);
        if (rc == DB_OK && db_commit(db) == DB_OK) {
            log_warn("recovered claims of stopped workers: %zu back to pending, %zu unknown", nu,
                     na);
        } else {
            db_rollback(db);
            return;
        }
    }
}

/* Claims whose commit answer was lost: whatever of them exists goes back to pending. */
/* Reconciliation (issue 15): an in-doubt recipient (unknown) that no status webhook
 * settled within its account's in_doubt_resend_after_s (> 0; 0 = never, the default) is
 * resent once: pending again with a send_log row `retry` that says so. Once: only a
 * recipient with a single `unknown` row qualifies, so a resend in doubt again stays
 * unknown. A campaign completed meanwhile runs again for it. Runs with the recovery. */
static void resend_in_doubt(struct worker *w, struct db *db)
{
    struct db_rows r;
    if (db_query(db,
                 "SELECT r.id, r.campaign_id, a.in_doubt_resend_after_s FROM campaigns c "
                 "JOIN wa_accounts a ON a.id = c.account_id AND a.in_doubt_resend_after_s > 0 "
                 "JOIN recipients r ON r.campaign_id = c.id AND r.status = 'unknown' "
                 "WHERE c.unknown_count > 0 AND (c.status = 'running' OR (c.status = "
                 "'completed' AND c.completed_at > NOW(3) - INTERVAL "
                 "(a.in_doubt_resend_after_s + 3600) SECOND)) "
                 "AND (SELECT COUNT(*) FROM send_log l WHERE l.recipient_id = r.id AND "
                 "l.outcome = 'unknown') = 1 "
                 "AND (SELECT MAX(l.created_at) FROM send_log l WHERE l.recipient_id = r.id AND "
                 "l.outcome = 'unknown') < NOW(3) - INTERVAL a.in_doubt_resend_after_s SECOND "
                 "ORDER BY r.id LIMIT 200",
                 NULL, 0, &r) != DB_OK)
        return;
    size_t n = 0;
    for (size_t i = 0; i < r.nrows; i++) {
        long long id = db_int(&r, i, 0, 0), cid = db_int(&r, i, 1, 0);
        char text[160];
        snprintf(text, sizeof text,
                 "in doubt for %lld s and nothing settled it: resent once "
                 "(in_doubt_resend_after_s)",
                 db_int(&r, i, 2, 0));
        struct db_res res;
        struct msg_delta d = {0};
        /* recipient first, then the campaign (the lock order) */
        int rc = db_begin(db);
        if (rc == DB_OK)
            rc = db_exec(db,
                         "UPDATE recipients SET status = 'pending', next_attempt_at = NOW(3), "
                         "last_error_text = ? WHERE id = ? AND status = 'unknown'",
                         DB_ARGS(DB_STR(text), DB_INT(id)), &res);
        if (rc == DB_OK && res.affected == 1) {
            rc = db_exec(db,
                         "INSERT INTO send_log (campaign_id, recipient_id, phone, lead_id, "
                         "template_name, template_language, attempt, outcome, error_text, "
                         "worker_id) SELECT r.campaign_id, r.id, r.phone, r.contact_id, "
                         "c.template_name, c.template_language, r.attempts, 'retry', ?, ? "
                         "FROM recipients r JOIN campaigns c ON c.id = r.campaign_id "
                         "WHERE r.id = ?",
                         DB_ARGS(DB_STR(text), DB_INT(w->worker_id), DB_INT(id)), NULL);
            if (rc == DB_OK)
                rc = counters_add_minute(db, cid, "retry", 1);
            msg_delta_move(&d, MSG_UNKNOWN, MSG_PENDING);
            if (rc == DB_OK)
                rc = counters_apply(db, cid, &d);
            if (rc == DB_OK)
                rc = db_exec(db,
                             "UPDATE campaigns SET status = 'running', completed_at = NULL "
                             "WHERE id = ? AND status = 'completed'",
                             DB_ARGS(DB_INT(cid)), NULL);
            if (rc == DB_OK)
                n++;
        }
        if (rc == DB_OK)
            rc = db_commit(db);
        if (rc != DB_OK) {
            db_rollback(db);
            break;
        }
    }
    db_rows_free(&r);
    if (n)
        log_warn("resent %zu in-doubt recipient(s) that nothing settled in time", n);
}

static void release_orphans(struct worker *w, struct db *db)
{
    while (w->norphans) {
        struct orphan *o = &w->orphans[w->norphans - 1];
        struct db_res res;
        int rc = db_begin(db);
        if (rc == DB_OK)
            rc = db_exec(
                db,
                "UPDATE recipients SET status = 'pending', attempts = "
                "GREATEST(attempts, 1) - 1, claim_token = NULL, claimed_by = NULL, "
                "lease_until = NULL, armed_at = NULL WHERE campaign_id = ? AND "
                "status = 'sending' AND claimed_by = ? AND claim_token = ? AND "
                "armed_at IS NULL",
                DB_ARGS(DB_INT(o->campaign_id), DB_INT(w->worker_id), DB_INT((long long)o->token)),
                &res);
        if (rc == DB_OK) {
            struct msg_delta d = {0};
            d.sending = -(int)res.affected;
            d.pending = (int)res.affected;
            rc = counters_apply(db, o->campaign_id, &d);
        }
        if (rc == DB_OK)
            rc = db_commit(db);
        if (rc != DB_OK) {
            db_rollback(db);
            return;
        }
        if (res.affected)
            log_warn("released %llu claim(s) whose commit was in doubt", res.affected);
        w->norphans--;
    }
}

static void renew_leases(struct worker *w, struct db *db)
{
    long long camps[INFLIGHT_CAMPS];
    int ncamps = inflight_campaigns(db, camps, INFLIGHT_CAMPS);
    if (ncamps <= 0)
        return;
    /* Locks without waiting (SKIP LOCKED): the rows the recorder holds are leaving 'sending'
     * anyway, and a renewal that waited for them in index order while the recorder locked
     * by id was the last deadlock of the chaos run (docs/worker.md, "Lock order"). */
    struct db_rows r;
    int rc = db_begin(db);
    if (rc == DB_OK)
        rc = exec_in(db,
                     "SELECT id FROM recipients WHERE campaign_id IN (%s) AND status = 'sending' "
                     "AND claimed_by = ? FOR UPDATE SKIP LOCKED",
                     NULL, 0, camps, (size_t)ncamps, DB_ARGS(DB_INT(w->worker_id)), NULL, &r);
    if (rc == DB_OK) {
        size_t n = r.nrows;
        long long *ids = malloc((n + 1) * sizeof *ids);
        for (size_t i = 0; ids && i < n; i++)
            ids[i] = db_int(&r, i, 0, 0);
        db_rows_free(&r);
        if (!ids)
            rc = DB_ERR;
        else if (n)
            rc = exec_in(db,
                         "UPDATE recipients SET lease_until = NOW(3) + INTERVAL ? SECOND "
                         "WHERE id IN (%s)",
                         DB_ARGS(DB_INT(w->cfg.worker_lease_s)), ids, n, NULL, 0, NULL, NULL);
        free(ids);
    }
    if (rc == DB_OK)
        rc = db_commit(db);
    if (rc != DB_OK) {
        log_warn("renewing leases: %s", db_error(db));
        db_rollback(db);
    }
}

/* The heartbeat has its own thread and connection, so a busy or blocked claimer never looks
 * dead to the other workers. It beats until everything is recorded, then unregisters. */
void *heartbeat_main(void *arg)
{
    struct worker *w = arg;
    struct db *db = db_open(&w->cfg);
    if (!db)
        return NULL;
    double last = 0;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        int done = w->recorder_done;
        pthread_mutex_unlock(&w->mu);
        if (done)
            break;
        double mono = now_monotonic();
        if (mono - last >= w->cfg.worker_heartbeat_s) {
            claim_heartbeat(w, db);
            last = mono;
        }
        /* The counts for /metrics ride on the heartbeat's connection too. */
        metrics_flush(db, 2.0);
        usleep(50000);
    }
    metrics_flush(db, 0);
    claim_unregister(w, db);
    db_close(db);
    return NULL;
}

/* ---- the thread ---------------------------------------------------------------------------- */

/* Jobs of campaigns that stopped running or wait for template pacing, and everything when
 * stopping: out of the wait
 * queues and the heap (never started, so surely not sent) and back to pending. */
static void release_stale(struct worker *w, struct db *db, int all, int tries)
{
    struct jobq rel = {0};
    pthread_mutex_lock(&w->mu);
    for (struct acct *a = w->accts; a; a = a->next) {
        struct jobq keep = {0};
        struct job *j;
        while ((j = jobq_pop(&a->waitq))) {
            if (all || !j->camp->running || j->camp->paced)
                jobq_push(&rel, j);
            else
                jobq_push(&keep, j);
        }
        a->waitq = keep;
    }
    for (size_t i = 0; i < w->nheap;) {
        struct job *j = w->heap[i];
        if (all || !j->camp->running || j->camp->paced) {
            heap_remove(w, j);
            jobq_push(&rel, j);
            i = 0;
            continue;
        }
        i++;
    }
    struct job *j;
    while ((j = jobq_pop(&w->reslot))) {
        if (all || !j->camp->running || j->camp->paced)
            jobq_push(&rel, j);
        else if (j->acct)
            jobq_push(&j->acct->waitq, j);
    }
    pthread_mutex_unlock(&w->mu);
    if (rel.n)
        log_info("releasing %zu claimed recipient(s) that were not started", rel.n);
    release_jobs(w, db, &rel, tries);
}

/* SIGHUP: the pace, progressive start, breaker and timeouts follow the file again. */
static void reload_config(struct worker *w)
{
    struct config n;
    char err[512];
    if (config_load(&n, w->config_path, err, sizeof err) < 0) {
        log_error("reloading the configuration: %s (keeping the old one)", err);
        return;
    }
    int steps[PACE_RAMP_MAX];
    int ns = pace_ramp_parse(n.worker_ramp_steps, steps, PACE_RAMP_MAX);
    if (ns < 0) {
        log_error("reloading: bad worker_ramp_steps %s (keeping the old configuration)",
                  n.worker_ramp_steps);
        config_free(&n);
        return;
    }
    pthread_mutex_lock(&w->mu);
    memcpy(w->ramp_steps, steps, sizeof steps);
    w->nramp = ns;
    w->cfg.worker_batch = n.worker_batch;
    w->cfg.worker_poll_ms = n.worker_poll_ms;
    w->cfg.http_connect_timeout_ms = n.http_connect_timeout_ms;
    w->cfg.http_timeout_ms = n.http_timeout_ms;
    w->cfg.worker_pace_chunk_ms = n.worker_pace_chunk_ms;
    w->cfg.worker_arm_ahead_ms = n.worker_arm_ahead_ms;
    w->cfg.worker_max_attempts = n.worker_max_attempts;
    w->cfg.worker_ramp_every = n.worker_ramp_every;
    w->cfg.worker_ramp_max_error_pct = n.worker_ramp_max_error_pct;
    w->cfg.worker_breaker_min = n.worker_breaker_min;
    w->cfg.worker_breaker_pct = n.worker_breaker_pct;
    w->cfg.worker_param_pause = n.worker_param_pause;
    w->cfg.worker_pair_gap_s = n.worker_pair_gap_s;
    w->cfg.worker_throttle_pause_ms = n.worker_throttle_pause_ms;
    w->cfg.worker_schedule_margin_s = n.worker_schedule_margin_s;
    w->reload = 1;
    pthread_mutex_unlock(&w->mu);
    config_free(&n);
    log_info("configuration reloaded");
}

void *claimer_main(void *arg)
{
    struct worker *w = arg;
    struct db *db = db_open(&w->cfg);
    if (!db) {
        log_error("out of memory");
        pthread_mutex_lock(&w->mu);
        w->claimer_done = 1;
        pthread_mutex_unlock(&w->mu);
        return NULL;
    }
    double last_recover = 0, last_renew = now_monotonic(), last_refresh = 0, last_accounts = -1e9;
    int backoff_ms = 100;
    size_t rr = 0; /* round robin over campaigns */
    for (;;) {
        if (worker_sig_stop)
            w->stopping = 1;
        if (w->drain_deadline_us && (now_us() >= w->drain_deadline_us || w->idle_passes > 60)) {
            if (w->idle_passes > 60)
                log_info("drain: nothing left to do");
            w->stopping = 1;
        }
        if (worker_sig_hup) {
            worker_sig_hup = 0;
            reload_config(w);
        }
        if (w->stopping)
            break;
        double mono = now_monotonic();
        if (db_ensure(db) != DB_OK) {
            log_warn("database not reachable (%s); retrying in %d ms", db_error(db), backoff_ms);
            usleep((useconds_t)backoff_ms * 1000);
            if (backoff_ms < 5000)
                backoff_ms *= 2;
            continue;
        }
        backoff_ms = 100;
        if (mono - last_accounts >= ACCOUNTS_S || w->reload) {
            accounts_refresh(w, db);
            last_accounts = mono;
        }
        if (mono - last_refresh >= REFRESH_S || w->reload) {
            w->reload = 0;
            tier_refresh(w, db, mono); /* before the campaigns: their wait reasons read it */
            campaigns_refresh(w, db);
            release_stale(w, db, 0, 1);
            last_refresh = mono;
        }
        if (mono - last_recover >= w->cfg.worker_heartbeat_s) {
            recover(w, db);
            resend_in_doubt(w, db);
            last_recover = mono;
        }
        release_orphans(w, db);
        if (mono - last_renew >= w->cfg.worker_lease_s / 3.0) {
            renew_leases(w, db);
            last_renew = mono;
        }
        /* Held numbers (130429 seen by the recorder) and the slow recovery of their pace. */
        pthread_mutex_lock(&w->mu);
        struct job *rj;
        while ((rj = jobq_pop(&w->reslot)))
            jobq_push(&rj->acct->waitq, rj);
        size_t inheap = w->nheap;
        pthread_mutex_unlock(&w->mu);
        for (struct acct *a = w->accts; a; a = a->next) {
            /* 130429s: a real limit (a share of the window's answers) holds and cuts at
             * once; a clean or sporadic window adds a step back (lib/pace.h). */
            long long tnow = now_us();
            if (!a->thr_window_us)
                a->thr_window_us = tnow;
            pthread_mutex_lock(&w->mu);
            enum pace_throttle th = pace_throttle_judge(a->thr_answers, a->thr_hits);
            int closed = th == PACE_THR_LIMIT || tnow - a->thr_window_us >= PACE_THROTTLE_WINDOW_US;
            if (closed)
                a->thr_answers = a->thr_hits = 0;
            pthread_mutex_unlock(&w->mu);
            if (closed) {
                a->thr_window_us = tnow;
                if (th == PACE_THR_LIMIT)
                    pace_hold(w, db, a);
                else
                    a->factor = pace_throttle_next(a->factor, th);
            }
        }

        /* Top the sender up first: a claim of a big batch takes tens of milliseconds, and a
         * fast number empties the heap meanwhile. */
        int worked = 0;
        size_t cap_heap = (size_t)(2 * w->cfg.worker_inflight);
        if (cap_heap < (size_t)w->cfg.worker_batch)
            cap_heap = (size_t)w->cfg.worker_batch;
        for (struct acct *a = w->accts; a; a = a->next) {
            if (inheap >= cap_heap)
                break;
            int h = slot_account(w, db, a, cap_heap - inheap);
            inheap += (size_t)(h > 0 ? h : 0);
            if (h > 0)
                worked = 1;
        }
        /* Claim where the queue runs low: about a second of sending per account. */
        size_t ncamps = 0;
        pthread_mutex_lock(&w->mu);
        for (struct camp *c = w->camps; c; c = c->next)
            ncamps++;
        pthread_mutex_unlock(&w->mu);
        for (size_t k = 0; k < ncamps && !w->stopping; k++) {
            pthread_mutex_lock(&w->mu);
            struct camp *c = w->camps;
            for (size_t x = 0; c && x < (rr + k) % ncamps; x++)
                c = c->next;
            int ok = c && c->sendable;
            struct acct *a = c ? acct_find(w, c->account_id) : NULL;
            pthread_mutex_unlock(&w->mu);
            if (!ok || !a || !a->ep)
                continue;
            long long iv = acct_interval(a);
            long long per_s = iv > 0 ? 1000000 / iv : 100000;
            long long target = per_s + w->cfg.worker_batch;
            if (target > 4 * (long long)w->cfg.worker_batch + w->cfg.worker_inflight)
                target = 4 * (long long)w->cfg.worker_batch + w->cfg.worker_inflight;
            if ((long long)a->waitq.n >= target)
                continue;
            int limit = c->batch_size < w->cfg.worker_batch ? c->batch_size : w->cfg.worker_batch;
            if (limit < 1)
                limit = w->cfg.worker_batch;
            int got = claim_batch(w, db, c, a, limit);
            if (got > 0) {
                worked = 1;
                metrics_observe("pregon_claim_batch_size", got);
            } else if (got < 0)
                log_warn("claiming for campaign %lld: %s", c->id, db_error(db));
        }
        rr++;
        /* Slots and arming: keep the sender fed up to the arm horizon. */
        pthread_mutex_lock(&w->mu);
        inheap = w->nheap;
        pthread_mutex_unlock(&w->mu);
        size_t waiting = 0;
        for (struct acct *a = w->accts; a; a = a->next) {
            if (inheap < cap_heap) {
                int h = slot_account(w, db, a, cap_heap - inheap);
                inheap += (size_t)(h > 0 ? h : 0);
                if (h > 0)
                    worked = 1;
            }
            waiting += a->waitq.n;
        }
        pthread_mutex_lock(&w->mu);
        inheap = w->nheap;
        int busy = w->inflight > 0 || w->nheap > 0 || w->done.n > 0;
        pthread_mutex_unlock(&w->mu);
        if (w->drain_deadline_us) {
            if (!busy && !waiting && !worked)
                w->idle_passes++;
            else
                w->idle_passes = 0;
        }
        if (worked || (waiting && inheap < cap_heap / 2))
            usleep(1000);
        else if (waiting || busy)
            usleep(5000);
        else
            usleep((useconds_t)(w->cfg.worker_poll_ms > 50 ? 50 : w->cfg.worker_poll_ms) * 1000);
    }
    /* Stopping: nothing new starts; what never started goes back to pending. */
    release_stale(w, db, 1, 25);
    pthread_mutex_lock(&w->mu);
    w->claimer_done = 1;
    pthread_mutex_unlock(&w->mu);
    send_wakeup(w);
    db_close(db);
    return NULL;
}
