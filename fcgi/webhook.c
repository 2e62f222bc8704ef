/* /webhook: Meta's verification handshake and the signed event deliveries.
 *
 * A POST is verified over the exact raw body against the App Secret of every configured
 * account (several accounts may share one endpoint), stored durably (committed), and then
 * answered 200. Applying happens off the request path, in each process's applier thread, in
 * large batches: nothing Meta sent can be lost, and a burst costs one insert per request
 * plus a share of a few big transactions. */
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "app.h"
#include "db.h"
#include "hmac.h"
#include "jsonparse.h"
#include "log.h"
#include "metrics.h"
#include "webhook_apply.h"

#define ACCOUNTS_TTL   15  /* seconds: a new app secret is picked up that fast */
#define SWEEP_EVERY    2   /* seconds between the applier thread's looks for waiting events */
#define APPLY_BATCH    512 /* stored events per applier transaction */
#define GATHER_MS      20  /* a woken applier waits this long, so a burst becomes few batches */
#define BUSY_WINDOW_MS 200 /* a request stored this recently: a burst is on */
#define CONTENDED_MS   200 /* after finding another applier at work */

/* The accounts for verifying and routing requests, shared by the process's request threads
 * (main.c): accounts_mu guards them and their own connection. */
static pthread_mutex_t accounts_mu = PTHREAD_MUTEX_INITIALIZER;
static struct account_list accounts;
static time_t accounts_loaded;
static struct db *accounts_db;

/* What changes when an account is added, removed or edited. */
static int accounts_fingerprint(struct db *db, char *out, size_t len)
{
    struct db_rows r;
    if (db_query(db,
                 "SELECT CONCAT(COUNT(*), '/', COALESCE(MAX(id), 0), '/', "
                 "COALESCE(MAX(updated_at), '')) FROM wa_accounts",
                 DB_NOARGS, &r) != DB_OK)
        return -1;
    snprintf(out, len, "%s", r.nrows && db_val(&r, 0, 0) ? db_val(&r, 0, 0) : "");
    db_rows_free(&r);
    return 0;
}

/* Loads the accounts when the cache is old; with check, also when they changed since (a
 * signature or an entry no cached account explains: maybe an account added a moment ago).
 * The caller holds accounts_mu. */
static int load_accounts(struct app *app, int check)
{
    static char loaded_fp[128];
    char fp[128] = "";
    time_t now = time(NULL);
    if (!accounts_db && !(accounts_db = db_open(&app->cfg)))
        return accounts_loaded ? 0 : -1;
    if (accounts_loaded && now - accounts_loaded < ACCOUNTS_TTL) {
        if (!check || accounts_fingerprint(accounts_db, fp, sizeof fp) < 0 ||
            strcmp(fp, loaded_fp) == 0)
            return 0;
    }
    if (!fp[0] && accounts_fingerprint(accounts_db, fp, sizeof fp) < 0)
        fp[0] = '\0';
    struct account_list fresh;
    if (accounts_load(accounts_db, app->have_key ? &app->key : NULL, &fresh) != DB_OK) {
        log_error("webhook: cannot load accounts: %s", db_error(accounts_db));
        return accounts_loaded ? 0 : -1; /* keep serving with what we had */
    }
    accounts_free(&accounts);
    accounts = fresh;
    accounts_loaded = now;
    snprintf(loaded_fp, sizeof loaded_fp, "%s", fp);
    return 0;
}

/* Group commit: the request threads of a process that verified a body at the same moment
 * store them together, one multi-row INSERT and one commit (each commit waits for the redo
 * log to reach the disk: the dearest part of a request). The first thread to find nobody
 * storing becomes the leader: it takes everything queued (its own included), stores it on
 * the process's store connection, and wakes the others with their outcome; each request is
 * answered only once its row is committed. */
struct store_req {
    struct webhook_stored item;
    int rc, done;
    struct store_req *next;
};

static pthread_mutex_t store_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t store_cv = PTHREAD_COND_INITIALIZER;
static struct store_req *store_head, **store_tail = &store_head;
static int store_busy;
static struct db *store_db; /* used by the leader only */

static int store_grouped(struct app *app, struct store_req *me)
{
    pthread_mutex_lock(&store_mu);
    me->next = NULL;
    me->done = 0;
    *store_tail = me;
    store_tail = &me->next;
    while (!me->done) {
        if (store_busy) {
            pthread_cond_wait(&store_cv, &store_mu);
            continue;
        }
        store_busy = 1;
        struct store_req *group[WEBHOOK_STORE_MAX];
        struct webhook_stored items[WEBHOOK_STORE_MAX];
        size_t n = 0;
        while (store_head && n < WEBHOOK_STORE_MAX) {
            group[n] = store_head;
            items[n] = store_head->item;
            n++;
            store_head = store_head->next;
        }
        if (!store_head)
            store_tail = &store_head;
        pthread_mutex_unlock(&store_mu);
        int rc = DB_ERR;
        if (store_db || (store_db = db_open(&app->cfg)) != NULL) {
            rc = webhook_store_many(store_db, items, n);
            if (rc != DB_OK)
                log_error("webhook: cannot store %zu events: %s", n, db_error(store_db));
        }
        if (rc == DB_OK && n > 1)
            metrics_observe("pregon_webhook_store_group_size", (double)n);
        pthread_mutex_lock(&store_mu);
        for (size_t i = 0; i < n; i++) {
            group[i]->rc = rc;
            group[i]->done = 1;
        }
        store_busy = 0;
        pthread_cond_broadcast(&store_cv);
    }
    int rc = me->rc;
    pthread_mutex_unlock(&store_mu);
    return rc;
}

/* The applier thread: each process has one, with its own connection and its own copy of
 * the accounts (routing only). A request that stored an event wakes it; it waits GATHER_MS
 * so the events of a burst gather, then drains everything stored and not applied (by every
 * process: webhook_drain lets one applier at a time do it, in batches of APPLY_BATCH). It
 * also looks every SWEEP_EVERY seconds with no request (events stored before a crash or
 * restart, a failed apply) and applies statuses whose wamid has been recorded since. */
static pthread_mutex_t applier_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t applier_cv; /* on CLOCK_MONOTONIC: webhook_applier_start */
static int applier_kicked, applier_stop, applier_running;
static double last_stored; /* CLOCK_MONOTONIC seconds of this process's last stored event */
static pthread_t applier_thread;
static struct db *applier_db;

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether requests are arriving: this process stored one in the last BUSY_WINDOW_MS (the
 * traffic is spread over every process, so any of them sees a burst). */
static int requests_arriving(void)
{
    pthread_mutex_lock(&applier_mu);
    double t = last_stored;
    pthread_mutex_unlock(&applier_mu);
    return mono_now() - t < BUSY_WINDOW_MS / 1000.0;
}

/* What the applier applied, in /metrics (pregon_webhook_events_total by type). */
static void count_applied(const struct webhook_stats *st)
{
    static const char *kinds[] = {"status",  "status_duplicate", "status_unmatched",
                                  "message", "opt_out",          "opt_out_lift",
                                  "other"};
    int counts[] = {st->applied, st->duplicates, st->unmatched,           st->messages,
                    st->optouts, st->lifts,      st->other + st->unrouted};
    char labels[48];
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        if (!counts[k])
            continue;
        snprintf(labels, sizeof labels, "type=\"%s\"", kinds[k]);
        metrics_add("pregon_webhook_events_total", labels, counts[k]);
    }
    for (int k = 0; k < WH_PHASES; k++) {
        if (st->secs[k] <= 0)
            continue;
        snprintf(labels, sizeof labels, "phase=\"%s\"", webhook_phase_names[k]);
        metrics_add("pregon_webhook_apply_seconds_total", labels, st->secs[k]);
    }
}

/* The applier's own copy of the accounts (routing only; the applier thread alone uses it),
 * reloaded when they changed or are old: webhook_drain asks before each batch (one small
 * query), so an event for an account added a moment ago is never applied as unroutable. */
static struct account_list applier_acc;
static char applier_fp[128];
static time_t applier_loaded;

static int applier_refresh(void)
{
    char now_fp[128];
    time_t now = time(NULL);
    if (accounts_fingerprint(applier_db, now_fp, sizeof now_fp) < 0)
        return applier_loaded ? 0 : -1;
    if (applier_loaded && now - applier_loaded < ACCOUNTS_TTL && strcmp(now_fp, applier_fp) == 0)
        return 0;
    struct account_list fresh;
    if (accounts_load(applier_db, NULL, &fresh) != DB_OK)
        return applier_loaded ? 0 : -1;
    accounts_free(&applier_acc);
    applier_acc = fresh;
    applier_loaded = now;
    snprintf(applier_fp, sizeof applier_fp, "%s", now_fp);
    return 0;
}

static void *applier_main(void *arg)
{
    (void)arg;
    struct timespec last_look;
    clock_gettime(CLOCK_MONOTONIC, &last_look);
    pthread_mutex_lock(&applier_mu);
    while (!applier_stop) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int periodic = now.tv_sec - last_look.tv_sec >= SWEEP_EVERY;
        if (!applier_kicked && !periodic) {
            struct timespec until = last_look;
            until.tv_sec += SWEEP_EVERY;
            pthread_cond_timedwait(&applier_cv, &applier_mu, &until);
            continue;
        }
        int kicked = applier_kicked;
        pthread_mutex_unlock(&applier_mu);
        if (kicked) {
            struct timespec gather = {0, GATHER_MS * 1000000L};
            nanosleep(&gather, NULL);
        }
        pthread_mutex_lock(&applier_mu);
        applier_kicked = 0; /* what is stored from now on is after our look */
        pthread_mutex_unlock(&applier_mu);
        if (periodic)
            last_look = now;
        if (db_ensure(applier_db) == DB_OK && (applier_loaded || applier_refresh() == 0)) {
            struct webhook_stats st;
            int n = webhook_drain(applier_db, &applier_acc, APPLY_BATCH, requests_arriving,
                                  applier_refresh, &st);
            count_applied(&st);
            if (n < 0)
                log_warn("webhook applier: %s", db_error(applier_db));
            else if (n > 0 && log_enabled(LOG_DEBUG))
                log_debug("webhook applier: %d events applied: %d statuses, %d applied, "
                          "%d duplicates, %d unmatched, %d ignored, %d messages, %d unrouted, "
                          "%d other",
                          n, st.statuses, st.applied, st.duplicates, st.unmatched, st.ignored,
                          st.messages, st.unrouted, st.other);
            if (st.contended && !periodic) {
                /* Another process's applier holds the lock and takes our events too (it
                 * looks again after letting go): no need to ask again every GATHER_MS. */
                struct timespec back = {0, CONTENDED_MS * 1000000L};
                nanosleep(&back, NULL);
            }
            if (periodic) {
                /* Statuses that came before their wamid was recorded, known by now? */
                n = webhook_apply_waiting(applier_db, &st);
                count_applied(&st);
                if (n < 0)
                    log_warn("webhook applier: %s", db_error(applier_db));
            }
            metrics_flush(applier_db, 1.0);
        }
        pthread_mutex_lock(&applier_mu);
    }
    pthread_mutex_unlock(&applier_mu);
    metrics_flush(applier_db, 0);
    accounts_free(&applier_acc);
    applier_loaded = 0;
    return NULL;
}

int webhook_applier_start(struct app *app)
{
    webhook_apply_set_policy(app->cfg.worker_param_pause);
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&applier_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return -1;
    applier_db = db_open(&app->cfg);
    if (!applier_db) {
        pthread_cond_destroy(&applier_cv);
        return -1;
    }
    applier_stop = 0;
    applier_kicked = 1; /* a first look: events stored before this process started */
    /* Stop signals must reach the accepting thread (its accept() returns EINTR): the
     * applier starts with every signal blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&applier_thread, NULL, applier_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&applier_cv);
        db_close(applier_db);
        applier_db = NULL;
        return -1;
    }
    applier_running = 1;
    return 0;
}

void webhook_applier_stop(void)
{
    if (!applier_running)
        return;
    pthread_mutex_lock(&applier_mu);
    applier_stop = 1;
    pthread_cond_signal(&applier_cv);
    pthread_mutex_unlock(&applier_mu);
    pthread_join(applier_thread, NULL);
    pthread_cond_destroy(&applier_cv);
    applier_running = 0;
    db_close(applier_db);
    applier_db = NULL;
}

static void applier_kick(void)
{
    double now = mono_now();
    pthread_mutex_lock(&applier_mu);
    last_stored = now;
    if (!applier_kicked) {
        applier_kicked = 1;
        pthread_cond_signal(&applier_cv);
    }
    pthread_mutex_unlock(&applier_mu);
}

/* Ids of the accounts whose App Secret signed the body (several accounts may share an app).
 * Returns how many, or HMAC_MISSING / HMAC_MALFORMED / HMAC_MISMATCH. */
static int verify(const char *sig, const char *body, size_t len, long long *ids, size_t max)
{
    if (!sig || !*sig)
        return HMAC_MISSING;
    int n = 0, verdict = HMAC_MISMATCH;
    for (size_t i = 0; i < accounts.n && (size_t)n < max; i++) {
        const char *secret = accounts.v[i].app_secret;
        if (!secret)
            continue;
        int v = hmac_verify(sig, (const unsigned char *)secret, strlen(secret), body, len);
        if (v == HMAC_MALFORMED)
            return HMAC_MALFORMED;
        if (v == HMAC_OK) {
            ids[n++] = accounts.v[i].id;
            verdict = HMAC_OK;
        }
    }
    return verdict == HMAC_OK ? n : verdict;
}

static int known_waba(const char *waba)
{
    for (size_t i = 0; i < accounts.n; i++)
        if (strcmp(accounts.v[i].waba_id, waba) == 0)
            return 1;
    return 0;
}

/* 1 when some entry names a WABA our cached accounts don't have (an account added since). */
static int names_unknown_waba(json_object *payload)
{
    json_object *entries, *e, *id;
    if (!json_object_object_get_ex(payload, "entry", &entries) ||
        !json_object_is_type(entries, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(entries); i++) {
        e = json_object_array_get_idx(entries, i);
        if (json_object_is_type(e, json_type_object) && json_object_object_get_ex(e, "id", &id) &&
            !known_waba(json_object_get_string(id)))
            return 1;
    }
    return 0;
}

static int token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la == lb && la > 0 && sodium_memcmp(a, b, la) == 0;
}

void webhook_verify(struct request *req)
{
    char *mode = http_query_param(req->query, "hub.mode");
    char *token = http_query_param(req->query, "hub.verify_token");
    char *challenge = http_query_param(req->query, "hub.challenge");
    int ok = 0;
    if (mode && token && challenge && strcmp(mode, "subscribe") == 0 && *challenge &&
        strlen(challenge) <= 256) {
        pthread_mutex_lock(&accounts_mu);
        if (load_accounts(req->app, 0) < 0)
            http_error(req, 503, "database_unavailable", "try again", NULL);
        for (size_t i = 0; !req->status && i < accounts.n; i++)
            if (token_equal(token, accounts.v[i].verify_token))
                ok = 1;
        pthread_mutex_unlock(&accounts_mu);
    }
    if (!req->status) {
        if (ok)
            http_text(req, 200, "text/plain; charset=utf-8", challenge, strlen(challenge));
        else
            http_error(req, 403, "verification_failed", "wrong verify token or mode", NULL);
    }
    free(mode);
    free(token);
    free(challenge);
}

void webhook_receive(struct request *req)
{
    /* Runs on any of the process's request threads at once (main.c): it touches the shared
     * accounts under accounts_mu and the database only through store_grouped. */
    if (http_read_body(req, req->app->cfg.webhook_body_limit) < 0)
        return;
    const char *sig = http_env(req, "HTTP_X_HUB_SIGNATURE_256");
    pthread_mutex_lock(&accounts_mu);
    if (load_accounts(req->app, 0) < 0) {
        pthread_mutex_unlock(&accounts_mu);
        http_error(req, 503, "database_unavailable", "try again", NULL);
        return;
    }
    long long ids[64];
    int verdict = verify(sig, req->body, req->body_len, ids, 64);
    if (verdict == HMAC_MISMATCH && load_accounts(req->app, 1) == 0)
        verdict = verify(sig, req->body, req->body_len, ids, 64); /* a new app secret? */
    pthread_mutex_unlock(&accounts_mu);
    if (verdict < 0) {
        log_warn("webhook rejected from %s: %s signature",
                 req->remote_addr ? req->remote_addr : "-",
                 verdict == HMAC_MISSING     ? "missing"
                 : verdict == HMAC_MALFORMED ? "malformed"
                                             : "wrong");
        metrics_add("pregon_webhook_requests_total", "result=\"rejected\"", 1);
        http_error(req, 401, "invalid_signature",
                   verdict == HMAC_MISSING ? "X-Hub-Signature-256 is missing"
                                           : "X-Hub-Signature-256 does not match the body",
                   NULL);
        return;
    }
    json_object *payload = jsonparse_whole(req->body, req->body_len, 0, NULL, NULL);
    if (!payload || !json_object_is_type(payload, json_type_object)) {
        json_object_put(payload);
        http_error(req, 400, "invalid_json", "the signed body is not a JSON object", NULL);
        return;
    }
    pthread_mutex_lock(&accounts_mu);
    if (names_unknown_waba(payload))
        load_accounts(req->app, 1); /* the applier reloads its own copy when they change */
    pthread_mutex_unlock(&accounts_mu);
    int priority = webhook_priority(payload); /* opt-outs and account events go ahead */
    json_object_put(payload);
    struct webhook_src src = {.accounts = NULL, .verified = ids, .nverified = (size_t)verdict};
    long long event_id = 0;
    struct store_req me = {.item = {.src = &src,
                                    .signature = sig,
                                    .body = req->body,
                                    .len = req->body_len,
                                    .priority = priority,
                                    .event_id = &event_id}};
    if (store_grouped(req->app, &me) != DB_OK) {
        /* Not stored: a non-200 makes Meta deliver it again later. */
        http_error(req, 503, "database_unavailable", "could not store the event", NULL);
        return;
    }
    /* Stored and committed: Meta gets its 200 whatever happens next; the applier takes it. */
    applier_kick();
    metrics_add("pregon_webhook_requests_total", "result=\"stored\"", 1);
    if (log_enabled(LOG_DEBUG))
        log_debug("webhook event %lld stored", event_id);
    static const char ok[] = "{\"ok\":true}";
    http_text(req, 200, "application/json", ok, sizeof ok - 1);
}
