/* Building the Cloud API requests of a batch and sending them with the libcurl multi
 * interface: many in flight, connections kept alive, paced to the number's throughput. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"
#include "webhook_apply.h"
#include "worker.h"

#define MAX_ATTEMPTS 5
#define MAX_RESPONSE (1024 * 1024)

double now_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int send_init(struct worker *w)
{
    w->multi = curl_multi_init();
    if (!w->multi)
        return -1;
    curl_multi_setopt(w->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(w->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)w->cfg.worker_inflight);
    w->neasy = w->cfg.worker_inflight;
    w->easy = calloc((size_t)w->neasy, sizeof *w->easy);
    if (!w->easy)
        return -1;
    for (int i = 0; i < w->neasy; i++) {
        w->easy[i] = curl_easy_init();
        if (!w->easy[i])
            return -1;
    }
    return 0;
}

void send_cleanup(struct worker *w)
{
    for (int i = 0; w->easy && i < w->neasy; i++)
        if (w->easy[i])
            curl_easy_cleanup(w->easy[i]);
    free(w->easy);
    w->easy = NULL;
    if (w->multi)
        curl_multi_cleanup(w->multi);
    w->multi = NULL;
}

/* The value of one body parameter for a recipient: fixed, from its CSV column, or the
 * fallback. NULL when none applies. */
static const char *param_value(json_object *p, json_object *vars)
{
    json_object *v;
    if (json_object_object_get_ex(p, "value", &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    if (json_object_object_get_ex(p, "column", &v) && json_object_is_type(v, json_type_string)) {
        json_object *cell;
        if (vars && json_object_object_get_ex(vars, json_object_get_string(v), &cell) &&
            json_object_is_type(cell, json_type_string) && json_object_get_string_len(cell) > 0)
            return json_object_get_string(cell);
    }
    if (json_object_object_get_ex(p, "fallback", &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

static void set_failed(struct job *j, int code, const char *text)
{
    j->done = 1;
    j->out.status = MSG_FAILED;
    j->out.log_outcome = "failed";
    j->out.code = code;
    snprintf(j->out.text, sizeof j->out.text, "%s", text);
}

void send_build(struct worker *w, struct batch *b)
{
    (void)w;
    const struct campaign *c = b->camp;
    size_t np = c->params ? json_object_array_length(c->params) : 0;
    struct cloudapi_param *params = calloc(np + 1, sizeof *params);
    for (size_t i = 0; i < b->n; i++) {
        struct job *j = &b->jobs[i];
        if (!params) {
            set_failed(j, 0, "out of memory");
            continue;
        }
        json_object *vars = NULL;
        /* vars were stored by us as a JSON object; the body is freed after building. */
        if (j->resp)
            vars = json_tokener_parse(j->resp);
        free(j->resp);
        j->resp = NULL;
        const char *missing = NULL;
        for (size_t k = 0; k < np; k++) {
            params[k].type = CLOUDAPI_P_TEXT;
            params[k].name = NULL;
            params[k].value = param_value(json_object_array_get_idx(c->params, k), vars);
            if (!params[k].value)
                missing = "a template parameter has no value for this recipient";
        }
        char cb[64], err[256] = "";
        webhook_callback_format(cb, sizeof cb, c->id, j->id);
        struct cloudapi_component comp = {.type = CLOUDAPI_C_BODY, .params = params,
                                          .nparams = np};
        struct cloudapi_message m = {.to = j->phone,
                                     .template_name = c->template_name,
                                     .language = c->language,
                                     .components = np ? &comp : NULL,
                                     .ncomponents = np ? 1 : 0,
                                     .callback_data = cb};
        if (!missing)
            j->body = cloudapi_message_json(&m, &j->body_len, err, sizeof err);
        json_object_put(vars);
        if (missing)
            set_failed(j, 0, missing);
        else if (!j->body)
            set_failed(j, 0, err);
    }
    free(params);
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct job *j = userdata;
    size_t n = size * nmemb;
    if (j->resp_len + n > MAX_RESPONSE)
        return 0;
    if (j->resp_len + n + 1 > j->resp_cap) {
        size_t cap = (j->resp_len + n + 1) * 2;
        char *nb = realloc(j->resp, cap);
        if (!nb)
            return 0;
        j->resp = nb;
        j->resp_cap = cap;
    }
    memcpy(j->resp + j->resp_len, ptr, n);
    j->resp_len += n;
    j->resp[j->resp_len] = '\0';
    return n;
}

/* Turns the answer into what happens to the recipient (spec §2, decided on the code). */
static void decide(struct job *j)
{
    struct outcome *o = &j->out;
    if (j->curl_rc != CURLE_OK) {
        /* No connection was made: the request surely never reached Meta. */
        int safe = j->curl_rc == CURLE_COULDNT_CONNECT || j->curl_rc == CURLE_COULDNT_RESOLVE_HOST ||
                   j->curl_rc == CURLE_COULDNT_RESOLVE_PROXY;
        cloudapi_parse_send(0, j->curl_err, strlen(j->curl_err), &j->res);
        o->code = 0;
        snprintf(o->text, sizeof o->text, "network: %s", j->curl_err[0] ? j->curl_err
                                                                        : curl_easy_strerror(j->curl_rc));
        if (!safe) {
            /* It may have reached Meta: never resend by ourselves; a status webhook or an
             * operator settles it. */
            o->status = MSG_UNKNOWN;
            o->log_outcome = "unknown";
            return;
        }
        j->res.action = CLOUDAPI_ACT_RETRY;
    } else {
        cloudapi_parse_send(j->http_status, j->resp, j->resp_len, &j->res);
        o->code = j->res.code > 0 ? j->res.code : 0;
        snprintf(o->text, sizeof o->text, "%s", j->res.details[0] ? j->res.details : j->res.message);
    }
    if (j->res.accepted) {
        o->status = MSG_SENT;
        o->log_outcome = "sent";
        o->text[0] = '\0';
        return;
    }
    enum cloudapi_action a = j->res.action;
    long delay = cloudapi_retry_delay_ms(a, j->attempt, randombytes_random());
    switch (a) {
    case CLOUDAPI_ACT_RETRY:
    case CLOUDAPI_ACT_RETRY_THROTTLE:
    case CLOUDAPI_ACT_RETRY_PAIR:
    case CLOUDAPI_ACT_RETRY_24H:
    case CLOUDAPI_ACT_RETRY_MAINTENANCE:
        if (j->attempt >= MAX_ATTEMPTS || delay < 0) {
            o->status = MSG_FAILED;
            o->log_outcome = "failed";
            return;
        }
        o->status = MSG_PENDING;
        o->log_outcome = "retry";
        o->retry_at_ms = now_ms() + delay;
        return;
    case CLOUDAPI_ACT_OPTOUT:
        o->status = MSG_BLOCKED;
        o->log_outcome = "blocked";
        return;
    case CLOUDAPI_ACT_PAUSE_CAMPAIGN:
    case CLOUDAPI_ACT_STOP_CAMPAIGN:
    case CLOUDAPI_ACT_PAUSE_NUMBER:
    case CLOUDAPI_ACT_STOP_ACCOUNT:
    case CLOUDAPI_ACT_STOP_NUMBER:
        /* Not this recipient's fault: it waits for the campaign to be resumed. */
        o->status = MSG_PENDING;
        o->log_outcome = "retry";
        o->retry_at_ms = now_ms();
        return;
    default:
        o->status = MSG_FAILED;
        o->log_outcome = j->res.code == 130403 ? "blocked" : "failed";
        if (j->res.code == 130403)
            o->status = MSG_BLOCKED;
        return;
    }
}

static void start_job(struct worker *w, struct batch *b, struct job *j, CURL *e,
                      struct curl_slist *hdrs, const char *url)
{
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)j->body_len);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->curl_err);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)w->cfg.http_connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)w->cfg.http_timeout_ms);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    j->curl_err[0] = '\0';
    j->started = 1;
    (void)b;
    curl_multi_add_handle(w->multi, e);
}

void send_batch(struct worker *w, struct batch *b)
{
    const struct account *acc = b->acc;
    char url[1024];
    const char *base = acc->graph_base_url ? acc->graph_base_url : w->cfg.graph_base_url;
    snprintf(url, sizeof url, "%s/%s/%s/messages", base, acc->graph_version, acc->phone_number_id);
    /* The token only ever goes into this header. */
    char *auth = NULL;
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (acc->access_token && asprintf(&auth, "Authorization: Bearer %s", acc->access_token) > 0)
        hdrs = curl_slist_append(hdrs, auth);
    if (auth) {
        sodium_memzero(auth, strlen(auth));
        free(auth);
    }
    double interval = acc->throughput_mps > 0 ? 1.0 / acc->throughput_mps : 0;

    size_t next = 0, running = 0;
    int *free_idx = calloc((size_t)w->neasy, sizeof *free_idx);
    int nfree = 0;
    for (int i = 0; free_idx && i < w->neasy; i++)
        free_idx[nfree++] = i;
    while (free_idx) {
        /* Start what the pace and the pool allow. */
        while (next < b->n && nfree > 0 && !*w->stopping) {
            struct job *j = &b->jobs[next];
            if (j->done) {
                next++;
                continue;
            }
            double now = now_monotonic();
            if (now < w->next_send_at)
                break;
            w->next_send_at = (w->next_send_at > now - interval ? w->next_send_at : now) + interval;
            start_job(w, b, j, w->easy[free_idx[--nfree]], hdrs, url);
            next++;
            running++;
        }
        if (running == 0 && (next >= b->n || *w->stopping))
            break;
        int still = 0;
        curl_multi_perform(w->multi, &still);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(w->multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            struct job *j = NULL;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&j);
            j->curl_rc = msg->data.result;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &j->http_status);
            curl_multi_remove_handle(w->multi, e);
            for (int i = 0; i < w->neasy; i++)
                if (w->easy[i] == e)
                    free_idx[nfree++] = i;
            running--;
            j->done = 1;
            decide(j);
        }
        int wait_ms = 100;
        if (next < b->n && nfree > 0 && !*w->stopping) {
            double gap = w->next_send_at - now_monotonic();
            wait_ms = gap > 0 ? (int)(gap * 1000) + 1 : 0;
        }
        if (wait_ms > 0 || running > 0)
            curl_multi_poll(w->multi, NULL, 0, wait_ms, NULL);
    }
    /* Claimed but never started (stopping): released without counting an attempt. */
    for (size_t i = 0; i < b->n; i++) {
        struct job *j = &b->jobs[i];
        if (!j->done && !j->started) {
            j->out.status = MSG_PENDING;
            j->out.log_outcome = NULL;
            j->out.release = 1;
            j->done = 1;
        }
    }
    free(free_idx);
    curl_slist_free_all(hdrs);
}
