/* /webhook: Meta's verification handshake and the signed event deliveries.
 *
 * A POST is verified over the exact raw body against the App Secret of every configured
 * account (several accounts may share one endpoint), stored durably, and only then answered
 * 200; applying it happens after storing, so nothing Meta sent can be lost. */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "app.h"
#include "db.h"
#include "hmac.h"
#include "log.h"
#include "metrics.h"
#include "webhook_apply.h"

#define ACCOUNTS_TTL 15 /* seconds: a new app secret is picked up that fast */
#define SWEEP_EVERY  2  /* seconds between the applier thread's looks for waiting events */

static struct account_list accounts;
static time_t accounts_loaded;

/* What changes when an account is added, removed or edited. */
static int accounts_fingerprint(struct request *req, char *out, size_t len)
{
    struct db_rows r;
    if (db_query(req->app->db,
                 "SELECT CONCAT(COUNT(*), '/', COALESCE(MAX(id), 0), '/', "
                 "COALESCE(MAX(updated_at), '')) FROM wa_accounts",
                 DB_NOARGS, &r) != DB_OK)
        return -1;
    snprintf(out, len, "%s", r.nrows && db_val(&r, 0, 0) ? db_val(&r, 0, 0) : "");
    db_rows_free(&r);
    return 0;
}

/* Loads the accounts when the cache is old; with check, also when they changed since (a
 * signature or an entry no cached account explains: maybe an account added a moment ago). */
static int load_accounts(struct request *req, int check)
{
    static char loaded_fp[128];
    char fp[128] = "";
    time_t now = time(NULL);
    if (accounts_loaded && now - accounts_loaded < ACCOUNTS_TTL) {
        if (!check || accounts_fingerprint(req, fp, sizeof fp) < 0 || strcmp(fp, loaded_fp) == 0)
            return 0;
    }
    if (!fp[0] && accounts_fingerprint(req, fp, sizeof fp) < 0)
        fp[0] = '\0';
    struct account_list fresh;
    if (accounts_load(req->app->db, req->app->have_key ? &req->app->key : NULL, &fresh) != DB_OK) {
        log_error("webhook: cannot load accounts: %s", db_error(req->app->db));
        return accounts_loaded ? 0 : -1; /* keep serving with what we had */
    }
    accounts_free(&accounts);
    accounts = fresh;
    accounts_loaded = now;
    snprintf(loaded_fp, sizeof loaded_fp, "%s", fp);
    return 0;
}

/* The applier thread: each process has one, with its own connection and its own copy of
 * the accounts (routing only). It drains stored events a request left waiting (a burst
 * larger than a request takes, a failed apply, events stored before a crash or restart) and
 * statuses whose wamid has been recorded since: at once when a request asks, and every
 * SWEEP_EVERY seconds, so the tail of a burst never waits for the next delivery. */
static pthread_mutex_t applier_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t applier_cv = PTHREAD_COND_INITIALIZER;
static int applier_kicked, applier_started;
static struct db *applier_db;
static struct account_list applier_accounts;

static void *applier_main(void *arg)
{
    (void)arg;
    time_t loaded = 0;
    for (;;) {
        pthread_mutex_lock(&applier_mu);
        if (!applier_kicked) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += SWEEP_EVERY;
            pthread_cond_timedwait(&applier_cv, &applier_mu, &ts);
        }
        applier_kicked = 0;
        pthread_mutex_unlock(&applier_mu);
        if (db_ensure(applier_db) != DB_OK)
            continue;
        time_t now = time(NULL);
        if (!loaded || now - loaded >= ACCOUNTS_TTL) {
            struct account_list fresh;
            if (accounts_load(applier_db, NULL, &fresh) == DB_OK) {
                accounts_free(&applier_accounts);
                applier_accounts = fresh;
                loaded = now;
            }
        }
        if (!loaded)
            continue;
        struct webhook_stats st;
        int n = webhook_sweep(applier_db, &applier_accounts, 0, 0, &st);
        if (n > 0)
            log_info("webhook applier: %d stored events applied", n);
        else if (n < 0)
            log_warn("webhook applier: %s", db_error(applier_db));
    }
    return NULL;
}

static void applier_kick(struct request *req)
{
    pthread_mutex_lock(&applier_mu);
    if (!applier_started) {
        applier_started = 1;
        applier_db = db_open(&req->app->cfg);
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (!applier_db || pthread_create(&t, &at, applier_main, NULL) != 0)
            log_error("webhook: cannot start the applier thread");
        pthread_attr_destroy(&at);
    }
    applier_kicked = 1;
    pthread_cond_signal(&applier_cv);
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
        strlen(challenge) <= 256 && app_need_db(req) == 0 && load_accounts(req, 0) == 0) {
        for (size_t i = 0; i < accounts.n; i++)
            if (token_equal(token, accounts.v[i].verify_token))
                ok = 1;
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
    if (app_need_db(req) < 0)
        return;
    if (http_read_body(req, req->app->cfg.webhook_body_limit) < 0)
        return;
    const char *sig = http_env(req, "HTTP_X_HUB_SIGNATURE_256");
    if (load_accounts(req, 0) < 0) {
        http_error(req, 503, "database_unavailable", "try again", NULL);
        return;
    }
    long long ids[64];
    int verdict = verify(sig, req->body, req->body_len, ids, 64);
    if (verdict == HMAC_MISMATCH && load_accounts(req, 1) == 0)
        verdict = verify(sig, req->body, req->body_len, ids, 64); /* a new app secret? */
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
    json_tokener *tok = json_tokener_new();
    json_object *payload = tok ? json_tokener_parse_ex(tok, req->body, (int)req->body_len) : NULL;
    int complete = tok && json_tokener_get_error(tok) == json_tokener_success;
    size_t end = tok ? json_tokener_get_parse_end(tok) : 0;
    json_tokener_free(tok);
    for (; complete && end < req->body_len; end++)
        if (req->body[end] != ' ' && req->body[end] != '\t' && req->body[end] != '\r' &&
            req->body[end] != '\n')
            complete = 0;
    if (!payload || !complete || !json_object_is_type(payload, json_type_object)) {
        json_object_put(payload);
        http_error(req, 400, "invalid_json", "the signed body is not a JSON object", NULL);
        return;
    }
    if (names_unknown_waba(payload))
        load_accounts(req, 1);
    struct webhook_src src = {.accounts = &accounts, .verified = ids, .nverified = (size_t)verdict};
    long long event_id = 0;
    if (webhook_store(req->app->db, &src, sig, req->body, req->body_len, &event_id) != DB_OK) {
        /* Not stored: a non-200 makes Meta deliver it again later. */
        json_object_put(payload);
        log_error("webhook: cannot store event: %s", db_error(req->app->db));
        http_error(req, 503, "database_unavailable", "could not store the event", NULL);
        return;
    }
    json_object_put(payload);
    /* Stored: Meta gets its 200 whatever happens next. Apply it with whatever else is
     * waiting, unless another process is already applying (then it takes ours too). */
    struct webhook_stats st;
    int n = webhook_apply_queue(req->app->db, &accounts, &st);
    if (n < 0 || st.backlog || !applier_started)
        applier_kick(req); /* the first request also starts it: events from before a restart */
    metrics_add("pregon_webhook_requests_total", "result=\"stored\"", 1);
    if (n > 0) {
        static const char *kinds[] = {"status",  "status_duplicate", "status_unmatched",
                                      "message", "opt_out",          "opt_out_lift",
                                      "other"};
        int counts[] = {st.applied, st.duplicates, st.unmatched,          st.messages,
                        st.optouts, st.lifts,      st.other + st.unrouted};
        char labels[48];
        for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
            if (!counts[k])
                continue;
            snprintf(labels, sizeof labels, "type=\"%s\"", kinds[k]);
            metrics_add("pregon_webhook_events_total", labels, counts[k]);
        }
    }
    if (n < 0)
        log_warn("webhook event %lld stored, not applied yet: %s", event_id,
                 db_error(req->app->db));
    else if (log_enabled(LOG_DEBUG))
        log_debug("webhook event %lld stored; %d events applied: %d statuses, %d applied, "
                  "%d duplicates, %d unmatched, %d ignored, %d messages, %d unrouted, %d other",
                  event_id, n, st.statuses, st.applied, st.duplicates, st.unmatched, st.ignored,
                  st.messages, st.unrouted, st.other);
    static const char ok[] = "{\"ok\":true}";
    http_text(req, 200, "application/json", ok, sizeof ok - 1);
}
