/* Runtime configuration: starts as the command-line options, changed through
 * POST /_sandbox/config, restored by POST /_sandbox/reset. One mutex; every send takes it
 * once, briefly, to copy what it needs and to consume injected errors. */
#include "sandbox.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define MAX_RULES 1024

struct rule {
    uint64_t to_packed; /* 0 = every recipient ("*") */
    int code;
    int fault; /* enum sb_fault, with or without a code */
    bool async;
    long long times; /* -1 = forever */
};

struct cfg {
    unsigned latency_ms;
    unsigned latency_jitter_ms;
    unsigned rate_limit;
    bool webhooks;
    unsigned webhook_delay_ms;
    uint8_t statuses[SB_MAX_STATUSES];
    int nstatuses;
    bool record_requests;
    bool strict_components;
    char *webhook_url;
    char *app_secret;
    struct rule *rules;
    size_t nrules;
    int rate_code; /* error_rate; 0 = off */
    double rate_percent;
    bool rate_async;
    /* template pacing: sends of this template are held for a quality assessment */
    char pacing_template[SB_PACING_NAME_MAX + 1]; /* "" = off */
    unsigned pacing_hold_ms;
    /* faults: percent of sends for each (enum sb_fault), then Meta-code faults */
    double fault_pct[SB_FAULT_PRE_RESET + 1];
    unsigned late_ms;
    double throttle_pct, json5xx_pct, async_fail_pct, wh_dup_pct;
    unsigned wh_tries, wh_backoff_max_ms;
};

static const char *const fault_names[] = {"none",        "accept_reset", "accept_502",
                                          "accept_late", "pre_502",      "pre_reset"};

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cfg cur;

static const char *const status_names[] = {"sent", "delivered", "read", "failed"};

const char *sb_status_name(enum sb_status st)
{
    return status_names[st];
}

int sb_status_parse(const char *s)
{
    for (int i = SB_ST_SENT; i <= SB_ST_READ; i++)
        if (!strcmp(s, status_names[i]))
            return i;
    return -1;
}

static void cfg_clear(struct cfg *c)
{
    free(c->webhook_url);
    free(c->app_secret);
    free(c->rules);
    memset(c, 0, sizeof *c);
}

static int cfg_from_opts(struct cfg *c)
{
    memset(c, 0, sizeof *c);
    c->latency_ms = sb_opts.latency_ms;
    c->rate_limit = sb_opts.rate_limit;
    c->webhooks = true;
    c->webhook_delay_ms = sb_opts.webhook_delay_ms;
    memcpy(c->statuses, sb_opts.statuses, sizeof c->statuses);
    c->nstatuses = sb_opts.nstatuses;
    c->record_requests = sb_opts.record_requests;
    c->strict_components = sb_opts.strict_components;
    c->late_ms = 40000;
    c->wh_tries = sb_opts.webhook_tries;
    c->wh_backoff_max_ms = 60000;
    c->webhook_url = strdup(sb_opts.webhook_url ? sb_opts.webhook_url : "");
    c->app_secret = strdup(sb_opts.app_secret ? sb_opts.app_secret : "");
    if (!c->webhook_url || !c->app_secret) {
        cfg_clear(c);
        return -1;
    }
    return 0;
}

int sb_cfg_init(void)
{
    return cfg_from_opts(&cur);
}

void sb_cfg_reset(void)
{
    struct cfg fresh, old;
    if (cfg_from_opts(&fresh) < 0)
        return;
    pthread_mutex_lock(&cfg_lock);
    old = cur;
    cur = fresh;
    pthread_mutex_unlock(&cfg_lock);
    cfg_clear(&old);
}

void sb_cfg_free(void)
{
    cfg_clear(&cur);
}

void sb_cfg_snapshot(struct sb_send_cfg *out)
{
    pthread_mutex_lock(&cfg_lock);
    out->latency_ms = cur.latency_ms;
    out->latency_jitter_ms = cur.latency_jitter_ms;
    out->rate_limit = cur.rate_limit;
    out->webhooks = cur.webhooks && cur.webhook_url[0] != '\0';
    out->webhook_delay_ms = cur.webhook_delay_ms;
    memcpy(out->statuses, cur.statuses, sizeof out->statuses);
    out->nstatuses = cur.nstatuses;
    out->record_requests = cur.record_requests;
    out->strict_components = cur.strict_components;
    pthread_mutex_unlock(&cfg_lock);
}

bool sb_cfg_pacing(const char *template_name, unsigned *hold_ms)
{
    pthread_mutex_lock(&cfg_lock);
    bool held = cur.pacing_template[0] && strcmp(cur.pacing_template, template_name) == 0;
    if (held)
        *hold_ms = cur.pacing_hold_ms;
    pthread_mutex_unlock(&cfg_lock);
    return held;
}

void sb_cfg_webhook_target(char **url, char **secret)
{
    pthread_mutex_lock(&cfg_lock);
    *url = strdup(cur.webhook_url);
    *secret = strdup(cur.app_secret);
    pthread_mutex_unlock(&cfg_lock);
}

static bool chance(double pct)
{
    return pct > 0 && randombytes_uniform(1000000) < (uint32_t)(pct * 10000.0);
}

int sb_cfg_pick_error(uint64_t to_packed, bool *async, int *fault, unsigned *late_ms)
{
    int code = 0;
    bool ruled = false;

    *fault = SB_FAULT_NONE;
    pthread_mutex_lock(&cfg_lock);
    *late_ms = cur.late_ms;
    for (size_t i = 0; i < cur.nrules; i++) {
        struct rule *r = &cur.rules[i];
        if (r->times == 0 || (r->to_packed && r->to_packed != to_packed))
            continue;
        if (r->times > 0)
            r->times--;
        code = r->code;
        *async = r->async;
        *fault = r->fault;
        ruled = true;
        break;
    }
    if (!ruled && cur.rate_code && chance(cur.rate_percent)) {
        code = cur.rate_code;
        *async = cur.rate_async;
        ruled = true;
    }
    if (!ruled) {
        /* one draw over every fault rate: at most one fault per send */
        double x = randombytes_uniform(1000000) / 10000.0, acc = 0;
        for (int f = SB_FAULT_ACCEPT_RESET; f <= SB_FAULT_PRE_RESET && !*fault; f++)
            if (x < (acc += cur.fault_pct[f]))
                *fault = f;
        if (!*fault && x < (acc += cur.throttle_pct))
            code = 130429, *async = false;
        else if (!*fault && !code && x < (acc += cur.json5xx_pct))
            code = randombytes_uniform(2) ? 1 : 2, *async = false;
        else if (!*fault && !code && x < (acc += cur.async_fail_pct))
            code = randombytes_uniform(2) ? 131026 : 131049, *async = true;
    }
    pthread_mutex_unlock(&cfg_lock);
    return code;
}

double sb_cfg_webhook_dup_percent(void)
{
    pthread_mutex_lock(&cfg_lock);
    double p = cur.wh_dup_pct;
    pthread_mutex_unlock(&cfg_lock);
    return p;
}

void sb_cfg_webhook_retry(unsigned *tries, unsigned *backoff_max_ms)
{
    pthread_mutex_lock(&cfg_lock);
    *tries = cur.wh_tries;
    *backoff_max_ms = cur.wh_backoff_max_ms;
    pthread_mutex_unlock(&cfg_lock);
}

static int fault_parse(const char *s)
{
    for (int f = SB_FAULT_ACCEPT_RESET; s && f <= SB_FAULT_PRE_RESET; f++)
        if (!strcmp(s, fault_names[f]))
            return f;
    return -1;
}

/* `faults`: {"accept_reset":pct, "accept_502":pct, "accept_late":pct, "late_ms":N,
 * "pre_502":pct, "pre_reset":pct, "throttle":pct, "json_5xx":pct, "async_fail":pct,
 * "webhook_duplicate":pct, "webhook_tries":N, "webhook_backoff_max_ms":N}; absent keys 0
 * (late_ms 40000, webhook_tries the start-up option, webhook_backoff_max_ms 60000). */
static int parse_faults(json_object *o, struct cfg *n, char *err, size_t errlen)
{
    static const char *const pct_keys[] = {"throttle", "json_5xx", "async_fail",
                                           "webhook_duplicate"};
    double *pct_dst[] = {&n->throttle_pct, &n->json5xx_pct, &n->async_fail_pct, &n->wh_dup_pct};
    unsigned long long u;
    double total = 0;

    n->late_ms = 40000;
    n->wh_tries = sb_opts.webhook_tries;
    n->wh_backoff_max_ms = 60000;
    if (!json_object_is_type(o, json_type_object)) {
        snprintf(err, errlen, "faults must be an object");
        return -1;
    }
    json_object_object_foreach(o, key, val)
    {
        double *dst = NULL;
        int f = fault_parse(key);
        if (f > 0)
            dst = &n->fault_pct[f];
        for (size_t i = 0; !dst && i < sizeof pct_keys / sizeof pct_keys[0]; i++)
            if (!strcmp(key, pct_keys[i]))
                dst = pct_dst[i];
        if (dst) {
            if (!(json_object_is_type(val, json_type_int) ||
                  json_object_is_type(val, json_type_double)) ||
                json_object_get_double(val) < 0 || json_object_get_double(val) > 100) {
                snprintf(err, errlen, "faults.%.64s must be a percentage 0..100", key);
                return -1;
            }
            *dst = json_object_get_double(val);
            if (strcmp(key, "webhook_duplicate"))
                total += *dst;
        } else if (!strcmp(key, "late_ms")) {
            if (sb_json_uint(o, key, 600000, &u) != 0) {
                snprintf(err, errlen, "faults.late_ms must be an integer 0..600000");
                return -1;
            }
            n->late_ms = (unsigned)u;
        } else if (!strcmp(key, "webhook_tries")) {
            if (sb_json_uint(o, key, 100000, &u) != 0 || u == 0) {
                snprintf(err, errlen, "faults.webhook_tries must be an integer 1..100000");
                return -1;
            }
            n->wh_tries = (unsigned)u;
        } else if (!strcmp(key, "webhook_backoff_max_ms")) {
            if (sb_json_uint(o, key, 3600000, &u) != 0 || u < 250) {
                snprintf(err, errlen, "faults.webhook_backoff_max_ms must be 250..3600000");
                return -1;
            }
            n->wh_backoff_max_ms = (unsigned)u;
        } else {
            snprintf(err, errlen, "unknown key faults.%.64s", key);
            return -1;
        }
    }
    if (total > 100) {
        snprintf(err, errlen, "the fault percentages add up to more than 100");
        return -1;
    }
    return 0;
}

/* ---- POST /_sandbox/config ------------------------------------------------------------ */

static int parse_mode(json_object *o, bool *async, char *err, size_t errlen)
{
    json_object *v;
    *async = false;
    if (!json_object_object_get_ex(o, "mode", &v))
        return 0;
    const char *m = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    if (!strcmp(m, "sync") || !strcmp(m, "async")) {
        *async = m[0] == 'a';
        return 0;
    }
    snprintf(err, errlen, "mode must be \"sync\" or \"async\"");
    return -1;
}

static int parse_code(json_object *o, int *code, char *err, size_t errlen)
{
    unsigned long long v;
    if (sb_json_uint(o, "code", 2147483647ull, &v) != 0) {
        snprintf(err, errlen, "code must be a non-negative integer");
        return -1;
    }
    *code = (int)v;
    return 0;
}

static int parse_rule(json_object *o, struct rule *r, char *err, size_t errlen)
{
    json_object *v;
    const char *to = sb_json_str(o, "to");

    if (!json_object_is_type(o, json_type_object) || !to) {
        snprintf(err, errlen, "each errors[] entry needs \"to\" (a number or \"*\")");
        return -1;
    }
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        if (strcmp(key, "to") && strcmp(key, "code") && strcmp(key, "mode") &&
            strcmp(key, "times") && strcmp(key, "fault")) {
            snprintf(err, errlen, "unknown key errors[].%.64s", key);
            return -1;
        }
    }
    if (!strcmp(to, "*")) {
        r->to_packed = 0;
    } else {
        /* accept "+54 9 387 555-1234" style: keep digits only */
        char digits[24];
        size_t n = 0;
        for (const char *p = to; *p && n < sizeof digits - 1; p++)
            if (*p >= '0' && *p <= '9')
                digits[n++] = *p;
        digits[n] = '\0';
        r->to_packed = sb_msisdn_pack(digits);
        if (!r->to_packed) {
            snprintf(err, errlen, "errors[].to must be 8-15 digits or \"*\"");
            return -1;
        }
    }
    r->fault = SB_FAULT_NONE;
    if (json_object_object_get_ex(o, "fault", &v)) {
        r->fault =
            json_object_is_type(v, json_type_string) ? fault_parse(json_object_get_string(v)) : -1;
        if (r->fault < 0) {
            snprintf(err, errlen,
                     "errors[].fault must be accept_reset, accept_502, accept_late, pre_502 or "
                     "pre_reset");
            return -1;
        }
    }
    if ((r->fault == SB_FAULT_NONE || json_object_object_get_ex(o, "code", &v)) &&
        parse_code(o, &r->code, err, errlen) < 0)
        return -1;
    if (parse_mode(o, &r->async, err, errlen) < 0)
        return -1;
    r->times = -1;
    if (json_object_object_get_ex(o, "times", &v)) {
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < -1) {
            snprintf(err, errlen, "errors[].times must be -1 (forever) or >= 0");
            return -1;
        }
        r->times = json_object_get_int64(v);
    }
    return 0;
}

int sb_cfg_apply(json_object *in, char *err, size_t errlen)
{
    struct cfg n;
    bool set_latency = false, set_rate = false, set_wh = false, set_delay = false,
         set_statuses = false, set_rules = false, set_erate = false, set_record = false,
         set_strict = false, set_faults = false, set_jitter = false;
    unsigned long long u;
    json_object *v;
    char *url = NULL, *secret = NULL;
    int rc = -1;

    memset(&n, 0, sizeof n);
    if (!json_object_is_type(in, json_type_object)) {
        snprintf(err, errlen, "body must be a JSON object");
        return -1;
    }
    json_object_object_foreach(in, key, val)
    {
        (void)val;
        static const char *const keys[] = {
            "latency_ms",        "rate_limit",  "webhooks",   "statuses",
            "webhook_delay_ms",  "errors",      "error_rate", "record_requests",
            "strict_components", "webhook_url", "app_secret", "faults",
            "latency_jitter_ms", "pacing"};
        size_t i;
        for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (!strcmp(key, keys[i]))
                break;
        if (i == sizeof keys / sizeof keys[0]) {
            snprintf(err, errlen, "unknown key %.64s", key);
            return -1;
        }
    }

    switch (sb_json_uint(in, "latency_ms", 600000, &u)) {
    case 0:
        n.latency_ms = (unsigned)u, set_latency = true;
        break;
    case -1:
        snprintf(err, errlen, "latency_ms must be an integer 0..600000");
        return -1;
    }
    switch (sb_json_uint(in, "latency_jitter_ms", 600000, &u)) {
    case 0:
        n.latency_jitter_ms = (unsigned)u, set_jitter = true;
        break;
    case -1:
        snprintf(err, errlen, "latency_jitter_ms must be an integer 0..600000");
        return -1;
    }
    switch (sb_json_uint(in, "rate_limit", 1000000, &u)) {
    case 0:
        n.rate_limit = (unsigned)u, set_rate = true;
        break;
    case -1:
        snprintf(err, errlen, "rate_limit must be an integer 0..1000000 (0 = off)");
        return -1;
    }
    switch (sb_json_uint(in, "webhook_delay_ms", 3600000, &u)) {
    case 0:
        n.webhook_delay_ms = (unsigned)u, set_delay = true;
        break;
    case -1:
        snprintf(err, errlen, "webhook_delay_ms must be an integer 0..3600000");
        return -1;
    }
    switch (sb_json_bool(in, "webhooks", &n.webhooks)) {
    case 0:
        set_wh = true;
        break;
    case -1:
        snprintf(err, errlen, "webhooks must be true or false");
        return -1;
    }
    switch (sb_json_bool(in, "record_requests", &n.record_requests)) {
    case 0:
        set_record = true;
        break;
    case -1:
        snprintf(err, errlen, "record_requests must be true or false");
        return -1;
    }
    switch (sb_json_bool(in, "strict_components", &n.strict_components)) {
    case 0:
        set_strict = true;
        break;
    case -1:
        snprintf(err, errlen, "strict_components must be true or false");
        return -1;
    }
    if (json_object_object_get_ex(in, "statuses", &v)) {
        size_t len = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 99;
        if (len > SB_MAX_STATUSES) {
            snprintf(err, errlen, "statuses must be an array of \"sent\", \"delivered\", \"read\"");
            return -1;
        }
        for (size_t i = 0; i < len; i++) {
            json_object *s = json_object_array_get_idx(v, i);
            int st = json_object_is_type(s, json_type_string)
                         ? sb_status_parse(json_object_get_string(s))
                         : -1;
            for (size_t j = 0; st >= 0 && j < i; j++)
                if (n.statuses[j] == st)
                    st = -1;
            if (st < 0) {
                snprintf(err, errlen,
                         "statuses must hold distinct \"sent\", \"delivered\", \"read\"");
                return -1;
            }
            n.statuses[i] = (uint8_t)st;
        }
        n.nstatuses = (int)len;
        set_statuses = true;
    }
    if (json_object_object_get_ex(in, "error_rate", &v) && v == NULL) {
        set_erate = true; /* null clears it */
    } else if (v) {
        json_object *p;
        if (!json_object_is_type(v, json_type_object) ||
            parse_code(v, &n.rate_code, err, errlen) < 0 ||
            parse_mode(v, &n.rate_async, err, errlen) < 0)
            goto bad_rate;
        if (!json_object_object_get_ex(v, "percent", &p) ||
            !(json_object_is_type(p, json_type_int) || json_object_is_type(p, json_type_double)))
            goto bad_rate;
        n.rate_percent = json_object_get_double(p);
        if (n.rate_percent < 0 || n.rate_percent > 100)
            goto bad_rate;
        set_erate = true;
    }
    if (json_object_object_get_ex(in, "faults", &v)) {
        if (parse_faults(v, &n, err, errlen) < 0)
            return -1;
        set_faults = true;
    }
    if (json_object_object_get_ex(in, "errors", &v)) {
        size_t len = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
        if (!json_object_is_type(v, json_type_array) || len > MAX_RULES) {
            snprintf(err, errlen, "errors must be an array of at most %d rules", MAX_RULES);
            return -1;
        }
        n.rules = len ? calloc(len, sizeof *n.rules) : NULL;
        if (len && !n.rules) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < len; i++)
            if (parse_rule(json_object_array_get_idx(v, i), &n.rules[i], err, errlen) < 0)
                goto out;
        n.nrules = len;
        set_rules = true;
    }
    bool set_pacing = false;
    if (json_object_object_get_ex(in, "pacing", &v)) {
        json_object *name, *hold;
        set_pacing = true;
        if (v &&
            (!json_object_is_type(v, json_type_object) ||
             !json_object_object_get_ex(v, "template", &name) ||
             !json_object_is_type(name, json_type_string) || json_object_get_string_len(name) < 1 ||
             json_object_get_string_len(name) > SB_PACING_NAME_MAX ||
             sb_json_uint(v, "hold_ms", 3600000, &u) == -1)) {
            snprintf(err, errlen,
                     "pacing must be null or {\"template\": NAME, \"hold_ms\": 0..3600000}");
            goto out;
        }
        if (v) {
            snprintf(n.pacing_template, sizeof n.pacing_template, "%s",
                     json_object_get_string(name));
            n.pacing_hold_ms = json_object_object_get_ex(v, "hold_ms", &hold) ? (unsigned)u : 60000;
        }
    }
    const char *s = sb_json_str(in, "webhook_url");
    if (json_object_object_get_ex(in, "webhook_url", &v)) {
        if (!s || (*s && strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) ||
            strlen(s) > 2048) {
            snprintf(err, errlen, "webhook_url must be \"\" or an http(s):// URL");
            goto out;
        }
        if (!(url = strdup(s)))
            goto oom;
    }
    s = sb_json_str(in, "app_secret");
    if (json_object_object_get_ex(in, "app_secret", &v)) {
        if (!s || strlen(s) > 4096) {
            snprintf(err, errlen, "app_secret must be a string");
            goto out;
        }
        if (!(secret = strdup(s)))
            goto oom;
    }

    /* everything is valid: apply */
    pthread_mutex_lock(&cfg_lock);
    if (set_latency)
        cur.latency_ms = n.latency_ms;
    if (set_rate)
        cur.rate_limit = n.rate_limit;
    if (set_jitter)
        cur.latency_jitter_ms = n.latency_jitter_ms;
    if (set_wh)
        cur.webhooks = n.webhooks;
    if (set_delay)
        cur.webhook_delay_ms = n.webhook_delay_ms;
    if (set_statuses) {
        memcpy(cur.statuses, n.statuses, sizeof cur.statuses);
        cur.nstatuses = n.nstatuses;
    }
    if (set_record)
        cur.record_requests = n.record_requests;
    if (set_strict)
        cur.strict_components = n.strict_components;
    if (set_erate) {
        cur.rate_code = n.rate_code;
        cur.rate_percent = n.rate_percent;
        cur.rate_async = n.rate_async;
    }
    if (set_pacing) {
        memcpy(cur.pacing_template, n.pacing_template, sizeof cur.pacing_template);
        cur.pacing_hold_ms = n.pacing_hold_ms;
    }
    if (set_faults) {
        memcpy(cur.fault_pct, n.fault_pct, sizeof cur.fault_pct);
        cur.late_ms = n.late_ms;
        cur.throttle_pct = n.throttle_pct;
        cur.json5xx_pct = n.json5xx_pct;
        cur.async_fail_pct = n.async_fail_pct;
        cur.wh_dup_pct = n.wh_dup_pct;
        cur.wh_tries = n.wh_tries;
        cur.wh_backoff_max_ms = n.wh_backoff_max_ms;
    }
    if (set_rules) {
        struct rule *old = cur.rules;
        cur.rules = n.rules;
        cur.nrules = n.nrules;
        n.rules = old;
    }
    if (url) {
        char *old = cur.webhook_url;
        cur.webhook_url = url;
        url = old;
    }
    if (secret) {
        char *old = cur.app_secret;
        cur.app_secret = secret;
        secret = old;
    }
    pthread_mutex_unlock(&cfg_lock);
    rc = 0;
    goto out;

bad_rate:
    snprintf(
        err, errlen,
        "error_rate must be {\"code\":N,\"percent\":0..100,\"mode\":\"sync\"|\"async\"} or null");
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    free(n.rules);
    free(url);
    if (secret)
        sodium_memzero(secret, strlen(secret));
    free(secret);
    return rc;
}

json_object *sb_cfg_json(void)
{
    json_object *o = json_object_new_object();
    json_object *st = json_object_new_array();
    json_object *rules = json_object_new_array();

    pthread_mutex_lock(&cfg_lock);
    json_object_object_add(o, "latency_ms", json_object_new_int64(cur.latency_ms));
    json_object_object_add(o, "latency_jitter_ms", json_object_new_int64(cur.latency_jitter_ms));
    json_object_object_add(o, "rate_limit", json_object_new_int64(cur.rate_limit));
    json_object_object_add(o, "webhooks", json_object_new_boolean(cur.webhooks));
    json_object_object_add(o, "webhook_url", json_object_new_string(cur.webhook_url));
    json_object_object_add(o, "webhook_delay_ms", json_object_new_int64(cur.webhook_delay_ms));
    for (int i = 0; i < cur.nstatuses; i++)
        json_object_array_add(st, json_object_new_string(status_names[cur.statuses[i]]));
    json_object_object_add(o, "statuses", st);
    for (size_t i = 0; i < cur.nrules; i++) {
        json_object *r = json_object_new_object();
        char digits[24] = "*";
        if (cur.rules[i].to_packed)
            sb_msisdn_unpack(cur.rules[i].to_packed, digits, sizeof digits);
        json_object_object_add(r, "to", json_object_new_string(digits));
        json_object_object_add(r, "code", json_object_new_int(cur.rules[i].code));
        json_object_object_add(r, "mode",
                               json_object_new_string(cur.rules[i].async ? "async" : "sync"));
        json_object_object_add(r, "times", json_object_new_int64(cur.rules[i].times));
        if (cur.rules[i].fault)
            json_object_object_add(r, "fault",
                                   json_object_new_string(fault_names[cur.rules[i].fault]));
        json_object_array_add(rules, r);
    }
    json_object_object_add(o, "errors", rules);
    if (cur.rate_code) {
        json_object *er = json_object_new_object();
        json_object_object_add(er, "code", json_object_new_int(cur.rate_code));
        json_object_object_add(er, "percent", json_object_new_double(cur.rate_percent));
        json_object_object_add(er, "mode",
                               json_object_new_string(cur.rate_async ? "async" : "sync"));
        json_object_object_add(o, "error_rate", er);
    } else {
        json_object_object_add(o, "error_rate", NULL);
    }
    json_object *fo = json_object_new_object();
    for (int f = SB_FAULT_ACCEPT_RESET; f <= SB_FAULT_PRE_RESET; f++)
        json_object_object_add(fo, fault_names[f], json_object_new_double(cur.fault_pct[f]));
    json_object_object_add(fo, "late_ms", json_object_new_int64(cur.late_ms));
    json_object_object_add(fo, "throttle", json_object_new_double(cur.throttle_pct));
    json_object_object_add(fo, "json_5xx", json_object_new_double(cur.json5xx_pct));
    json_object_object_add(fo, "async_fail", json_object_new_double(cur.async_fail_pct));
    json_object_object_add(fo, "webhook_duplicate", json_object_new_double(cur.wh_dup_pct));
    json_object_object_add(fo, "webhook_tries", json_object_new_int64(cur.wh_tries));
    json_object_object_add(fo, "webhook_backoff_max_ms",
                           json_object_new_int64(cur.wh_backoff_max_ms));
    json_object_object_add(o, "faults", fo);
    json_object_object_add(o, "record_requests", json_object_new_boolean(cur.record_requests));
    json_object_object_add(o, "strict_components", json_object_new_boolean(cur.strict_components));
    if (cur.pacing_template[0]) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "template", json_object_new_string(cur.pacing_template));
        json_object_object_add(p, "hold_ms", json_object_new_int64(cur.pacing_hold_ms));
        json_object_object_add(o, "pacing", p);
    } else {
        json_object_object_add(o, "pacing", NULL);
    }
    pthread_mutex_unlock(&cfg_lock);
    return o;
}
