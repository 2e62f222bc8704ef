/* Building the Cloud API requests and sending them with the libcurl multi interface: many
 * in flight, connections kept alive (HTTP/2 when the server offers it over TLS), each request
 * started at the slot the claimer gave it and never before. */
#include <errno.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "jsonparse.h"
#include "log.h"
#include "sendverdict.h"
#include "webhook_apply.h"
#include "worker.h"

#define MAX_RESPONSE (1024 * 1024)

double now_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- queues and the slot heap (callers hold mu) ------------------------------------------ */

void jobq_push(struct jobq *q, struct job *j)
{
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->n++;
}

struct job *jobq_pop(struct jobq *q)
{
    struct job *j = q->head;
    if (!j)
        return NULL;
    q->head = j->next;
    if (!q->head)
        q->tail = NULL;
    q->n--;
    j->next = NULL;
    return j;
}

static void heap_swap(struct worker *w, size_t a, size_t b)
{
    struct job *t = w->heap[a];
    w->heap[a] = w->heap[b];
    w->heap[b] = t;
    w->heap[a]->heap_idx = (int)a;
    w->heap[b]->heap_idx = (int)b;
}

static void heap_up(struct worker *w, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (w->heap[p]->slot_us <= w->heap[i]->slot_us)
            break;
        heap_swap(w, p, i);
        i = p;
    }
}

static void heap_down(struct worker *w, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < w->nheap && w->heap[l]->slot_us < w->heap[m]->slot_us)
            m = l;
        if (r < w->nheap && w->heap[r]->slot_us < w->heap[m]->slot_us)
            m = r;
        if (m == i)
            return;
        heap_swap(w, i, m);
        i = m;
    }
}

int heap_push(struct worker *w, struct job *j)
{
    if (w->nheap == w->capheap) {
        size_t cap = w->capheap ? w->capheap * 2 : 256;
        struct job **nh = realloc(w->heap, cap * sizeof *nh);
        if (!nh)
            return -1;
        w->heap = nh;
        w->capheap = cap;
    }
    w->heap[w->nheap] = j;
    j->heap_idx = (int)w->nheap;
    w->nheap++;
    heap_up(w, w->nheap - 1);
    return 0;
}

void heap_remove(struct worker *w, struct job *j)
{
    size_t i = (size_t)j->heap_idx;
    if (j->heap_idx < 0 || i >= w->nheap || w->heap[i] != j)
        return;
    w->nheap--;
    if (i != w->nheap) {
        w->heap[i] = w->heap[w->nheap];
        w->heap[i]->heap_idx = (int)i;
        heap_down(w, i);
        heap_up(w, i);
    }
    j->heap_idx = -1;
}

struct job *heap_pop(struct worker *w)
{
    if (!w->nheap)
        return NULL;
    struct job *j = w->heap[0];
    heap_remove(w, j);
    return j;
}

/* ---- building a request ---------------------------------------------------------------- */

/* The value of one mapped parameter for a recipient: a plain string (fixed), {"value"},
 * {"column"} from its variables, or the fallback. NULL when none applies. */
static const char *param_value(json_object *p, json_object *vars)
{
    json_object *v;
    if (!p)
        return NULL;
    if (json_object_is_type(p, json_type_string))
        return json_object_get_string(p);
    if (json_object_is_type(p, json_type_array) && json_object_array_length(p) == 1)
        return param_value(json_object_array_get_idx(p, 0), vars);
    if (!json_object_is_type(p, json_type_object))
        return NULL;
    if (json_object_object_get_ex(p, "value", &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    if (json_object_object_get_ex(p, "column", &v) && json_object_is_type(v, json_type_string)) {
        json_object *cell;
        if (vars && json_object_object_get_ex(vars, json_object_get_string(v), &cell) &&
            json_object_is_type(cell, json_type_string) && json_object_get_string_len(cell) > 0)
            return json_object_get_string(cell);
    }
    if (json_object_object_get_ex(p, "fallback", &v) && json_object_is_type(v, json_type_string) &&
        json_object_get_string_len(v) > 0)
        return json_object_get_string(v);
    return NULL;
}

static void set_failed(struct job *j, int code, const char *text)
{
    j->out.status = MSG_FAILED;
    j->out.log_outcome = "failed";
    j->out.code = code;
    snprintf(j->out.text, sizeof j->out.text, "%s", text);
}

/* The param_map item for slot i of the template: positional sections are arrays indexed by
 * the slot's position within its component, named ones objects keyed by the slot's name;
 * buttons are {"<index>": item}. */
static json_object *map_item(json_object *map, const struct cloudapi_slots *s, size_t i)
{
    const struct cloudapi_slot *sl = &s->v[i];
    json_object *sec = NULL, *it = NULL;
    const char *key = sl->component == CLOUDAPI_C_HEADER ? "header"
                      : sl->component == CLOUDAPI_C_BODY ? "body"
                                                         : "buttons";
    if (!json_object_object_get_ex(map, key, &sec) || !sec)
        return NULL;
    if (sl->component == CLOUDAPI_C_BUTTON) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", sl->index);
        if (json_object_is_type(sec, json_type_object) && json_object_object_get_ex(sec, idx, &it))
            return it;
        if (json_object_is_type(sec, json_type_array))
            return json_object_array_get_idx(sec, (size_t)sl->index);
        return NULL;
    }
    if (json_object_is_type(sec, json_type_object)) {
        if (sl->name[0] && json_object_object_get_ex(sec, sl->name, &it))
            return it;
        return NULL;
    }
    if (json_object_is_type(sec, json_type_array)) {
        size_t pos = 0;
        for (size_t k = 0; k < i; k++)
            if (s->v[k].component == sl->component && s->v[k].index == sl->index)
                pos++;
        return json_object_array_get_idx(sec, pos);
    }
    return NULL;
}

/* body_params' layout: n positional text parameters of the body (values[k] when values is
 * not NULL), set as m's one component in *comp. Returns the parameters, which the caller
 * frees after using m, or NULL when out of memory. */
static struct cloudapi_param *body_layout(size_t n, const char *const *values,
                                          struct cloudapi_message *m,
                                          struct cloudapi_component *comp)
{
    struct cloudapi_param *params = calloc(n + 1, sizeof *params);
    for (size_t k = 0; params && k < n; k++) {
        params[k].type = CLOUDAPI_P_TEXT;
        params[k].value = values ? values[k] : NULL;
    }
    *comp = (struct cloudapi_component){.type = CLOUDAPI_C_BODY, .params = params, .nparams = n};
    m->components = n ? comp : NULL;
    m->ncomponents = n ? 1 : 0;
    return params;
}

/* What a request is built from: the campaign's own template and mapping, or those of the
 * recipient's A/B variant (lib/abvariant.h), each laid out once. */
struct layout {
    long long id;
    const char *tname, *lang;
    json_object *map, *body_params;
    struct cloudapi_slots *slots;
    int have_slots;
    struct cloudapi_prepared *prep;
    int *prep_state;
};

/* j's layout; -1 when its variant is not the campaign's (cannot happen) or its template is
 * not loaded: the request fails rather than go with another template. */
static int job_layout(const struct job *j, struct layout *l)
{
    struct camp *c = j->camp;
    if (j->variant <= 0) {
        *l =
            (struct layout){c->id,     c->template_name, c->language, c->param_map,  c->body_params,
                            &c->slots, c->have_slots,    &c->prep,    &c->prep_state};
        return 0;
    }
    for (size_t i = 0; i < c->ab.n; i++) {
        struct camp_variant *v = &c->var[i];
        if (v->variant != j->variant)
            continue;
        if (!v->have_slots)
            return -1;
        *l = (struct layout){c->id, v->template_name, v->language,   v->param_map, NULL, &v->slots,
                             1,     &v->prep,         &v->prep_state};
        return 0;
    }
    return -1;
}

/* The request laid out once per campaign or variant (claimer thread, like every camp field it
 * writes): 1 ready, -1 not possible (every request then takes the full builder, which says
 * why). */
static int layout_prepare(struct layout *l, const char *cb)
{
    if (*l->prep_state != 0)
        return *l->prep_state;
    char err[256];
    struct cloudapi_message m = {
        .template_name = l->tname, .language = l->lang, .callback_data = cb};
    int rc;
    if (l->have_slots) {
        rc = cloudapi_prepare_slots(&m, l->slots, l->prep, err, sizeof err);
    } else {
        struct cloudapi_component comp;
        struct cloudapi_param *params = body_layout(
            l->body_params ? json_object_array_length(l->body_params) : 0, NULL, &m, &comp);
        rc = params ? cloudapi_prepare(&m, l->prep, err, sizeof err) : -1;
        if (!params)
            snprintf(err, sizeof err, "out of memory");
        free(params);
    }
    *l->prep_state = rc == 0 ? 1 : -1;
    if (rc != 0)
        log_warn("campaign %lld: requests built one by one (%s)", l->id, err);
    return *l->prep_state;
}

int send_build(struct job *j)
{
    json_object *vars = NULL;
    /* The vars travel in resp until the request is built. */
    if (j->resp)
        vars = jsonparse_whole(j->resp, strlen(j->resp), 0, NULL, NULL);
    free(j->resp);
    j->resp = NULL;
    j->resp_len = j->resp_cap = 0;

    struct layout l;
    if (job_layout(j, &l) < 0) {
        json_object_put(vars);
        set_failed(j, 0, "the template of this recipient's A/B variant is not in the cache");
        return -1;
    }
    char cb[64], err[256] = "";
    webhook_callback_format(cb, sizeof cb, l.id, j->id);
    /* Each value: the full mapping (header, body and button parameters, positional or named)
     * or body_params (positional body parameters only). */
    size_t n = l.have_slots    ? l.slots->n
               : l.body_params ? json_object_array_length(l.body_params)
                               : 0;
    const char **values = calloc(n + 1, sizeof *values);
    if (!values) {
        json_object_put(vars);
        set_failed(j, 0, "out of memory");
        return -1;
    }
    const char *missing = NULL;
    for (size_t i = 0; i < n && !missing; i++) {
        values[i] = l.have_slots ? param_value(map_item(l.map, l.slots, i), vars)
                                 : param_value(json_object_array_get_idx(l.body_params, i), vars);
        if (!values[i])
            missing = "a template parameter has no value for this recipient";
    }
    if (!missing && layout_prepare(&l, cb) > 0) {
        j->body =
            cloudapi_prepared_json(l.prep, j->phone, cb, values, n, &j->body_len, err, sizeof err);
    } else if (!missing) {
        struct cloudapi_message m = {
            .to = j->phone, .template_name = l.tname, .language = l.lang, .callback_data = cb};
        if (l.have_slots) {
            j->body =
                cloudapi_slots_message_json(&m, l.slots, values, n, &j->body_len, err, sizeof err);
        } else {
            struct cloudapi_component comp;
            struct cloudapi_param *params = body_layout(n, values, &m, &comp);
            if (params)
                j->body = cloudapi_message_json(&m, &j->body_len, err, sizeof err);
            else
                snprintf(err, sizeof err, "out of memory");
            free(params);
        }
    }
    free(values);
    json_object_put(vars);
    if (missing || !j->body) {
        set_failed(j, 0, missing ? missing : err);
        return -1;
    }
    return 0;
}

void send_job_template(const struct camp *c, int variant, const char **name, const char **lang)
{
    *name = c->template_name;
    *lang = c->language;
    for (size_t i = 0; variant > 0 && i < c->ab.n; i++)
        if (c->var[i].variant == variant) {
            *name = c->var[i].template_name;
            *lang = c->var[i].language;
        }
}

/* ---- the answer ------------------------------------------------------------------------- */

static long long now_ms(void)
{
    return now_us() / 1000;
}

/* Turns the answer into what happens to the recipient: first what it proves
 * (sendverdict_decide), then for a proven refusal Meta's code (spec §2). */
static void decide(struct worker *w, struct job *j)
{
    struct outcome *o = &j->out;
    enum sendverdict_transport t = sendverdict_transport_of(j->curl_rc, j->prereq_calls);
    enum sendverdict v;
    if (t == SENDVERDICT_ANSWERED) {
        v = sendverdict_decide(t, j->http_status, j->resp, j->resp_len, &j->res);
        o->code = j->res.code > 0 ? j->res.code : 0;
        snprintf(o->text, sizeof o->text, "%s",
                 j->res.details[0] ? j->res.details : j->res.message);
    } else {
        const char *e = j->curl_err[0] ? j->curl_err : curl_easy_strerror(j->curl_rc);
        v = sendverdict_decide(t, 0, e, strlen(e), &j->res);
        o->code = 0;
        snprintf(o->text, sizeof o->text, "network: %s", e);
    }
    if (v == SENDVERDICT_IN_DOUBT) {
        /* It may have reached Meta: never resent by ourselves; a status webhook or an
         * operator settles it (or in_doubt_resend_after_s, once). */
        char why[sizeof o->text];
        memcpy(why, o->text, sizeof why);
        snprintf(o->text, sizeof o->text, "in doubt (may have been accepted): %.900s", why);
        o->code = 0;
        o->status = MSG_UNKNOWN;
        o->log_outcome = "unknown";
        free(j->resp);
        j->resp = NULL;
        j->resp_len = j->resp_cap = 0;
        return;
    }
    free(j->resp);
    j->resp = NULL;
    j->resp_len = j->resp_cap = 0;
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
        if (j->attempt >= w->cfg.worker_max_attempts || delay < 0) {
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
        o->status = j->res.code == 130403 ? MSG_BLOCKED : MSG_FAILED;
        o->log_outcome = j->res.code == 130403 ? "blocked" : "failed";
        return;
    }
}

/* ---- sending ---------------------------------------------------------------------------- */

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata);

/* libcurl may not resend a send by itself (sendverdict_curl_prereq, lib/sendverdict.h):
 * POSTFIELDS bodies keep the single write (a body through a read callback that cannot seek
 * does the same, but sends the headers and the body apart: about half the ceiling). */

/* What every request of a handle shares, set once: curl_easy_reset and a dozen options per
 * request cost more than the request's own bookkeeping. */
static void easy_setup(CURL *e, int env_proxy)
{
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, sendverdict_curl_prereq);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    /* libcurl looks the proxy variables up again for every request; with none of them set
     * at start, say so once. */
    if (!env_proxy)
        curl_easy_setopt(e, CURLOPT_PROXY, "");
}

/* Whether a proxy is set in the environment, where libcurl would look for one. */
static int env_proxy_set(void)
{
    static const char *const vars[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                       "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

/* libcurl's sockets in the sender's epoll set (CURLMOPT_SOCKETFUNCTION). The sender drives
 * libcurl by socket (curl_multi_socket_action): curl_multi_perform walks every transfer and
 * polls each one's socket, which with hundreds in flight cost more CPU than the sending. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct worker *w = userp;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(w->ep_fd, EPOLL_CTL_DEL, s, NULL); /* gone already when it was closed */
        curl_multi_assign(w->multi, s, NULL);
        return 0;
    }
    struct epoll_event ev = {.events = (uint32_t)((what & CURL_POLL_IN ? EPOLLIN : 0) |
                                                  (what & CURL_POLL_OUT ? EPOLLOUT : 0)),
                             .data.fd = s};
    int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(w->ep_fd, op, s, &ev) < 0) {
        op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(w->ep_fd, op, s, &ev) < 0) {
            log_error("epoll_ctl on a connection: %s", strerror(errno));
            return -1;
        }
    }
    if (!socketp)
        curl_multi_assign(w->multi, s, w);
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    struct worker *w = userp;
    (void)m;
    w->curl_due_us = timeout_ms < 0 ? -1 : now_us() + (long long)timeout_ms * 1000;
    return 0;
}

/* The handles are made as requests need them, up to the limit (the ceiling and the memory
 * budget, lib/pace.h): a worker whose numbers need 40 in flight never pays for 512. */
int send_init(struct worker *w)
{
    w->multi = curl_multi_init();
    if (!w->multi)
        return -1;
    w->inflight_limit = pace_inflight_limit(w->cfg.worker_inflight,
                                            w->cfg.worker_inflight_memory_mb, &w->inflight_why);
    curl_multi_setopt(w->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(w->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)w->inflight_limit);
    curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, (long)w->inflight_limit);
    w->ep_fd = epoll_create1(EPOLL_CLOEXEC);
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->curl_due_us = -1;
    if (w->ep_fd < 0 || w->wake_fd < 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = w->wake_fd};
    if (epoll_ctl(w->ep_fd, EPOLL_CTL_ADD, w->wake_fd, &ev) < 0)
        return -1;
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
    w->easy = calloc((size_t)w->inflight_limit, sizeof *w->easy);
    w->free_idx = calloc((size_t)w->inflight_limit, sizeof *w->free_idx);
    if (!w->easy || !w->free_idx)
        return -1;
    w->env_proxy = env_proxy_set();
    return 0;
}

/* Handles free or still to be made. */
static int send_room(const struct worker *w)
{
    return w->nfree + (w->inflight_limit - w->neasy);
}

/* A free handle's index, made when none is free; -1 when out of memory or at the limit. */
static int easy_take(struct worker *w)
{
    if (w->nfree > 0)
        return w->free_idx[--w->nfree];
    if (w->neasy >= w->inflight_limit)
        return -1;
    CURL *e = curl_easy_init();
    if (!e)
        return -1;
    easy_setup(e, w->env_proxy);
    w->easy[w->neasy] = e;
    return w->neasy++;
}

void send_cleanup(struct worker *w)
{
    for (int i = 0; w->easy && i < w->neasy; i++)
        if (w->easy[i])
            curl_easy_cleanup(w->easy[i]);
    free(w->easy);
    free(w->free_idx);
    w->easy = NULL;
    w->free_idx = NULL;
    if (w->multi)
        curl_multi_cleanup(w->multi);
    w->multi = NULL;
    if (w->ep_fd > 0)
        close(w->ep_fd);
    if (w->wake_fd > 0)
        close(w->wake_fd);
    w->ep_fd = w->wake_fd = -1;
}

void send_wakeup(struct worker *w)
{
    uint64_t one = 1;
    if (w->multi && w->wake_fd > 0 && write(w->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_warn("waking the sender: %s", strerror(errno));
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

static void start_job(struct worker *w, struct job *j, int slot)
{
    CURL *e = w->easy[slot];
    j->easy_idx = slot;
    curl_easy_setopt(e, CURLOPT_URL, j->ep->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->ep->hdrs);
    j->prereq_calls = 0;
    curl_easy_setopt(e, CURLOPT_PREREQDATA, &j->prereq_calls);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body_len);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->curl_err);
    /* SIGHUP may change these. */
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)w->cfg.http_connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)w->cfg.http_timeout_ms);
    /* Wait for a connection that may multiplex only where HTTP/2 is possible (TLS): over
     * plain HTTP/1.1 it held every request of the first round trip until the first answer
     * came back, then let them out at once, a burst over the limit. */
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, j->ep->tls ? 1L : 0L);
    j->curl_err[0] = '\0';
    curl_multi_add_handle(w->multi, e);
}

/* This worker never starts more than mps sends to one number in any pace_window_us (a
 * little over a second), whatever the jitter of the slots: the safety net behind the
 * slot spacing (lib/pace.h). 0 = may start now, else microseconds to wait. */
static long long window_wait(struct acct *a, long long t)
{
    int cap = a->mps > 0 ? a->mps : 80;
    if (cap > 100000)
        return 0;
    if (cap != a->ring_cap) {
        long long *r = realloc(a->sent_ring, (size_t)cap * sizeof *r);
        if (!r)
            return 0;
        a->sent_ring = r;
        a->ring_cap = cap;
        a->ring_n = a->ring_head = 0;
    }
    if (a->ring_n < cap)
        return 0;
    long long oldest = a->sent_ring[a->ring_head], win = pace_window_us(cap);
    return oldest + win > t ? oldest + win - t : 0;
}

static void window_note(struct acct *a, long long t)
{
    if (a->ring_cap <= 0 || !a->sent_ring)
        return;
    if (a->ring_n < a->ring_cap) {
        a->sent_ring[(a->ring_head + a->ring_n) % a->ring_cap] = t;
        a->ring_n++;
    } else {
        a->sent_ring[a->ring_head] = t;
        a->ring_head = (a->ring_head + 1) % a->ring_cap;
    }
}

/* A slot lost because the job could not start at it for the worker's own bound (the number's
 * in-flight target or every handle in use): the claimer's wait reason and /metrics say so,
 * unless nothing but a latency still being measured cut it (caller holds mu). */
static void note_capped(struct worker *w, struct acct *a, long long t)
{
    enum pace_inflight_cap why = a->inflight >= a->inflight_target ? a->bound : w->inflight_why;
    if (why == PACE_CAP_NONE)
        return;
    a->capped_us = t;
    a->capped_why = why;
    a->capped_n++;
}

/* Takes what is due into batch, as many as there are places in flight (the caller holds
 * mu). A job that missed its slot by more than its tolerance goes back for a new slot: late
 * sends never bunch up, and so does a job whose number is at its in-flight target. One over
 * the sender's one-second window waits for it while its tolerance lasts. Returns how many; *wait_us
 * gets how long to sleep at most. */
static size_t send_pick(struct worker *w, struct job **batch, long long *wait_us)
{
    size_t nb = 0;
    long long t = now_us();
    while (w->nheap && send_room(w) - (int)nb > 0) {
        struct job *j = w->heap[0];
        if (j->slot_us > t) {
            *wait_us = j->slot_us - t;
            break;
        }
        heap_pop(w);
        struct acct *a = j->acct;
        if (j->tol_us > 0 && j->slot_us + j->tol_us < t) {
            if (j->held && a)
                note_capped(w, a, t);
            j->held = 0;
            jobq_push(&w->reslot, j);
            continue;
        }
        if (a && a->inflight_target > 0 && a->inflight >= a->inflight_target) {
            /* Its number has all the requests in flight it may: a new slot, at once. A job
             * kept waiting for a place would start late within its tolerance, which the
             * slots' margin keeps for the network's jitter (lib/pace.h); the target's
             * headroom keeps this for a latency that just rose. */
            note_capped(w, a, t);
            j->held = 0;
            jobq_push(&w->reslot, j);
            continue;
        }
        long long ww = a ? window_wait(a, t) : 0;
        if (ww > 0) {
            /* Over the window: wait for it while the slot's tolerance lasts (the slot
             * is not wasted), else a new slot. */
            long long late_by = t + ww - j->slot_us;
            if (j->tol_us > 0 && late_by < j->tol_us) {
                j->tol_us -= late_by;
                j->slot_us = t + ww;
                if (heap_push(w, j) == 0) {
                    *wait_us = ww;
                    break;
                }
            }
            j->held = 0;
            jobq_push(&w->reslot, j);
            continue;
        }
        if (a) {
            window_note(a, t);
            if (++a->inflight > a->inflight_peak)
                a->inflight_peak = a->inflight;
        }
        j->started = 1;
        batch[nb++] = j;
    }
    if (w->nheap && send_room(w) - (int)nb <= 0) {
        *wait_us = 50000;
        if (w->heap[0]->slot_us <= t)
            w->heap[0]->held = 1; /* every handle in use: the worker's ceiling */
    }
    w->inflight += (int)nb;
    return nb;
}

/* Hands finished jobs to the recorder; their numbers get a place in flight back and learn
 * the answer's time (answers only: a timeout says nothing of Meta's latency). */
static void send_finished(struct worker *w, struct job **done, size_t n)
{
    long long t = now_us();
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < n; i++) {
        struct acct *a = done[i]->acct;
        if (a) {
            a->inflight--;
            if (done[i]->curl_rc == CURLE_OK) {
                a->latency_us =
                    pace_latency_next(a->latency_us, (long long)(done[i]->latency_s * 1e6),
                                      a->latency_at_us ? t - a->latency_at_us : 0);
                a->latency_at_us = t;
            }
        }
        jobq_push(&w->done, done[i]);
    }
    w->inflight -= (int)n;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

/* libcurl's timer when it is due (timeouts, and the start of the transfers just added), and
 * at least every SEND_TIMER_US anyway: libcurl does not call the timer callback again when its
 * next timeout is the one it already gave, so a timer taken a little early on this clock
 * would otherwise be lost. */
#define SEND_TIMER_US 50000
static void send_curl_timer(struct worker *w)
{
    static __thread long long last;
    long long t = now_us();
    if ((w->curl_due_us < 0 || w->curl_due_us > t) && t - last < SEND_TIMER_US)
        return;
    int still;
    last = t;
    w->curl_due_us = -1; /* the call sets the next one */
    curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &still);
}

/* epoll_wait to the microsecond (epoll_pwait2, Linux 5.11): a slot 1.008 ms away waited for
 * in whole milliseconds starts up to a millisecond late, a third of its tolerance
 * (pace_tolerance_us) gone before the scheduler's own delays. Older kernels: milliseconds. */
static int send_epoll(struct worker *w, struct epoll_event *ev, int max, long long wait_us)
{
    static atomic_int no_pwait2;
    if (!atomic_load(&no_pwait2)) {
        struct timespec ts = {(time_t)(wait_us / 1000000), (long)(wait_us % 1000000) * 1000};
        int n = epoll_pwait2(w->ep_fd, ev, max, &ts, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        atomic_store(&no_pwait2, 1);
    }
    return epoll_wait(w->ep_fd, ev, max, (int)((wait_us + 999) / 1000));
}

/* Waits up to wait_us (at most 50 ms) for a connection's activity, libcurl's timer or a
 * wakeup (send_wakeup), and hands what happened to libcurl. */
static void send_wait(struct worker *w, long long wait_us)
{
    struct epoll_event ev[64];
    int n = send_epoll(w, ev, 64, wait_us > 50000 ? 50000 : wait_us < 0 ? 0 : wait_us);
    for (int i = 0; i < n; i++) {
        if (ev[i].data.fd == w->wake_fd) {
            uint64_t v;
            if (read(w->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
                log_warn("sender wakeup: %s", strerror(errno));
            continue;
        }
        int flags = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                    (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                    (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        int still;
        curl_multi_socket_action(w->multi, ev[i].data.fd, flags, &still);
    }
    send_curl_timer(w);
}

/* Starts the picked jobs, each on a free handle (made when none is free). */
static void send_start(struct worker *w, struct job **batch, size_t nb)
{
    for (size_t i = 0; i < nb; i++) {
        int slot = easy_take(w);
        if (slot >= 0) {
            start_job(w, batch[i], slot);
            continue;
        }
        /* No handle could be made (out of memory): a new slot later. */
        pthread_mutex_lock(&w->mu);
        batch[i]->started = 0;
        if (batch[i]->acct)
            batch[i]->acct->inflight--;
        w->inflight--;
        jobq_push(&w->reslot, batch[i]);
        pthread_mutex_unlock(&w->mu);
    }
}

void send_loop(struct worker *w)
{
    struct job **batch = calloc((size_t)w->inflight_limit + 1, sizeof *batch);
    if (!batch) {
        log_error("out of memory");
        return;
    }
    for (;;) {
        long long wait_us = 50000;
        int finished = 0;
        pthread_mutex_lock(&w->mu);
        size_t nb = send_pick(w, batch, &wait_us);
        if (w->claimer_done && w->nheap == 0 && w->inflight == 0)
            finished = 1;
        pthread_mutex_unlock(&w->mu);
        if (finished)
            break;
        send_start(w, batch, nb);
        send_curl_timer(w);

        CURLMsg *msg;
        int left;
        size_t ndone = 0;
        while ((msg = curl_multi_info_read(w->multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            struct job *j = NULL;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&j);
            j->curl_rc = msg->data.result;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &j->http_status);
            curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &j->latency_s);
            curl_multi_remove_handle(w->multi, e);
            /* The error buffer belongs to the job, which is freed after recording. */
            curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
            w->free_idx[w->nfree++] = j->easy_idx;
            decide(w, j);
            free(j->body);
            j->body = NULL;
            batch[ndone++] = j;
            if (ndone == (size_t)w->inflight_limit) {
                send_finished(w, batch, ndone);
                ndone = 0;
            }
        }
        if (ndone) {
            send_finished(w, batch, ndone);
            continue; /* handles came free: look at the heap again at once */
        }
        if (w->curl_due_us >= 0 && w->curl_due_us - now_us() < wait_us)
            wait_us = w->curl_due_us - now_us();
        send_wait(w, wait_us);
    }
    free(batch);
    pthread_mutex_lock(&w->mu);
    w->sender_done = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}
