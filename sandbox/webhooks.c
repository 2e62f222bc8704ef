/* Status webhooks, posted like Meta does: each accepted message walks its statuses (sent,
 * delivered, read, or one failed) webhook_delay_ms apart. Messages wait in a min-heap keyed
 * by when their next status is due; dispatcher threads (one curl handle each, kept alive)
 * take every due status, up to BATCH_MAX, group them per phone number id into one signed
 * POST, and on a non-200 answer put them back with exponential backoff (capped at
 * faults.webhook_backoff_max_ms), bounded by webhook_tries (the option, or faults.webhook_tries:
 * Meta keeps trying for days). A message holds one heap slot at a time, so its statuses go out in
 * order. */
#include "sandbox.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#define BATCH_MAX        200
#define BACKOFF_FIRST_MS 250u
#define ANSWER_LOG_MAX   300

struct whmsg {
    uint64_t due; /* monotonic ms */
    uint64_t order;
    uint64_t gen;
    uint64_t wamid_ctr;
    uint64_t to_packed;
    char *callback; /* NULL = none */
    const char *category;
    int fail_code;
    unsigned delay_ms;
    uint16_t phone_idx;
    uint8_t statuses[SB_MAX_STATUSES];
    uint8_t nstatuses, next;
    uint32_t attempt;
};

struct worker {
    pthread_t thread;
    CURL *curl;
    bool started;
    uint64_t last_log_ms;
};

struct answer {
    char *p;
    size_t len, max;
};

static pthread_mutex_t wh_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wh_wake; /* dispatchers: work or a new earliest due time */
static pthread_cond_t wh_idle; /* flush waiter: something finished */
static struct whmsg **heap;
static size_t hn, hcap;
static uint64_t order_next, gen;
static size_t in_flight; /* statuses being posted right now */
static bool flushing, stopping;
static atomic_int abort_transfers;
static struct worker *workers;
static unsigned nworkers;

/* counters since start or the last reset (under wh_lock) */
static uint64_t st_posted, st_events, st_failed, st_dropped, st_overflow, st_pending;

/* ---- heap ----------------------------------------------------------------------------- */

static bool earlier(const struct whmsg *a, const struct whmsg *b)
{
    return a->due < b->due || (a->due == b->due && a->order < b->order);
}

static int heap_push(struct whmsg *m)
{
    if (hn == hcap) {
        size_t ncap = hcap ? hcap * 2 : 1024;
        struct whmsg **nh = realloc(heap, ncap * sizeof *nh);
        if (!nh)
            return -1;
        heap = nh;
        hcap = ncap;
    }
    size_t i = hn++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(m, heap[parent]))
            break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = m;
    return 0;
}

static struct whmsg *heap_pop(void)
{
    struct whmsg *top = heap[0], *last = heap[--hn];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= hn)
            break;
        if (c + 1 < hn && earlier(heap[c + 1], heap[c]))
            c++;
        if (!earlier(heap[c], last))
            break;
        heap[i] = heap[c];
        i = c;
    }
    if (hn)
        heap[i] = last;
    return top;
}

static void msg_free(struct whmsg *m)
{
    if (m) {
        free(m->callback);
        free(m);
    }
}

/* ---- scheduling ----------------------------------------------------------------------- */

static void wh_push(struct whmsg *m, int count);

/* A copy of m's statuses, shuffled, a little later: Meta may post a status twice and out
 * of order (webhook_duplicate). NULL when out of memory. */
static struct whmsg *wh_dup(const struct whmsg *m)
{
    struct whmsg *d = malloc(sizeof *d);
    if (!d)
        return NULL;
    *d = *m;
    d->callback = NULL;
    if (m->callback && !(d->callback = strdup(m->callback))) {
        free(d);
        return NULL;
    }
    for (int i = d->nstatuses - 1; i > 0; i--) {
        int k = (int)randombytes_uniform((uint32_t)i + 1);
        uint8_t t = d->statuses[i];
        d->statuses[i] = d->statuses[k];
        d->statuses[k] = t;
    }
    d->due += randombytes_uniform(2 * (m->delay_ms ? m->delay_ms : 100) + 1);
    return d;
}

void sb_wh_schedule(const struct sb_wh_new *n)
{
    struct whmsg *m = calloc(1, sizeof *m);
    int count = n->fail_code ? 1 : n->nstatuses;

    if (count == 0) {
        free(m);
        return;
    }
    if (m && n->callback && !(m->callback = malloc(n->callback_len + 1))) {
        free(m);
        m = NULL;
    }
    if (m) {
        if (n->callback) {
            memcpy(m->callback, n->callback, n->callback_len);
            m->callback[n->callback_len] = '\0';
        }
        m->wamid_ctr = n->wamid_ctr;
        m->to_packed = n->to_packed;
        m->category = n->category;
        m->fail_code = n->fail_code;
        m->delay_ms = n->delay_ms;
        m->phone_idx = (uint16_t)n->phone_idx;
        if (n->fail_code) {
            m->statuses[0] = SB_ST_FAILED;
            m->nstatuses = 1;
        } else {
            memcpy(m->statuses, n->statuses, (size_t)n->nstatuses);
            m->nstatuses = (uint8_t)n->nstatuses;
        }
        m->due = sb_mono_ms() + n->delay_ms;
    }
    double dup = m ? sb_cfg_webhook_dup_percent() : 0;
    struct whmsg *d =
        dup > 0 && randombytes_uniform(1000000) < (uint32_t)(dup * 10000.0) ? wh_dup(m) : NULL;
    wh_push(m, count);
    if (d)
        wh_push(d, count);
}

static void wh_push(struct whmsg *m, int count)
{
    pthread_mutex_lock(&wh_lock);
    if (!m || stopping || hn >= sb_opts.webhook_queue_max) {
        /* never silently: the overflow is counted and shows in /_sandbox/stats */
        st_overflow += (uint64_t)count;
        pthread_mutex_unlock(&wh_lock);
        msg_free(m);
        return;
    }
    m->gen = gen;
    m->order = order_next++;
    if (heap_push(m) < 0) {
        st_overflow += (uint64_t)count;
        pthread_mutex_unlock(&wh_lock);
        msg_free(m);
        return;
    }
    st_pending += (uint64_t)count;
    if (heap[0] == m)
        pthread_cond_signal(&wh_wake);
    pthread_mutex_unlock(&wh_lock);
}

/* ---- posting -------------------------------------------------------------------------- */

static size_t answer_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct answer *a = userdata;
    size_t n = size * nmemb, take = n;

    if (a->len + take > a->max)
        take = a->max - a->len;
    if (take) {
        char *np = realloc(a->p, a->len + take + 1);
        if (!np)
            return 0;
        a->p = np;
        memcpy(a->p + a->len, data, take);
        a->len += take;
        a->p[a->len] = '\0';
    }
    return n; /* the rest is read and ignored */
}

static int abort_check(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)clientp, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return atomic_load(&abort_transfers);
}

static void sign(const char *secret, const char *body, size_t len, char out[80])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];

    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, 80 - 7, mac, sizeof mac);
}

static void setup_handle(CURL *c)
{
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "facebookexternalua");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, answer_write);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_check);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
}

static struct curl_slist *post_headers(const char *signature)
{
    struct curl_slist *h = NULL, *t;
    const char *lines[3];
    char sighdr[160];
    int n = 0;

    lines[n++] = "Content-Type: application/json";
    if (signature && *signature) {
        snprintf(sighdr, sizeof sighdr, "X-Hub-Signature-256: %s", signature);
        lines[n++] = sighdr;
    }
    lines[n++] = "Expect:"; /* no 100-continue round trip on big batches */
    for (int i = 0; i < n; i++) {
        if (!(t = curl_slist_append(h, lines[i]))) {
            curl_slist_free_all(h);
            return NULL;
        }
        h = t;
    }
    return h;
}

/* One POST. Returns the HTTP status, or -1 on a transport error (message in err). */
static long post(CURL *c, const char *url, const char *body, size_t len, const char *signature,
                 struct answer *ans, long timeout_ms, char *err, size_t errlen)
{
    struct curl_slist *h = post_headers(signature);
    long status = -1;
    CURLcode rc;

    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, ans);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    return status;
}

static json_object *status_json(const struct whmsg *m, const char *ts)
{
    json_object *s = json_object_new_object();
    char wamid[SB_WAMID_LEN], digits[24];
    int st = m->statuses[m->next];

    sb_store_wamid(m->wamid_ctr, wamid);
    sb_msisdn_unpack(m->to_packed, digits, sizeof digits);
    json_object_object_add(s, "id", json_object_new_string(wamid));
    json_object_object_add(s, "status", json_object_new_string(sb_status_name(st)));
    json_object_object_add(s, "timestamp", json_object_new_string(ts));
    json_object_object_add(s, "recipient_id", json_object_new_string(digits));
    if (m->callback)
        json_object_object_add(s, "biz_opaque_callback_data", json_object_new_string(m->callback));
    if (st == SB_ST_SENT || st == SB_ST_DELIVERED) {
        json_object *p = json_object_new_object();
        char cat[32];
        size_t i;
        for (i = 0; m->category[i] && i < sizeof cat - 1; i++)
            cat[i] = (char)tolower((unsigned char)m->category[i]);
        cat[i] = '\0';
        json_object_object_add(p, "billable", json_object_new_boolean(1));
        json_object_object_add(p, "pricing_model", json_object_new_string("PMP"));
        json_object_object_add(p, "type", json_object_new_string("regular"));
        json_object_object_add(p, "category", json_object_new_string(cat));
        json_object_object_add(s, "pricing", p);
    }
    if (st == SB_ST_FAILED) {
        json_object *errs = json_object_new_array();
        json_object_array_add(errs, sb_error_webhook_obj(m->fail_code));
        json_object_object_add(s, "errors", errs);
    }
    return s;
}

/* The Meta envelope: one entry per phone number id present in the batch. */
static char *batch_body(struct whmsg **batch, size_t n, size_t *len)
{
    json_object *root = json_object_new_object(), *entries = json_object_new_array();
    char ts[24];

    snprintf(ts, sizeof ts, "%llu", (unsigned long long)(sb_wall_ms() / 1000));
    json_object_object_add(root, "object", json_object_new_string("whatsapp_business_account"));
    for (int p = 0; p < sb_opts.nphones; p++) {
        json_object *statuses = NULL;
        for (size_t i = 0; i < n; i++) {
            if (batch[i]->phone_idx != p)
                continue;
            if (!statuses)
                statuses = json_object_new_array();
            json_object_array_add(statuses, status_json(batch[i], ts));
        }
        if (!statuses)
            continue;
        json_object *entry = json_object_new_object(), *changes = json_object_new_array();
        json_object *change = json_object_new_object(), *value = json_object_new_object();
        json_object *meta = json_object_new_object();
        json_object_object_add(meta, "display_phone_number",
                               json_object_new_string(sb_opts.phones[p].display));
        json_object_object_add(meta, "phone_number_id",
                               json_object_new_string(sb_opts.phones[p].id));
        json_object_object_add(value, "messaging_product", json_object_new_string("whatsapp"));
        json_object_object_add(value, "metadata", meta);
        json_object_object_add(value, "statuses", statuses);
        json_object_object_add(change, "value", value);
        json_object_object_add(change, "field", json_object_new_string("messages"));
        json_object_array_add(changes, change);
        json_object_object_add(entry, "id", json_object_new_string(sb_opts.waba_id));
        json_object_object_add(entry, "changes", changes);
        json_object_array_add(entries, entry);
    }
    json_object_object_add(root, "entry", entries);
    return sb_json_take_text(root, len);
}

/* 1 = posted (200), 0 = failed attempt, -1 = nowhere to post (URL unset): drop. */
static int post_batch(struct worker *w, struct whmsg **batch, size_t n, bool quick)
{
    char *url = NULL, *secret = NULL, *body = NULL;
    char signature[80], err[CURL_ERROR_SIZE];
    struct answer ans = {NULL, 0, ANSWER_LOG_MAX};
    size_t len = 0;
    long status;
    int rc = 0;

    sb_cfg_webhook_target(&url, &secret);
    if (!url || !secret || !*url) {
        rc = url && secret ? -1 : 0;
        goto out;
    }
    if (!(body = batch_body(batch, n, &len)))
        goto out;
    sign(secret, body, len, signature);
    status = post(w->curl, url, body, len, signature, &ans, quick ? 2000 : 10000, err, sizeof err);
    rc = status == 200;
    if (!rc) {
        uint64_t now = sb_mono_ms();
        if (now - w->last_log_ms >= 1000) { /* one line a second is enough when it is down */
            w->last_log_ms = now;
            if (status < 0)
                sb_log("webhook POST %s failed: %s", url, err);
            else
                sb_log("webhook POST %s answered %ld: %.200s", url, status, ans.p ? ans.p : "");
        }
    }
out:
    free(ans.p);
    free(body);
    free(url);
    if (secret)
        sodium_memzero(secret, strlen(secret));
    free(secret);
    return rc;
}

static void cond_wait_until(pthread_cond_t *cond, uint64_t due_mono_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(due_mono_ms / 1000),
                          .tv_nsec = (long)(due_mono_ms % 1000) * 1000000L};
    pthread_cond_timedwait(cond, &wh_lock, &ts);
}

static void *dispatcher(void *arg)
{
    struct worker *w = arg;
    struct whmsg *batch[BATCH_MAX];

    pthread_mutex_lock(&wh_lock);
    while (!stopping) {
        if (hn == 0) {
            pthread_cond_wait(&wh_wake, &wh_lock);
            continue;
        }
        uint64_t now = sb_mono_ms();
        if (!flushing && heap[0]->due > now) {
            cond_wait_until(&wh_wake, heap[0]->due);
            continue;
        }
        size_t n = 0;
        while (hn && n < BATCH_MAX && (flushing || heap[0]->due <= now))
            batch[n++] = heap_pop();
        in_flight += n;
        uint64_t batch_gen = gen;
        bool quick = flushing;
        pthread_mutex_unlock(&wh_lock);

        int rc = post_batch(w, batch, n, quick);
        unsigned tries, backoff_max;
        sb_cfg_webhook_retry(&tries, &backoff_max);

        pthread_mutex_lock(&wh_lock);
        in_flight -= n;
        now = sb_mono_ms();
        if (batch_gen == gen) {
            if (rc > 0) {
                st_posted++;
                st_events += n;
            } else if (rc == 0) {
                st_failed++;
            }
        }
        for (size_t i = 0; i < n; i++) {
            struct whmsg *m = batch[i];
            if (m->gen != gen) { /* reset while posting */
                msg_free(m);
                continue;
            }
            if (rc > 0) {
                st_pending--;
                m->next++;
                m->attempt = 0;
                m->due = now + m->delay_ms;
            } else if (rc < 0 || ++m->attempt >= tries || flushing) {
                st_pending--;
                st_dropped++;
                m->next++;
                m->attempt = 0;
                m->due = now + m->delay_ms;
            } else {
                unsigned backoff = BACKOFF_FIRST_MS << (m->attempt - 1 < 14 ? m->attempt - 1 : 14);
                m->due = now + (backoff < backoff_max ? backoff : backoff_max);
            }
            if (m->next >= m->nstatuses) {
                msg_free(m);
            } else {
                m->order = order_next++;
                if (heap_push(m) < 0) {
                    st_pending -= (uint64_t)(m->nstatuses - m->next);
                    st_dropped += (uint64_t)(m->nstatuses - m->next);
                    msg_free(m);
                }
            }
        }
        pthread_cond_broadcast(&wh_idle);
    }
    pthread_mutex_unlock(&wh_lock);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int sb_wh_start(void)
{
    pthread_condattr_t attr;

    if (pthread_condattr_init(&attr) != 0 ||
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&wh_wake, &attr) != 0 || pthread_cond_init(&wh_idle, &attr) != 0)
        return -1;
    pthread_condattr_destroy(&attr);
    nworkers = sb_opts.webhook_workers;
    workers = calloc(nworkers, sizeof *workers);
    if (!workers)
        return -1;
    for (unsigned i = 0; i < nworkers; i++) {
        if (!(workers[i].curl = curl_easy_init()))
            return -1;
        setup_handle(workers[i].curl);
        if (pthread_create(&workers[i].thread, NULL, dispatcher, &workers[i]) != 0)
            return -1;
        workers[i].started = true;
    }
    return 0;
}

void sb_wh_reset(void)
{
    pthread_mutex_lock(&wh_lock);
    for (size_t i = 0; i < hn; i++)
        msg_free(heap[i]);
    hn = 0;
    gen++;
    st_posted = st_events = st_failed = st_dropped = st_overflow = st_pending = 0;
    pthread_mutex_unlock(&wh_lock);
}

void sb_wh_stop(unsigned flush_ms)
{
    uint64_t deadline = sb_mono_ms() + flush_ms;

    pthread_mutex_lock(&wh_lock);
    flushing = true;
    pthread_cond_broadcast(&wh_wake);
    while ((hn || in_flight) && workers && sb_mono_ms() < deadline)
        cond_wait_until(&wh_idle, deadline);
    if (hn || in_flight)
        sb_log("shutdown: %llu webhook statuses left unposted", (unsigned long long)st_pending);
    stopping = true;
    atomic_store(&abort_transfers, 1);
    pthread_cond_broadcast(&wh_wake);
    pthread_mutex_unlock(&wh_lock);

    for (unsigned i = 0; i < nworkers; i++) {
        if (workers[i].started)
            pthread_join(workers[i].thread, NULL);
        if (workers[i].curl)
            curl_easy_cleanup(workers[i].curl);
    }
    free(workers);
    workers = NULL;
    nworkers = 0;
    for (size_t i = 0; i < hn; i++)
        msg_free(heap[i]);
    free(heap);
    heap = NULL;
    hn = hcap = 0;
}

void sb_wh_stats(json_object *into)
{
    pthread_mutex_lock(&wh_lock);
    json_object_object_add(into, "webhooks_posted", json_object_new_int64((int64_t)st_posted));
    json_object_object_add(into, "webhook_events", json_object_new_int64((int64_t)st_events));
    json_object_object_add(into, "webhooks_failed", json_object_new_int64((int64_t)st_failed));
    json_object_object_add(into, "webhooks_pending", json_object_new_int64((int64_t)st_pending));
    json_object_object_add(into, "webhook_events_dropped",
                           json_object_new_int64((int64_t)st_dropped));
    json_object_object_add(into, "webhook_events_overflow",
                           json_object_new_int64((int64_t)st_overflow));
    json_object_object_add(into, "webhook_queue", json_object_new_int64((int64_t)hn));
    pthread_mutex_unlock(&wh_lock);
}

int sb_wh_post_now(const char *body, size_t len, const char *signature, long *http_status,
                   char **answer, char *err, size_t errlen)
{
    char *url = NULL, *secret = NULL, sig[80];
    struct answer ans = {NULL, 0, 1u << 20};
    CURL *c = NULL;
    int rc = -1;

    sb_cfg_webhook_target(&url, &secret);
    if (!url || !secret) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (!*url) {
        snprintf(err, errlen, "no webhook URL configured");
        goto out;
    }
    if (!signature) {
        sign(secret, body, len, sig);
        signature = sig;
    }
    if (!(c = curl_easy_init())) {
        snprintf(err, errlen, "curl_easy_init failed");
        goto out;
    }
    setup_handle(c);
    *http_status = post(c, url, body, len, signature, &ans, 10000, err, errlen);
    if (*http_status < 0)
        goto out;
    *answer = ans.p ? ans.p : strdup("");
    ans.p = NULL;
    rc = *answer ? 0 : -1;
out:
    if (c)
        curl_easy_cleanup(c);
    free(ans.p);
    free(url);
    if (secret)
        sodium_memzero(secret, strlen(secret));
    free(secret);
    return rc;
}
