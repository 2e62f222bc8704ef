#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ctype { C_STR, C_INT, C_SIZE };

struct ckey {
    const char *name;
    enum ctype type;
    size_t off;
    const char *def;
};

#define S(n, d)                                                                                    \
    {                                                                                              \
#n, C_STR, offsetof(struct config, n), d                                                   \
    }
#define I(n, d)                                                                                    \
    {                                                                                              \
#n, C_INT, offsetof(struct config, n), d                                                   \
    }
#define Z(n, d)                                                                                    \
    {                                                                                              \
#n, C_SIZE, offsetof(struct config, n), d                                                  \
    }

/* The one list of settings; docs/configuration.md and config/pregon.conf.example follow it. */
static const struct ckey keys[] = {
    S(db_host, "127.0.0.1"),
    I(db_port, "3306"),
    S(db_socket, ""),
    S(db_name, "pregon"),
    S(db_user, "pregon"),
    S(db_password, ""),
    S(fcgi_socket, "var/run/pregon-fcgi.sock"),
    S(fcgi_socket_group, ""),
    I(fcgi_procs, "4"),
    S(webhook_socket, ""),
    I(webhook_procs, "2"),
    Z(body_limit, "104857600"),
    Z(webhook_body_limit, "4194304"),
    S(run_as_user, ""),
    S(public_url, "http://127.0.0.1:8080"),
    S(auth_mode, "sessions"),
    I(session_idle_timeout, "3600"),
    I(session_lifetime, "43200"),
    I(login_window, "900"),
    I(login_max_failures_account, "5"),
    I(login_max_failures_address, "30"),
    I(login_lock_failures_account, "200"),
    I(api_key_rate_per_minute, "600"),
    S(metrics_allow, "127.0.0.1,::1"),
    S(graph_base_url, "https://graph.facebook.com"),
    S(graph_version, "v25.0"),
    S(secrets_key_file, "var/secret.key"),
    I(worker_batch, "200"),
    I(worker_inflight, "512"),
    I(worker_inflight_memory_mb, "16"),
    I(worker_poll_ms, "200"),
    I(worker_lease_s, "120"),
    I(http_connect_timeout_ms, "5000"),
    I(http_timeout_ms, "30000"),
    I(worker_heartbeat_s, "5"),
    I(worker_dead_s, "30"),
    I(worker_pace_chunk_ms, "250"),
    I(worker_arm_ahead_ms, "200"),
    I(worker_max_attempts, "5"),
    S(worker_ramp_steps, "10,20,40"),
    I(worker_ramp_every, "50"),
    I(worker_ramp_max_error_pct, "5"),
    I(worker_breaker_window, "50"),
    I(worker_breaker_min, "20"),
    I(worker_breaker_pct, "50"),
    I(worker_param_pause, "3"),
    I(worker_pair_gap_s, "6"),
    I(worker_throttle_pause_ms, "1000"),
    I(worker_schedule_margin_s, "300"),
    I(worker_pacing_hold_s, "1800"),
    S(worker_lock_file, "var/run/pregon-worker.lock"),
    S(hooks_allow_targets, "public"),
    I(hooks_retry_for_s, "86400"),
    I(hooks_backoff_max_s, "3600"),
    I(hooks_timeout_ms, "10000"),
    I(hooks_keep_days, "7"),
    S(log_level, "info"),
    S(log_file, ""),
    S(import_dir, "var/imports"),
    I(import_chunk_rows, "10000"),
};

static const struct ckey *find_key(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strlen(keys[i].name) == len && strncmp(keys[i].name, name, len) == 0)
            return &keys[i];
    return NULL;
}

static int set_value(struct config *cfg, const struct ckey *k, const char *val, char *err,
                     size_t errlen)
{
    char *base = (char *)cfg;
    char *end;

    switch (k->type) {
    case C_STR: {
        char **slot = (char **)(base + k->off);
        char *dup = strdup(val);
        if (!dup) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        free(*slot);
        *slot = dup;
        return 0;
    }
    case C_INT: {
        errno = 0;
        long v = strtol(val, &end, 10);
        if (errno || end == val || *end || v < 0 || v > 1000000000) {
            snprintf(err, errlen, "%s: not a valid number: %s", k->name, val);
            return -1;
        }
        *(int *)(base + k->off) = (int)v;
        return 0;
    }
    case C_SIZE: {
        errno = 0;
        unsigned long long v = strtoull(val, &end, 10);
        if (errno || end == val || *end) {
            snprintf(err, errlen, "%s: not a valid size: %s", k->name, val);
            return -1;
        }
        *(size_t *)(base + k->off) = (size_t)v;
        return 0;
    }
    }
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int read_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        /* A '#' after white space starts a comment, so values may still contain '#'. */
        for (char *h = eq + 1; *h; h++) {
            if (*h == '#' && h > eq + 1 && (h[-1] == ' ' || h[-1] == '\t')) {
                *h = '\0';
                break;
            }
        }
        char *name = trim(s), *val = trim(eq + 1);
        const struct ckey *k = find_key(name, strlen(name));
        if (!k) {
            snprintf(err, errlen, "%s:%d: unknown setting '%s'", path, lineno, name);
            rc = -1;
            break;
        }
        char sub[512];
        if (set_value(cfg, k, val, sub, sizeof sub) < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, sub);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* Relative paths of files the programs write or read (state, lock, logs, key, socket) are
 * taken from $PREGON_HOME when it is set, so a cron job or mod_fcgid (no $HOME, any working
 * folder) finds the same files as the operator; otherwise from the working folder. */
static int config_home_paths(struct config *cfg, char *err, size_t errlen)
{
    const char *home = getenv("PREGON_HOME");
    if (!home || !*home)
        return 0;
    char **paths[] = {&cfg->fcgi_socket, &cfg->secrets_key_file, &cfg->worker_lock_file,
                      &cfg->log_file, &cfg->import_dir};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char *v = *paths[i];
        if (!v || !*v || v[0] == '/')
            continue;
        size_t n = strlen(home) + strlen(v) + 2;
        char *full = malloc(n);
        if (!full) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        snprintf(full, n, "%s/%s", home, v);
        free(v);
        *paths[i] = full;
    }
    return 0;
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (set_value(cfg, &keys[i], keys[i].def, err, errlen) < 0)
            goto fail;

    if (!path)
        path = getenv("PREGON_CONFIG");
    if (path && *path) {
        if (read_file(cfg, path, err, errlen) < 0)
            goto fail;
        cfg->path = strdup(path);
        if (!cfg->path)
            goto fail;
    }

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char env[80] = "PREGON_";
        size_t n = strlen(env);
        for (const char *p = keys[i].name; *p && n < sizeof env - 1; p++)
            env[n++] = (char)toupper((unsigned char)*p);
        env[n] = '\0';
        const char *v = getenv(env);
        if (v) {
            char sub[512];
            if (set_value(cfg, &keys[i], v, sub, sizeof sub) < 0) {
                snprintf(err, errlen, "environment %s: %s", env, sub);
                goto fail;
            }
        }
    }
    if (config_home_paths(cfg, err, errlen) < 0)
        goto fail;
    if (cfg->fcgi_procs < 1)
        cfg->fcgi_procs = 1;
    if (cfg->webhook_procs < 1)
        cfg->webhook_procs = 1;
    if (cfg->worker_batch < 1)
        cfg->worker_batch = 1;
    if (cfg->worker_inflight < 1)
        cfg->worker_inflight = 1;
    if (cfg->worker_inflight_memory_mb < 0)
        cfg->worker_inflight_memory_mb = 0;
    if (cfg->worker_heartbeat_s < 1)
        cfg->worker_heartbeat_s = 1;
    if (cfg->worker_dead_s < 2 * cfg->worker_heartbeat_s)
        cfg->worker_dead_s = 2 * cfg->worker_heartbeat_s;
    if (cfg->worker_lease_s < cfg->worker_dead_s)
        cfg->worker_lease_s = cfg->worker_dead_s;
    if (cfg->worker_pace_chunk_ms < 10)
        cfg->worker_pace_chunk_ms = 10;
    if (cfg->worker_max_attempts < 1)
        cfg->worker_max_attempts = 1;
    if (cfg->worker_breaker_window < 1)
        cfg->worker_breaker_window = 1;
    if (cfg->worker_breaker_window > 1000)
        cfg->worker_breaker_window = 1000;
    if (cfg->session_idle_timeout < 1)
        cfg->session_idle_timeout = 1;
    if (cfg->session_lifetime < 1)
        cfg->session_lifetime = 1;
    if (cfg->login_window < 1)
        cfg->login_window = 1;
    if (cfg->login_max_failures_account < 1)
        cfg->login_max_failures_account = 1;
    if (cfg->login_max_failures_address < 1)
        cfg->login_max_failures_address = 1;
    if (cfg->login_lock_failures_account < 1)
        cfg->login_lock_failures_account = 1;
    if (cfg->api_key_rate_per_minute < 1)
        cfg->api_key_rate_per_minute = 1;
    return 0;
fail:
    config_free(cfg);
    return -1;
}

void config_free(struct config *cfg)
{
    char *base = (char *)cfg;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (keys[i].type == C_STR) {
            char **slot = (char **)(base + keys[i].off);
            free(*slot);
            *slot = NULL;
        }
    }
    free(cfg->path);
    cfg->path = NULL;
}

const char *config_path_from_args(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
            return argv[i + 1];
    return NULL;
}
