/* The outbound events' deliverer (docs/api.md, Hooks; lib/hooks.h): its own thread, database
 * connection and libcurl multi handle, so sending never waits for a hook's receiver. One
 * deliverer at a time across every worker (GET_LOCK, released by the server when the
 * connection dies: a killed worker's role is taken over by another). Per hook, one POST in
 * flight and the events in outbox order, so a hook sees a campaign's events in the order they
 * were committed; an event is marked delivered only after a 2xx, so a crash between the POST
 * and the mark sends it again (at least once; receivers deduplicate on the event id). */
#include <curl/curl.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "hooks.h"
#include "log.h"
#include "secret.h"
#include "worker.h"

#define HOOKS_INFLIGHT 8   /* hooks posted to at once */
#define HOOKS_BATCH    100 /* events in one POST */
/* recipient.status goes at most once a second, so one POST carries what a second of sending
 * at Meta's highest rate makes (1,000 messages/s, three statuses each) */
#define HOOKS_STATUS_BATCH 5000
#define HOOKS_LOOK_MS      200 /* how often the outbox is looked at */
#define HOOKS_PRUNE_S      60
#define HOOKS_RESP_MAX     4096
#define HOOKS_LOCK_NAME    "pregon_hooks_deliver"

atomic_int hooks_stop;

/* One POST in flight. */
struct hpost {
    struct hpost *next;
    long long hook_id;
    CURL *easy;
    struct curl_slist *hdrs, *resolve;
    char *body;
    char *ids; /* the events' ids, a JSON array */
    size_t idslen;
    long long first, last;
    int nevents, attempt, is_status;
    double t0;
    size_t got;
    char errbuf[CURL_ERROR_SIZE];
};

struct hstate {
    struct worker *w;
    struct db *db;
    CURLM *multi;
    struct hpost *posts;
    int nposts;
    enum hooks_targets policy;
    /* the settings, copied at start: a SIGHUP reload (claimer thread) never races with us */
    int connect_ms, timeout_ms, retry_for_s, backoff_max_s, keep_days;
    int own_lock;
    unsigned long long reconnects;
    double last_look, last_prune, last_lock_check;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    struct hpost *hp = ud;
    (void)p;
    hp->got += sz * n;
    return hp->got > HOOKS_RESP_MAX * 16 ? 0 : sz * n; /* a receiver may not stream forever */
}

/* The last check before a connection: whatever the name resolved to, never a refused address
 * (a second guard behind the pinned address, and the only one for proxies' tricks). */
static curl_socket_t open_checked(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    const enum hooks_targets *policy = ud;
    (void)purpose;
    if (!hooks_addr_allowed(hooks_addr_classify(&a->addr), *policy))
        return CURL_SOCKET_BAD;
    return socket(a->family, a->socktype, a->protocol);
}

static int have_lock(struct hstate *h)
{
    double now = mono();
    if (db_reconnects(h->db) != h->reconnects) {
        h->reconnects = db_reconnects(h->db);
        h->own_lock = 0; /* a new connection holds no lock */
    }
    if (h->own_lock && now - h->last_lock_check < 5)
        return 1;
    h->last_lock_check = now;
    struct db_rows r;
    const char *sql = h->own_lock ? "SELECT IS_USED_LOCK('" HOOKS_LOCK_NAME "') = CONNECTION_ID()"
                                  : "SELECT GET_LOCK('" HOOKS_LOCK_NAME "', 0)";
    int rc = db_query(h->db, sql, DB_NOARGS, &r);
    h->own_lock = rc == DB_OK && r.nrows && db_int(&r, 0, 0, 0) == 1;
    db_rows_free(&r);
    return h->own_lock;
}

static int in_flight(const struct hstate *h, long long hook_id)
{
    for (const struct hpost *p = h->posts; p; p = p->next)
        if (p->hook_id == hook_id)
            return 1;
    return 0;
}

/* Records one POST's outcome: the events delivered (or their attempt counted), the hook's
 * failure state and backoff (disabled after hooks_retry_for_s of failures), the delivery log.
 * One transaction, retried on deadlock. */
static void record(struct hstate *h, struct hpost *p, int ok, long status, const char *error)
{
    /* 1 s, 2 s, 4 s, ... up to hooks_backoff_max_s, +-20 % so hooks failing together spread */
    double backoff = 1.0;
    for (int i = 1; i < p->attempt && backoff < h->backoff_max_s; i++)
        backoff *= 2;
    if (backoff > h->backoff_max_s)
        backoff = h->backoff_max_s > 0 ? h->backoff_max_s : 1;
    backoff *= 0.8 + 0.4 * (double)(randombytes_uniform(1000)) / 1000.0;
    long long backoff_us = (long long)(backoff * 1e6);
    unsigned ms = (unsigned)((mono() - p->t0) * 1000);
    char err[512];
    snprintf(err, sizeof err, "%s", error ? error : "");
    for (int tries = 0; tries < 5; tries++) {
        int rc = db_begin(h->db);
        if (rc == DB_OK)
            rc = db_exec(
                h->db,
                /* the ids as a table joined on the primary key (no scan, whatever the count) */
                "UPDATE JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) j "
                "STRAIGHT_JOIN hook_outbox o FORCE INDEX (PRIMARY) ON o.id = j.id "
                "SET o.attempts = o.attempts + 1, "
                "o.delivered_at = IF(?, NOW(3), o.delivered_at)",
                DB_ARGS(DB_STR(p->ids), DB_INT(ok)), NULL);
        if (rc == DB_OK && ok)
            rc = db_exec(h->db,
                         "UPDATE hooks SET failing_since = NULL, fail_count = 0, retry_at = NULL, "
                         "last_error = NULL, last_ok_at = NOW(3), "
                         "last_status_post_at = IF(?, NOW(3), last_status_post_at) WHERE id = ?",
                         DB_ARGS(DB_INT(p->is_status), DB_INT(p->hook_id)), NULL);
        else if (rc == DB_OK)
            /* MariaDB assigns left to right: the later ones see failing_since set */
            rc = db_exec(
                h->db,
                "UPDATE hooks SET failing_since = COALESCE(failing_since, NOW(3)), "
                "fail_count = fail_count + 1, "
                "retry_at = NOW(3) + INTERVAL ? MICROSECOND, last_error = ?, "
                "last_status_post_at = IF(?, NOW(3), last_status_post_at), "
                "disabled_reason = IF(enabled = 1 AND failing_since <= NOW(3) - INTERVAL ? SECOND, "
                "CONCAT('no successful delivery since ', DATE_FORMAT(failing_since, "
                "'%Y-%m-%d %H:%i:%s'), ' UTC (', ?, ' s of tries); last error: ', ?), "
                "disabled_reason), "
                "enabled = IF(failing_since <= NOW(3) - INTERVAL ? SECOND, 0, enabled) "
                "WHERE id = ?",
                DB_ARGS(DB_INT(backoff_us), DB_STR(err), DB_INT(p->is_status),
                        DB_INT(h->retry_for_s), DB_INT(h->retry_for_s), DB_STR(err),
                        DB_INT(h->retry_for_s), DB_INT(p->hook_id)),
                NULL);
        if (rc == DB_OK)
            rc = db_exec(h->db,
                         "INSERT INTO hook_deliveries (hook_id, attempt, events, first_event_id, "
                         "last_event_id, ok, http_status, error, duration_ms) "
                         "SELECT id, ?, ?, ?, ?, ?, ?, ?, ? FROM hooks WHERE id = ?",
                         DB_ARGS(DB_INT(p->attempt), DB_INT(p->nevents), DB_INT(p->first),
                                 DB_INT(p->last), DB_INT(ok), status ? DB_INT(status) : DB_NULL,
                                 error ? DB_STR(err) : DB_NULL, DB_INT(ms), DB_INT(p->hook_id)),
                         NULL);
        if (rc == DB_OK)
            rc = db_commit(h->db);
        if (rc == DB_OK)
            return;
        db_rollback(h->db);
        if (rc != DB_ERR_RETRY && rc != DB_ERR_CONN)
            break;
    }
    /* Not recorded: the events stay undelivered and go again (at least once). */
    log_warn("hooks: could not record delivery to hook %lld: %s", p->hook_id, db_error(h->db));
}

static void post_free(struct hpost *p)
{
    if (!p)
        return;
    if (p->easy)
        curl_easy_cleanup(p->easy);
    curl_slist_free_all(p->hdrs);
    curl_slist_free_all(p->resolve);
    free(p->body);
    free(p->ids);
    free(p);
}

/* The POST's body from outbox rows [from, to) of r (id, event, campaign_id, data,
 * created_at). Caller frees. */
static char *post_body(struct hpost *p, const struct db_rows *r, size_t from, size_t to)
{
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    if (!o || !arr) {
        json_object_put(o);
        json_object_put(arr);
        return NULL;
    }
    size_t at = 1;
    p->idslen = (to - from) * 21 + 3;
    if (!(p->ids = malloc(p->idslen))) {
        json_object_put(o);
        json_object_put(arr);
        return NULL;
    }
    strcpy(p->ids, "[]");
    for (size_t i = from; i < to; i++) {
        json_object *e = json_object_new_object();
        long long id = db_int(r, i, 0, 0);
        json_object_object_add(e, "id", json_object_new_int64(id));
        json_object_object_add(e, "type", json_object_new_string(db_val(r, i, 1)));
        json_object_object_add(e, "created_at", json_object_new_string(db_val(r, i, 4)));
        json_object_object_add(e, "campaign_id",
                               db_val(r, i, 2) ? json_object_new_int64(db_int(r, i, 2, 0)) : NULL);
        json_object_object_add(e, "data", json_tokener_parse(db_val(r, i, 3)));
        json_object_array_add(arr, e);
        at += (size_t)snprintf(p->ids + at, p->idslen - at, "%s%lld]", i > from ? "," : "", id) - 1;
        if (i == from)
            p->first = id;
        p->last = id;
    }
    p->nevents = (int)(to - from);
    json_object_object_add(o, "hook_id", json_object_new_int64(p->hook_id));
    json_object_object_add(o, "attempt", json_object_new_int(p->attempt));
    /* inside the signed body: a receiver refuses old or replayed deliveries */
    json_object_object_add(o, "timestamp", json_object_new_int64((long long)time(NULL)));
    json_object_object_add(o, "events", arr);
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

/* Prepares the libcurl handle of p for url (address checked and pinned). 0, or -1 with why in
 * err (a refused address: recorded as a failed delivery, no request made). */
static int post_prepare(struct hstate *h, struct hpost *p, const char *url, const char *secret,
                        char *err, size_t errlen)
{
    char pin[512], sig[HOOKS_SIG_LEN], hdr[128];
    if (hooks_url_check(url, h->policy, pin, sizeof pin, err, errlen) < 0)
        return -1;
    if (hooks_sign(secret, p->body, strlen(p->body), sig) < 0) {
        snprintf(err, errlen, "cannot sign");
        return -1;
    }
    snprintf(hdr, sizeof hdr, "X-Pregon-Signature: %s", sig);
    struct curl_slist *t;
    if (!(p->easy = curl_easy_init()) ||
        !(t = curl_slist_append(NULL, "Content-Type: application/json")) || !(p->hdrs = t) ||
        !(t = curl_slist_append(p->hdrs, hdr)) || !(p->hdrs = t) ||
        !(t = curl_slist_append(p->hdrs, "Expect:")) || !(p->hdrs = t) ||
        (pin[0] && !(p->resolve = curl_slist_append(NULL, pin)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    CURL *e = p->easy;
    if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, p->body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(p->body)) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->hdrs) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_USERAGENT, "pregon-hooks/1") != CURLE_OK ||
        (p->resolve && curl_easy_setopt(e, CURLOPT_RESOLVE, p->resolve) != CURLE_OK) ||
        curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_checked) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &h->policy) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)h->connect_ms) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, p) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PRIVATE, p) != CURLE_OK) {
        snprintf(err, errlen, "cannot set up the request");
        return -1;
    }
    return 0;
}

/* The next POST of one hook: its oldest undelivered events, a run of one kind
 * (recipient.status runs at most one a second). */
static void start_hook(struct hstate *h, long long hook_id, const char *url, const char *blob,
                       size_t bloblen, int attempt, int status_recent)
{
    struct db_rows r;
    if (status_recent) { /* a status run must wait: look at the head alone */
        int wait = 1;
        if (db_query(h->db,
                     "SELECT event = 'recipient.status' FROM hook_outbox WHERE hook_id = ? AND "
                     "delivered_at IS NULL ORDER BY id LIMIT 1",
                     DB_ARGS(DB_INT(hook_id)), &r) == DB_OK &&
            r.nrows)
            wait = db_int(&r, 0, 0, 1) != 0;
        db_rows_free(&r);
        if (wait)
            return;
    }
    if (db_query(h->db,
                 "SELECT id, event, campaign_id, data, DATE_FORMAT(created_at, "
                 "'%Y-%m-%dT%H:%i:%s.%fZ') FROM hook_outbox WHERE hook_id = ? AND delivered_at "
                 "IS NULL ORDER BY id LIMIT 5000", /* HOOKS_STATUS_BATCH */
                 DB_ARGS(DB_INT(hook_id)), &r) != DB_OK ||
        r.nrows == 0) {
        db_rows_free(&r);
        return;
    }
    int is_status = strcmp(db_val(&r, 0, 1), "recipient.status") == 0;
    if (is_status && status_recent) {
        db_rows_free(&r);
        return;
    }
    size_t to = 1, max = is_status ? HOOKS_STATUS_BATCH : HOOKS_BATCH;
    while (to < r.nrows && to < max &&
           (strcmp(db_val(&r, to, 1), "recipient.status") == 0) == is_status)
        to++;
    struct hpost *p = calloc(1, sizeof *p);
    char *secret = secret_open(h->w->key, (const unsigned char *)blob, bloblen);
    char err[512] = "";
    if (p) {
        p->hook_id = hook_id;
        p->attempt = attempt;
        p->is_status = is_status;
        p->t0 = mono();
        p->body = post_body(p, &r, 0, to);
    }
    db_rows_free(&r);
    if (!p || !p->body) {
        post_free(p);
        secret_free(secret);
        return;
    }
    if (!secret)
        snprintf(err, sizeof err, "the hook's secret cannot be read (secrets key changed?)");
    if (secret && post_prepare(h, p, url, secret, err, sizeof err) == 0 &&
        curl_multi_add_handle(h->multi, p->easy) == CURLM_OK) {
        secret_free(secret);
        p->next = h->posts;
        h->posts = p;
        h->nposts++;
        return;
    }
    secret_free(secret);
    if (!err[0])
        snprintf(err, sizeof err, "cannot start the request");
    record(h, p, 0, 0, err);
    post_free(p);
}

/* Starts a POST for each hook with undelivered events that is not waiting for a retry. */
static void look(struct hstate *h)
{
    struct db_rows r;
    if (db_query(h->db,
                 "SELECT h.id, h.url, h.secret_enc, h.fail_count + 1, "
                 "COALESCE(h.last_status_post_at > NOW(3) - INTERVAL 1 SECOND, 0) FROM hooks h "
                 "WHERE h.enabled = 1 AND (h.retry_at IS NULL OR h.retry_at <= NOW(3)) AND "
                 "EXISTS (SELECT 1 FROM hook_outbox o WHERE o.hook_id = h.id AND "
                 "o.delivered_at IS NULL) ORDER BY h.id",
                 DB_NOARGS, &r) != DB_OK) {
        db_rows_free(&r);
        return;
    }
    for (size_t i = 0; i < r.nrows && h->nposts < HOOKS_INFLIGHT; i++) {
        long long id = db_int(&r, i, 0, 0);
        if (in_flight(h, id))
            continue;
        start_hook(h, id, db_val(&r, i, 1), db_val(&r, i, 2), r.len[i * r.ncols + 2],
                   (int)db_int(&r, i, 3, 1), (int)db_int(&r, i, 4, 0));
    }
    db_rows_free(&r);
}

static void finish(struct hstate *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct hpost *p = NULL, **pp;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&p);
        CURLcode cc = m->data.result;
        long status = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(h->multi, m->easy_handle);
        for (pp = &h->posts; *pp && *pp != p; pp = &(*pp)->next)
            ;
        if (*pp) {
            *pp = p->next;
            h->nposts--;
        }
        char err[512] = "";
        int ok = cc == CURLE_OK && status >= 200 && status < 300;
        if (cc != CURLE_OK)
            snprintf(err, sizeof err, "%s", p->errbuf[0] ? p->errbuf : curl_easy_strerror(cc));
        else if (!ok)
            snprintf(err, sizeof err, "HTTP %ld", status);
        record(h, p, ok, cc == CURLE_OK ? status : 0, ok ? NULL : err);
        if (!ok)
            log_warn("hooks: delivery to hook %lld failed (attempt %d): %s", p->hook_id, p->attempt,
                     err);
        post_free(p);
    }
}

/* Delivered events and the delivery log are kept hooks_keep_days; a bounded bite at a time. */
static void prune(struct hstate *h)
{
    int days = h->keep_days > 0 ? h->keep_days : 7;
    if (db_exec(h->db,
                "DELETE FROM hook_outbox WHERE delivered_at < NOW(3) - INTERVAL ? DAY LIMIT 5000",
                DB_ARGS(DB_INT(days)), NULL) != DB_OK ||
        db_exec(h->db, "DELETE FROM hook_deliveries WHERE at < NOW(3) - INTERVAL ? DAY LIMIT 5000",
                DB_ARGS(DB_INT(days)), NULL) != DB_OK)
        log_warn("hooks: pruning failed: %s", db_error(h->db));
}

void *hooks_main(void *arg)
{
    struct hstate h = {.w = arg};
    int pol = hooks_targets_parse(h.w->cfg.hooks_allow_targets);
    if (pol < 0)
        log_error("hooks_allow_targets '%s' is not public, loopback or private; using public",
                  h.w->cfg.hooks_allow_targets);
    h.policy = pol < 0 ? HOOKS_TARGETS_PUBLIC : (enum hooks_targets)pol;
    h.connect_ms = h.w->cfg.http_connect_timeout_ms;
    h.timeout_ms = h.w->cfg.hooks_timeout_ms;
    h.retry_for_s = h.w->cfg.hooks_retry_for_s;
    h.backoff_max_s = h.w->cfg.hooks_backoff_max_s;
    h.keep_days = h.w->cfg.hooks_keep_days;
    h.db = db_open(&h.w->cfg);
    h.multi = curl_multi_init();
    if (!h.db || !h.multi) {
        log_error("hooks: cannot start the deliverer (out of memory)");
        db_close(h.db);
        if (h.multi)
            curl_multi_cleanup(h.multi);
        return NULL;
    }
    h.reconnects = db_reconnects(h.db);
    while (!atomic_load(&hooks_stop) && !atomic_load(&worker_sig_stop)) {
        double now = mono();
        if (now - h.last_look >= HOOKS_LOOK_MS / 1000.0) {
            h.last_look = now;
            if (db_ensure(h.db) == DB_OK && have_lock(&h)) {
                look(&h);
                if (now - h.last_prune >= HOOKS_PRUNE_S) {
                    h.last_prune = now;
                    prune(&h);
                }
            }
        }
        int running;
        curl_multi_perform(h.multi, &running);
        finish(&h);
        curl_multi_poll(h.multi, NULL, 0, HOOKS_LOOK_MS / 2, NULL);
    }
    /* Stopping: what is in flight is dropped unrecorded and goes again (at least once). */
    while (h.posts) {
        struct hpost *p = h.posts;
        h.posts = p->next;
        curl_multi_remove_handle(h.multi, p->easy);
        post_free(p);
    }
    curl_multi_cleanup(h.multi);
    db_close(h.db);
    return NULL;
}
