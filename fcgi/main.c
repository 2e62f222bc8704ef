/* pregon-fcgi: the FastCGI responder behind nginx (JSON API and Meta's webhook).
 *
 *   pregon-fcgi [-c FILE] [--pool api|webhook]
 *
 * It opens the unix socket named by fcgi_socket (or, when started by spawn-fcgi or Apache's
 * mod_fcgid, uses the listening socket it inherits as fd 0), then runs fcgi_procs processes
 * that accept on it, restarting any that dies. SIGTERM or SIGINT stop it cleanly.
 *
 * --pool webhook runs the webhook pool instead: its own socket (webhook_socket), its own
 * webhook_procs processes, serving /webhook only, and applying the stored events. nginx sends
 * /webhook there, so nothing done to the API pool (a crash, a slow export, a restart) reaches
 * webhook ingestion. Without webhook_socket, the API pool serves /webhook as well. */
#include <errno.h>
#include <fcgiapp.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "auth.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "msgcat.h"
#include "privdrop.h"
#include "userauth.h"

/* Set by the handler, read by every request thread: a lock-free atomic (sig_atomic_t is only
 * safe within one thread). */
static atomic_int stopping;
/* This process tree is the webhook pool (--pool webhook): /webhook only. */
static int webhook_pool;

/* Each process serves REQUEST_THREADS requests at once. POST /webhook runs on any of them
 * in parallel (webhook.c is written for it: concurrent webhooks share one commit); every
 * other request holds app_mu, so the API code and the process's connection see one request
 * at a time, as always. */
#define REQUEST_THREADS 4
static pthread_mutex_t app_mu = PTHREAD_MUTEX_INITIALIZER;

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

static int set_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop; /* no SA_RESTART: a blocked accept() must return */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void handle(struct app *app, FCGX_Request *fr)
{
    struct request req;
    memset(&req, 0, sizeof req);
    req.fcgi = fr;
    req.app = app;
    req.method = http_env(&req, "REQUEST_METHOD");
    req.path = http_env(&req, "PATH_INFO");
    if (!req.path || !*req.path)
        req.path = http_env(&req, "DOCUMENT_URI");
    req.query = http_env(&req, "QUERY_STRING");
    req.content_type = http_env(&req, "CONTENT_TYPE");
    char *lang = http_query_param(req.query, "lang");
    req.lang = msgcat_lang(lang, http_env(&req, "HTTP_ACCEPT_LANGUAGE"));
    free(lang);
    req.remote_addr = http_env(&req, "REMOTE_ADDR");
    const char *cl = http_env(&req, "CONTENT_LENGTH");
    req.content_length = -1;
    if (cl && *cl) {
        char *end;
        errno = 0;
        long long v = strtoll(cl, &end, 10);
        if (!errno && *end == '\0' && v >= 0)
            req.content_length = v;
    }
    int webhook = req.method && req.path && strcmp(req.method, "POST") == 0 &&
                  strcmp(req.path, "/webhook") == 0;
    if (webhook_pool && !webhook && !(req.path && strcmp(req.path, "/webhook") == 0)) {
        /* nginx sends only /webhook here; anything else belongs to the API pool */
        req.route = NULL;
        http_error(&req, 404, "not_found", "the webhook pool serves /webhook only", NULL);
    } else if (webhook) {
        /* Anonymous, no session: nothing of app_dispatch's access checks applies. */
        req.route = "/webhook";
        req.role = ROLE_ANONYMOUS;
        webhook_receive(&req);
    } else {
        pthread_mutex_lock(&app_mu);
        if (!req.method || !req.path)
            http_error(&req, 400, "bad_request", "missing request method or path", NULL);
        else
            app_dispatch(&req);
        pthread_mutex_unlock(&app_mu);
    }
    /* Drain what the handler did not read, so the kept-alive connection stays in step. */
    char sink[16384];
    while (FCGX_GetStr(sink, sizeof sink, fr->in) > 0)
        ;
    if (log_enabled(LOG_DEBUG))
        log_debug("%s %s -> %d", req.method ? req.method : "-", req.path ? req.path : "-",
                  req.status);
    /* Routes, not raw paths, as labels: a bounded set whatever clients send. */
    char labels[160];
    snprintf(labels, sizeof labels, "route=\"%s %s\",status=\"%d\"", req.route ? req.method : "-",
             req.route ? req.route : "unmatched", req.status);
    metrics_add("pregon_http_requests_total", labels, 1);
    free(req.body);
}

struct serve_arg {
    struct app *app;
    int listen_fd;
    int main_thread; /* the one that gets the stop signals and flushes idle counts */
};

/* One request thread's accept loop. */
static void *serve(void *p)
{
    struct serve_arg *a = p;
    struct app *app = a->app;
    FCGX_Request fr;
    if (FCGX_InitRequest(&fr, a->listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        log_error("FCGX_InitRequest failed");
        return NULL;
    }
    while (!stopping) {
        /* Before blocking for the next request, give counts a second to be joined by more,
         * then flush them: an idle process must not sit on them. */
        if (a->main_thread && metrics_pending()) {
            struct pollfd pf = {.fd = fr.ipcFd >= 0 ? fr.ipcFd : a->listen_fd, .events = POLLIN};
            int n = poll(&pf, 1, 1000);
            if (n == 0) {
                pthread_mutex_lock(&app_mu);
                metrics_flush(app->db, 0);
                pthread_mutex_unlock(&app_mu);
            }
            if (n < 0 && errno == EINTR)
                continue;
        }
        if (FCGX_Accept_r(&fr) < 0) {
            if (stopping)
                break;
            if (errno == EINTR)
                continue;
            log_error("accept failed: %s", strerror(errno));
            break;
        }
        handle(app, &fr);
        FCGX_Finish_r(&fr);
        if (a->main_thread) {
            pthread_mutex_lock(&app_mu);
            metrics_flush(app->db, 5.0);
            pthread_mutex_unlock(&app_mu);
        }
    }
    FCGX_Free(&fr, 1);
    return NULL;
}

static int child_main(struct app *app, int listen_fd)
{
    app->db = db_open(&app->cfg);
    if (!app->db) {
        log_error("out of memory");
        return 1;
    }
    /* Webhook events are applied off the request path, by this thread (webhook.c), in the
     * pool that receives them: the webhook pool, else the API pool. */
    if ((webhook_pool || !app->cfg.webhook_socket[0]) && webhook_applier_start(app) < 0)
        log_error("cannot start the webhook applier thread; stored events wait for "
                  "another process or pregonctl webhooks-apply");
    /* The other request threads start with signals blocked: a stop signal interrupts the
     * main thread's accept(); the process then exits, ending them. */
    struct serve_arg args[REQUEST_THREADS];
    pthread_t threads[REQUEST_THREADS];
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 1; i < REQUEST_THREADS; i++) {
        args[i] = (struct serve_arg){.app = app, .listen_fd = listen_fd, .main_thread = 0};
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&threads[i], &at, serve, &args[i]) != 0)
            log_warn("cannot start request thread %d; serving with fewer", i);
        pthread_attr_destroy(&at);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    args[0] = (struct serve_arg){.app = app, .listen_fd = listen_fd, .main_thread = 1};
    serve(&args[0]);
    webhook_applier_stop();
    pthread_mutex_lock(&app_mu); /* a request in another thread finishes first */
    metrics_flush(app->db, 0);
    db_close(app->db);
    app->db = NULL;
    /* The other request threads end with the process (_exit), mid-request at worst: an
     * unanswered webhook is delivered again by Meta, and storing is idempotent to apply. */
    return 0;
}

static int open_socket(const struct config *cfg, const char *path)
{
    /* Under spawn-fcgi or mod_fcgid the listening socket is fd 0. */
    if (!FCGX_IsCGI())
        return 0;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    mode_t old = umask(0117);
    int fd = FCGX_OpenSocket(path, 1024);
    umask(old);
    if (fd < 0) {
        log_error("cannot listen on %s: %s", path, strerror(errno));
        return -1;
    }
    /* "host:port" is TCP (another host's nginx reaches it): no file to protect. */
    if (!strchr(path, '/') && strchr(path, ':'))
        return fd;
    /* nginx workers reach the socket through its group, never through "others". */
    if (cfg->fcgi_socket_group && *cfg->fcgi_socket_group) {
        struct group *g = getgrnam(cfg->fcgi_socket_group);
        if (!g || chown(path, (uid_t)-1, g->gr_gid) < 0) {
            log_error("cannot give %s to group %s", path, cfg->fcgi_socket_group);
            close(fd);
            return -1;
        }
    }
    if (chmod(path, 0660) < 0) {
        log_error("chmod %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* --routes: the route table as JSON, for the permission tests (tests/integration). */
static int print_routes(void)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < app_nroutes; i++) {
        const struct route *r = &app_routes[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "method", json_object_new_string(r->method));
        json_object_object_add(o, "pattern", json_object_new_string(r->pattern));
        json_object_object_add(o, "min_role",
                               json_object_new_string(userauth_role_name((int)r->min_role)));
        json_object_object_add(o, "csrf", json_object_new_boolean(auth_route_needs_csrf(r)));
        json_object_array_add(arr, o);
    }
    puts(json_object_to_json_string_ext(arr,
                                        JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(arr);
    return 0;
}

/* Keeps nprocs children serving fd until a stop signal, starting another when one ends. */
static void supervise(struct app *app, int fd, pid_t *kids, int nprocs)
{
    time_t last_fork_burst = 0;
    int burst = 0;
    while (!stopping) {
        for (int i = 0; i < nprocs && !stopping; i++) {
            if (kids[i] > 0)
                continue;
            /* A child that dies at once again and again must not spin the CPU. */
            time_t now = time(NULL);
            if (now == last_fork_burst && ++burst > nprocs * 2) {
                sleep(1);
                burst = 0;
            } else if (now != last_fork_burst) {
                last_fork_burst = now;
                burst = 0;
            }
            pid_t pid = fork();
            if (pid < 0) {
                log_error("fork: %s", strerror(errno));
                sleep(1);
                continue;
            }
            if (pid == 0) {
                free(kids);
                int rc = child_main(app, fd);
                secret_key_wipe(&app->key);
                config_free(&app->cfg);
                _exit(rc);
            }
            kids[i] = pid;
        }
        int status;
        pid_t dead = waitpid(-1, &status, 0);
        if (dead < 0)
            continue; /* EINTR: a stop signal */
        for (int i = 0; i < nprocs; i++) {
            if (kids[i] == dead) {
                kids[i] = 0;
                if (!stopping)
                    log_warn("process %d ended (status %d); starting another", (int)dead, status);
            }
        }
    }
}

int main(int argc, char **argv)
{
    static struct app app;
    char err[512] = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--routes") == 0)
            return print_routes();
        if (strcmp(argv[i], "--pool") == 0 && i + 1 < argc) {
            if (strcmp(argv[i + 1], "webhook") == 0)
                webhook_pool = 1;
            else if (strcmp(argv[i + 1], "api") != 0) {
                fprintf(stderr, "pregon-fcgi: --pool is api or webhook\n");
                return 2;
            }
        }
    }
    if (config_load(&app.cfg, config_path_from_args(argc, argv), err, sizeof err) < 0) {
        fprintf(stderr, "pregon-fcgi: %s\n", err);
        return 1;
    }
    if (log_init("fcgi", app.cfg.log_level, app.cfg.log_file) < 0) {
        fprintf(stderr, "pregon-fcgi: cannot open log file %s\n", app.cfg.log_file);
        return 1;
    }
    if (strcmp(app.cfg.auth_mode, "sessions") != 0 && strcmp(app.cfg.auth_mode, "none") != 0) {
        log_error("auth_mode must be \"sessions\" or \"none\", not \"%s\"", app.cfg.auth_mode);
        return 1;
    }
    if (strcmp(app.cfg.auth_mode, "none") == 0)
        log_warn("auth_mode is none: whoever reaches the API acts as superadmin");
    if (sodium_init() < 0) {
        log_error("libsodium failed to initialise");
        return 1;
    }
    if (set_signals() < 0 || FCGX_Init() != 0) {
        log_error("initialisation failed");
        return 1;
    }
    /* The key is read before privileges are dropped; the webhook needs it for app secrets. */
    if (secret_key_load(&app.key, app.cfg.secrets_key_file, err, sizeof err) == 0)
        app.have_key = 1;
    else
        log_warn("no secrets key (%s): webhooks can't be verified", err);

    const char *sock = webhook_pool ? app.cfg.webhook_socket : app.cfg.fcgi_socket;
    if (webhook_pool && !*sock) {
        log_error("--pool webhook needs webhook_socket");
        return 1;
    }
    int fd = open_socket(&app.cfg, sock);
    if (fd < 0)
        return 1;
    /* After binding, before serving anything: never as root (lib/privdrop.c). */
    if (privdrop_to(app.cfg.run_as_user, err, sizeof err) < 0) {
        log_error("%s", err);
        fprintf(stderr, "pregon-fcgi: %s\n", err);
        if (fd != 0 && strchr(sock, '/'))
            unlink(sock);
        return 1;
    }

    int nprocs = webhook_pool ? app.cfg.webhook_procs : app.cfg.fcgi_procs;
    pid_t *kids = calloc((size_t)nprocs, sizeof *kids);
    if (!kids) {
        log_error("out of memory");
        return 1;
    }
    log_info("%s pool listening on %s with %d processes", webhook_pool ? "webhook" : "API",
             fd == 0 ? "fd 0" : sock, nprocs);
    supervise(&app, fd, kids, nprocs);
    for (int i = 0; i < nprocs; i++)
        if (kids[i] > 0)
            kill(kids[i], SIGTERM);
    for (int i = 0; i < nprocs; i++)
        if (kids[i] > 0)
            waitpid(kids[i], NULL, 0);
    if (fd != 0 && strchr(sock, '/'))
        unlink(sock);
    free(kids);
    secret_key_wipe(&app.key);
    config_free(&app.cfg);
    log_info("stopped");
    return 0;
}
