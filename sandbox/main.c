/* pregon-sandbox: options (command line, or PREGON_SANDBOX_<NAME> in the environment),
 * start-up, and a clean stop on SIGTERM/SIGINT. */
#include "sandbox.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <stdarg.h>
#include <pthread.h>

#include <curl/curl.h>
#include <sodium.h>

#define FLUSH_ON_STOP_MS 3000

struct sb_opts sb_opts;
uint64_t sb_started_ms;

enum {
    O_LISTEN = 1,
    O_WEBHOOK_URL,
    O_APP_SECRET,
    O_ACCESS_TOKEN,
    O_WABA_ID,
    O_PHONE_NUMBER_ID,
    O_DISPLAY_PHONE,
    O_THREADS,
    O_LATENCY_MS,
    O_RATE_LIMIT,
    O_WEBHOOK_DELAY_MS,
    O_STATUSES,
    O_WEBHOOK_WORKERS,
    O_WEBHOOK_QUEUE_MAX,
    O_WEBHOOK_TRIES,
    O_NO_RECORD_REQUESTS,
    O_STRICT_COMPONENTS,
    O_LOG,
    O_PID_FILE,
    O_HELP,
    O_VERSION,
};

static const struct option long_opts[] = {
    {"listen", required_argument, NULL, O_LISTEN},
    {"webhook-url", required_argument, NULL, O_WEBHOOK_URL},
    {"app-secret", required_argument, NULL, O_APP_SECRET},
    {"access-token", required_argument, NULL, O_ACCESS_TOKEN},
    {"waba-id", required_argument, NULL, O_WABA_ID},
    {"phone-number-id", required_argument, NULL, O_PHONE_NUMBER_ID},
    {"display-phone", required_argument, NULL, O_DISPLAY_PHONE},
    {"threads", required_argument, NULL, O_THREADS},
    {"latency-ms", required_argument, NULL, O_LATENCY_MS},
    {"rate-limit", required_argument, NULL, O_RATE_LIMIT},
    {"webhook-delay-ms", required_argument, NULL, O_WEBHOOK_DELAY_MS},
    {"statuses", required_argument, NULL, O_STATUSES},
    {"webhook-workers", required_argument, NULL, O_WEBHOOK_WORKERS},
    {"webhook-queue-max", required_argument, NULL, O_WEBHOOK_QUEUE_MAX},
    {"webhook-tries", required_argument, NULL, O_WEBHOOK_TRIES},
    {"no-record-requests", no_argument, NULL, O_NO_RECORD_REQUESTS},
    {"strict-components", no_argument, NULL, O_STRICT_COMPONENTS},
    {"log", required_argument, NULL, O_LOG},
    {"pid-file", required_argument, NULL, O_PID_FILE},
    {"help", no_argument, NULL, O_HELP},
    {"version", no_argument, NULL, O_VERSION},
    {NULL, 0, NULL, 0},
};

/* phone ids and display numbers are collected as lists, then paired */
static char *phone_list, *display_list;
static bool phones_from_cli, displays_from_cli;

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: pregon-sandbox [options]   (each option also as PREGON_SANDBOX_<NAME>)\n"
            "  --listen HOST:PORT          address to serve (default 127.0.0.1:8090)\n"
            "  --webhook-url URL           where status webhooks go (empty = none)\n"
            "  --app-secret S              key of X-Hub-Signature-256 on webhooks\n"
            "  --access-token T            the Bearer token Graph calls must carry\n"
            "  --waba-id ID                WhatsApp Business Account id\n"
            "  --phone-number-id ID[,ID]   phone number id(s); repeatable\n"
            "  --display-phone N[,N]       display number(s), paired with the ids\n"
            "  --threads N                 HTTP worker threads (default 2)\n"
            "  --latency-ms N              added before answering sends (default 0)\n"
            "  --rate-limit N              messages/s per phone number id, 0 = off (default 0)\n"
            "  --webhook-delay-ms N        gap between status events (default 200)\n"
            "  --statuses LIST             statuses to emit (default sent,delivered,read)\n"
            "  --webhook-workers N         parallel webhook POSTers (default 2)\n"
            "  --webhook-queue-max N       messages awaiting webhooks (default 1000000)\n"
            "  --webhook-tries N           POST attempts per status (default 6)\n"
            "  --no-record-requests        do not keep each send's request JSON\n"
            "  --strict-components         a template's header/button params are mandatory\n"
            "  --log FILE                  log here instead of stderr\n"
            "  --pid-file FILE             write the pid here\n");
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "pregon-sandbox: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

static int set_str(char **dst, const char *v)
{
    char *c = strdup(v);
    if (!c)
        return -1;
    free(*dst);
    *dst = c;
    return 0;
}

static int set_uint(unsigned *dst, const char *name, const char *v, unsigned long long min,
                    unsigned long long max)
{
    unsigned long long u;
    char range[64];
    if (sb_parse_uint(v, max, &u) < 0 || u < min) {
        snprintf(range, sizeof range, "%llu..%llu", min, max);
        fprintf(stderr, "pregon-sandbox: --%s wants an integer %s, not \"%s\"\n", name, range, v);
        return -1;
    }
    *dst = (unsigned)u;
    return 0;
}

static bool valid_id(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < SB_ID_MAX &&
           s[strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz"
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-+")] == '\0';
}

/* Appends to a comma-separated list; the first command-line value drops what came from the
 * environment. */
static int add_to_list(char **list, bool *from_cli, bool cli, const char *v)
{
    if (cli && !*from_cli) {
        free(*list);
        *list = NULL;
        *from_cli = true;
    }
    size_t old = *list ? strlen(*list) : 0;
    char *n = realloc(*list, old + strlen(v) + 2);
    if (!n)
        return -1;
    if (old)
        n[old++] = ',';
    strcpy(n + old, v);
    *list = n;
    return 0;
}

static int parse_statuses(const char *v)
{
    char buf[128];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", v);
    if (!strcmp(buf, "none") || !*buf) {
        sb_opts.nstatuses = 0;
        return 0;
    }
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int st = sb_status_parse(t);
        for (int i = 0; st >= 0 && i < n; i++)
            if (sb_opts.statuses[i] == st)
                st = -1;
        if (st < 0 || n == SB_MAX_STATUSES)
            return fail("--statuses wants distinct sent,delivered,read (or none), not \"%s\"", v);
        sb_opts.statuses[n++] = (uint8_t)st;
    }
    sb_opts.nstatuses = n;
    return 0;
}

static bool env_true(const char *v)
{
    return !strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
           !strcasecmp(v, "on");
}

static int set_option(int id, const char *v, bool cli)
{
    const char *name = long_opts[id - 1].name;
    switch (id) {
    case O_LISTEN:
        return set_str(&sb_opts.listen, v);
    case O_WEBHOOK_URL:
        if (*v && strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
            return fail("--webhook-url wants an http(s):// URL, not \"%s\"", v);
        return set_str(&sb_opts.webhook_url, v);
    case O_APP_SECRET:
        return set_str(&sb_opts.app_secret, v);
    case O_ACCESS_TOKEN:
        return set_str(&sb_opts.access_token, v);
    case O_WABA_ID:
        if (!valid_id(v))
            return fail("--waba-id: bad id \"%s\"", v);
        snprintf(sb_opts.waba_id, sizeof sb_opts.waba_id, "%s", v);
        return 0;
    case O_PHONE_NUMBER_ID:
        return add_to_list(&phone_list, &phones_from_cli, cli, v);
    case O_DISPLAY_PHONE:
        return add_to_list(&display_list, &displays_from_cli, cli, v);
    case O_THREADS:
        return set_uint(&sb_opts.threads, name, v, 1, 64);
    case O_LATENCY_MS:
        return set_uint(&sb_opts.latency_ms, name, v, 0, 600000);
    case O_RATE_LIMIT:
        return set_uint(&sb_opts.rate_limit, name, v, 0, 1000000);
    case O_WEBHOOK_DELAY_MS:
        return set_uint(&sb_opts.webhook_delay_ms, name, v, 0, 3600000);
    case O_STATUSES:
        return parse_statuses(v);
    case O_WEBHOOK_WORKERS:
        return set_uint(&sb_opts.webhook_workers, name, v, 1, 16);
    case O_WEBHOOK_QUEUE_MAX:
        return set_uint(&sb_opts.webhook_queue_max, name, v, 1, 100000000);
    case O_WEBHOOK_TRIES:
        return set_uint(&sb_opts.webhook_tries, name, v, 1, 20);
    case O_NO_RECORD_REQUESTS:
        sb_opts.record_requests = !(cli || env_true(v));
        return 0;
    case O_STRICT_COMPONENTS:
        sb_opts.strict_components = cli || env_true(v);
        return 0;
    case O_LOG:
        return set_str(&sb_opts.log_path, v);
    case O_PID_FILE:
        return set_str(&sb_opts.pid_file, v);
    }
    return 0;
}

/* Pairs the phone number ids with display numbers; missing display numbers continue from
 * the last one given (15550001111, 15550001112, ...). */
static int build_phones(void)
{
    char *save = NULL, *dsave = NULL;
    char last_display[SB_ID_MAX] = "15550001111";
    unsigned long long extra = 0;
    char *d = display_list ? strtok_r(display_list, ",", &dsave) : NULL;

    sb_opts.nphones = 0;
    for (char *t = strtok_r(phone_list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (!*t)
            continue;
        if (!valid_id(t))
            return fail("--phone-number-id: bad id \"%s\"", t);
        if (sb_opts.nphones == SB_MAX_PHONES)
            return fail("--phone-number-id: at most %d numbers", SB_MAX_PHONES);
        if (sb_phone_find(t) >= 0)
            return fail("--phone-number-id: \"%s\" given twice", t);
        struct sb_phone *p = &sb_opts.phones[sb_opts.nphones++];
        snprintf(p->id, sizeof p->id, "%s", t);
        if (d) {
            snprintf(last_display, sizeof last_display, "%s", d);
            snprintf(p->display, sizeof p->display, "%s", d);
            extra = 0;
            d = strtok_r(NULL, ",", &dsave);
        } else {
            unsigned long long num;
            extra++;
            if (sb_parse_uint(last_display, 999999999999999ull, &num) == 0)
                snprintf(p->display, sizeof p->display, "%llu", num + extra);
            else
                snprintf(p->display, sizeof p->display, "%s", last_display);
        }
    }
    if (sb_opts.nphones == 0)
        return fail("at least one --phone-number-id is needed");
    return 0;
}

int sb_phone_find(const char *id)
{
    for (int i = 0; i < sb_opts.nphones; i++)
        if (!strcmp(sb_opts.phones[i].id, id))
            return i;
    return -1;
}

static int parse_options(int argc, char **argv)
{
    int c;

    sb_opts.threads = 2;
    sb_opts.webhook_delay_ms = 200;
    sb_opts.statuses[0] = SB_ST_SENT;
    sb_opts.statuses[1] = SB_ST_DELIVERED;
    sb_opts.statuses[2] = SB_ST_READ;
    sb_opts.nstatuses = 3;
    sb_opts.webhook_workers = 2;
    sb_opts.webhook_queue_max = 1000000;
    sb_opts.webhook_tries = 6;
    sb_opts.record_requests = true;
    snprintf(sb_opts.waba_id, sizeof sb_opts.waba_id, "102290129340398");
    if (set_str(&sb_opts.listen, "127.0.0.1:8090") < 0 || set_str(&sb_opts.webhook_url, "") < 0 ||
        set_str(&sb_opts.app_secret, "sandbox-app-secret") < 0 ||
        set_str(&sb_opts.access_token, "sandbox-token") < 0)
        return -1;

    /* the environment first, so the command line wins */
    for (const struct option *o = long_opts; o->name; o++) {
        char env[64] = "PREGON_SANDBOX_";
        size_t n = strlen(env);
        const char *v;
        if (o->val == O_HELP || o->val == O_VERSION)
            continue;
        for (const char *p = o->name; *p && n < sizeof env - 1; p++)
            env[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        env[n] = '\0';
        if ((v = getenv(env)) != NULL && set_option(o->val, v, false) < 0)
            return fail("(from %s)", env);
    }
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == O_HELP) {
            usage(stdout);
            exit(0);
        }
        if (c == O_VERSION) {
            printf("pregon-sandbox %s\n", SB_VERSION);
            exit(0);
        }
        if (c == '?' || set_option(c, optarg ? optarg : "", true) < 0) {
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc)
        return fail("unexpected argument \"%s\"", argv[optind]);
    if (!*sb_opts.access_token)
        return fail("--access-token must not be empty");
    /* defaults only now, so the environment's lists replace them instead of extending them */
    if ((!phone_list && set_str(&phone_list, "106540352242922") < 0) ||
        (!display_list && set_str(&display_list, "15550001111") < 0))
        return -1;
    return build_phones();
}

static void free_options(void)
{
    free(sb_opts.listen);
    free(sb_opts.webhook_url);
    if (sb_opts.app_secret)
        sodium_memzero(sb_opts.app_secret, strlen(sb_opts.app_secret));
    free(sb_opts.app_secret);
    if (sb_opts.access_token)
        sodium_memzero(sb_opts.access_token, strlen(sb_opts.access_token));
    free(sb_opts.access_token);
    free(sb_opts.log_path);
    free(sb_opts.pid_file);
    free(phone_list);
    free(display_list);
    memset(&sb_opts, 0, sizeof sb_opts);
}

static int write_pid_file(void)
{
    FILE *fp;
    if (!sb_opts.pid_file)
        return 0;
    if (!(fp = fopen(sb_opts.pid_file, "w"))) {
        sb_log("cannot write pid file %s: %s", sb_opts.pid_file, strerror(errno));
        return -1;
    }
    fprintf(fp, "%ld\n", (long)getpid());
    return fclose(fp) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    sigset_t sigs;
    int sig = 0, rc = 1;
    bool server_up = false, wh_up = false;

    if (parse_options(argc, argv) < 0) {
        free_options();
        return 2;
    }
    sb_log_open(sb_opts.log_path);
    sb_started_ms = sb_mono_ms();
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        sb_log("cannot initialise libsodium/libcurl");
        goto out;
    }
    if (sb_tmpl_init() < 0 || sb_cfg_init() < 0 || sb_store_init() < 0)
        goto out;

    /* every thread inherits this mask, so signals are only seen by sigwait below */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (sb_wh_start() < 0) {
        sb_log("cannot start the webhook dispatcher");
        goto stop;
    }
    wh_up = true;
    if (sb_server_start() < 0)
        goto stop;
    server_up = true;
    if (write_pid_file() < 0)
        goto stop;
    sb_log("listening on %s: waba %s, %d phone number(s) (first %s), webhooks %s, %u threads",
           sb_opts.listen, sb_opts.waba_id, sb_opts.nphones, sb_opts.phones[0].id,
           *sb_opts.webhook_url ? sb_opts.webhook_url : "off", sb_opts.threads);

    for (;;) {
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        sb_log_close(); /* SIGHUP: reopen the log (after rotation) */
        sb_log_open(sb_opts.log_path);
    }
    sb_log("signal %d: stopping", sig);
    rc = 0;

stop:
    if (server_up)
        sb_server_stop();
    if (wh_up)
        sb_wh_stop(FLUSH_ON_STOP_MS);
    if (sb_opts.pid_file && server_up)
        unlink(sb_opts.pid_file);
out:
    sb_store_free();
    sb_cfg_free();
    curl_global_cleanup();
    sb_log("stopped");
    sb_log_close();
    free_options();
    return rc;
}
