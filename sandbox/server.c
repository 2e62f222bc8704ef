/* libmicrohttpd glue: an epoll thread pool, bounded request bodies, routing, and answers
 * delayed by latency_ms without holding a thread (the connection is suspended and a timer
 * thread resumes it when due). */
#include "sandbox.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

struct req_ctx {
    char *body;
    size_t len, cap, limit;
    bool too_large;
    bool delayed; /* reply is ready; waiting to be resumed */
    struct sb_reply reply;
};

struct delayed {
    uint64_t due;
    struct MHD_Connection *conn;
};

static struct MHD_Daemon *daemon_;
static MHD_socket listen_fd = MHD_INVALID_SOCKET;

static pthread_mutex_t timer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_cond;
static pthread_t timer_thread;
static bool timer_started, timer_stopping;
static struct delayed *theap;
static size_t tn, tcap;

/* ---- request helpers ------------------------------------------------------------------ */

const char *sb_req_header(const struct sb_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *sb_req_arg(const struct sb_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

void sb_reply_take(struct sb_reply *rp, unsigned status, char *body, size_t len)
{
    free(rp->body);
    rp->status = status;
    rp->body = body;
    rp->len = len;
    rp->ctype = "application/json";
}

void sb_reply_json(struct sb_reply *rp, unsigned status, json_object *obj)
{
    size_t len = 0;
    char *body = sb_json_take_text(obj, &len);
    sb_reply_take(rp, body ? status : 500, body, len);
}

void sb_reply_plain_error(struct sb_reply *rp, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    json_object *o = json_object_new_object();

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_object_object_add(o, "error", json_object_new_string(msg));
    sb_reply_json(rp, status, o);
}

void sb_reply_meta_error(struct sb_reply *rp, int code, const char *details)
{
    size_t len = 0;
    char *body = sb_error_body(code, details, &len);
    sb_reply_take(rp, sb_error_http_status(code), body, len);
}

static bool is_loopback(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

/* ---- delayed answers ------------------------------------------------------------------ */

static void theap_sift_up(size_t i)
{
    struct delayed d = theap[i];
    while (i > 0 && theap[(i - 1) / 2].due > d.due) {
        theap[i] = theap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    theap[i] = d;
}

static struct delayed theap_pop(void)
{
    struct delayed top = theap[0], last = theap[--tn];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= tn)
            break;
        if (c + 1 < tn && theap[c + 1].due < theap[c].due)
            c++;
        if (theap[c].due >= last.due)
            break;
        theap[i] = theap[c];
        i = c;
    }
    if (tn)
        theap[i] = last;
    return top;
}

/* Suspends the connection until delay_ms from now. -1 = answer right away instead. */
static int delay_answer(struct MHD_Connection *c, struct req_ctx *ctx, struct sb_reply *rp)
{
    int rc = -1;

    pthread_mutex_lock(&timer_lock);
    if (!timer_stopping && timer_started) {
        if (tn == tcap) {
            size_t ncap = tcap ? tcap * 2 : 256;
            struct delayed *nh = realloc(theap, ncap * sizeof *nh);
            if (!nh)
                goto out;
            theap = nh;
            tcap = ncap;
        }
        ctx->reply = *rp;
        ctx->delayed = true;
        MHD_suspend_connection(c);
        theap[tn].due = sb_mono_ms() + rp->delay_ms;
        theap[tn].conn = c;
        theap_sift_up(tn++);
        if (theap[0].conn == c)
            pthread_cond_signal(&timer_cond);
        rc = 0;
    }
out:
    pthread_mutex_unlock(&timer_lock);
    return rc;
}

static void *timer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&timer_lock);
    while (!timer_stopping) {
        if (tn == 0) {
            pthread_cond_wait(&timer_cond, &timer_lock);
            continue;
        }
        uint64_t now = sb_mono_ms();
        if (theap[0].due > now) {
            struct timespec ts = {.tv_sec = (time_t)(theap[0].due / 1000),
                                  .tv_nsec = (long)(theap[0].due % 1000) * 1000000L};
            pthread_cond_timedwait(&timer_cond, &timer_lock, &ts);
            continue;
        }
        struct delayed d = theap_pop();
        /* resume outside our lock: MHD takes its own */
        pthread_mutex_unlock(&timer_lock);
        MHD_resume_connection(d.conn);
        pthread_mutex_lock(&timer_lock);
    }
    pthread_mutex_unlock(&timer_lock);
    return NULL;
}

/* ---- MHD callbacks -------------------------------------------------------------------- */

static enum MHD_Result queue_reply(struct MHD_Connection *c, struct sb_reply *rp)
{
    static const char oom[] = "{\"error\":\"out of memory\"}";
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (rp->reset) {
        /* No answer at all: a RST (linger 0) as the connection closes. */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        if (ci)
            setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        free(rp->body);
        rp->body = NULL;
        return MHD_NO;
    }
    if (rp->body) {
        resp = MHD_create_response_from_buffer(rp->len, rp->body, MHD_RESPMEM_MUST_FREE);
        if (!resp)
            free(rp->body);
        rp->body = NULL;
    } else {
        rp->status = 500;
        rp->ctype = "application/json";
        resp = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            rp->ctype ? rp->ctype : "application/json");
    ret = MHD_queue_response(c, rp->status ? rp->status : 500, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void route(const struct sb_req *rq, struct sb_reply *rp)
{
    if (!strncmp(rq->url, "/_sandbox/", 10)) {
        /* the control API has no auth: only loopback peers may use it */
        if (!rq->loopback)
            sb_reply_plain_error(rp, 403, "the control API answers loopback clients only");
        else
            sb_control_handle(rq, rp);
    } else if (rq->url[0] == '/' && rq->url[1] == 'v') {
        sb_graph_handle(rq, rp);
    } else if (!strcmp(rq->url, "/")) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "service", json_object_new_string("pregon-sandbox"));
        json_object_object_add(o, "version", json_object_new_string(SB_VERSION));
        sb_reply_json(rp, 200, o);
    } else {
        sb_reply_meta_error(rp, 100, "Unknown path components");
        rp->status = 404;
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct req_ctx *ctx = *con_cls;
    struct sb_reply rp = {0};
    (void)cls, (void)version;

    if (!ctx) {
        const char *cl;
        unsigned long long n;
        if (!(ctx = calloc(1, sizeof *ctx)))
            return MHD_NO;
        *con_cls = ctx;
        ctx->limit = strncmp(url, "/_sandbox/", 10) ? SB_SEND_BODY_MAX : SB_CONTROL_BODY_MAX;
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && (sb_parse_uint(cl, ULLONG_MAX, &n) < 0 || n > ctx->limit)) {
            /* refuse before reading it; MHD closes the connection afterwards */
            sb_reply_meta_error(&rp, 100, "Request body too large");
            rp.status = 413;
            return queue_reply(c, &rp);
        }
        return MHD_YES;
    }
    if (ctx->delayed) {
        ctx->delayed = false;
        return queue_reply(c, &ctx->reply);
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (ctx->too_large || ctx->len + n > ctx->limit) {
            /* chunked bodies have no Content-Length: drop the data, answer 413 at the end */
            ctx->too_large = true;
            free(ctx->body);
            ctx->body = NULL;
            ctx->len = ctx->cap = 0;
            return MHD_YES;
        }
        if (ctx->len + n + 1 > ctx->cap) {
            size_t ncap = ctx->cap ? ctx->cap : 1024;
            while (ncap < ctx->len + n + 1)
                ncap *= 2;
            char *nb = realloc(ctx->body, ncap);
            if (!nb)
                return MHD_NO;
            ctx->body = nb;
            ctx->cap = ncap;
        }
        memcpy(ctx->body + ctx->len, upload_data, n);
        ctx->len += n;
        ctx->body[ctx->len] = '\0';
        return MHD_YES;
    }
    if (ctx->too_large) {
        sb_reply_meta_error(&rp, 100, "Request body too large");
        rp.status = 413;
        return queue_reply(c, &rp);
    }

    struct sb_req rq = {method, url, ctx->body ? ctx->body : "", ctx->len, c, is_loopback(c)};
    route(&rq, &rp);
    if (rp.delay_ms && delay_answer(c, ctx, &rp) == 0)
        return MHD_YES;
    return queue_reply(c, &rp);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req_ctx *ctx = *con_cls;
    (void)cls, (void)c, (void)toe;
    if (ctx) {
        free(ctx->body);
        free(ctx->reply.body);
        free(ctx);
        *con_cls = NULL;
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    sb_log("httpd: %s", msg);
}

/* ---- start / stop --------------------------------------------------------------------- */

/* "host:port", "[v6]:port", ":port" or "port" -> socket address. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char host[256] = "127.0.0.1";
    const char *port;
    struct addrinfo hints, *res = NULL;

    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof host)
            return -1;
        memcpy(host, spec + 1, (size_t)(end - spec - 1));
        host[end - spec - 1] = '\0';
        port = end + 2;
    } else if ((port = strrchr(spec, ':')) != NULL) {
        if ((size_t)(port - spec) >= sizeof host)
            return -1;
        if (port > spec) {
            memcpy(host, spec, (size_t)(port - spec));
            host[port - spec] = '\0';
        }
        port++;
    } else {
        port = spec;
    }
    unsigned long long p;
    if (sb_parse_uint(port, 65535, &p) < 0)
        return -1;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int sb_server_start(void)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    struct rlimit rl;
    pthread_condattr_t attr;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | MHD_USE_TURBO;

    if (parse_listen(sb_opts.listen, &ss, &sslen) < 0) {
        sb_log("bad --listen %s (want host:port)", sb_opts.listen);
        return -1;
    }
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* thousands of keep-alive connections need descriptors */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    if (pthread_condattr_init(&attr) != 0 ||
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&timer_cond, &attr) != 0)
        return -1;
    pthread_condattr_destroy(&attr);
    if (pthread_create(&timer_thread, NULL, timer_main, NULL) != 0)
        return -1;
    timer_started = true;

    daemon_ = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)(sb_opts.threads > 1 ? sb_opts.threads : 0), MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)10000, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned int)1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!daemon_) {
        sb_log("cannot listen on %s", sb_opts.listen);
        return -1;
    }
    return 0;
}

void sb_server_stop(void)
{
    if (daemon_)
        listen_fd = MHD_quiesce_daemon(daemon_);

    /* answer every delayed request now: MHD must not be stopped with suspended ones */
    pthread_mutex_lock(&timer_lock);
    timer_stopping = true;
    pthread_cond_signal(&timer_cond);
    pthread_mutex_unlock(&timer_lock);
    if (timer_started)
        pthread_join(timer_thread, NULL);
    timer_started = false;
    for (size_t i = 0; i < tn; i++)
        MHD_resume_connection(theap[i].conn);
    tn = 0;
    if (daemon_) {
        usleep(100 * 1000); /* let the resumed answers go out */
        MHD_stop_daemon(daemon_);
        daemon_ = NULL;
    }
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    listen_fd = MHD_INVALID_SOCKET;
    free(theap);
    theap = NULL;
    tcap = 0;
    pthread_cond_destroy(&timer_cond);
}
