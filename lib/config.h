/* Pregón configuration: one key = value file plus PREGON_<KEY> environment overrides. */
#ifndef PREGON_CONFIG_H
#define PREGON_CONFIG_H

#include <stddef.h>

struct config {
    /* database */
    char *db_host;
    int db_port;
    char *db_socket;
    char *db_name;
    char *db_user;
    char *db_password;
    /* FastCGI app */
    char *fcgi_socket;
    char *fcgi_socket_group;
    int fcgi_procs;
    char *webhook_socket; /* the webhook pool's own socket (pregon-fcgi --pool webhook) */
    int webhook_procs;
    size_t body_limit;
    size_t webhook_body_limit;
    char *run_as_user;
    char *public_url;
    char *auth_mode; /* "sessions" (sign-in required); "none" only when set explicitly */
    /* accounts and sessions (docs/security.md) */
    int session_idle_timeout;        /* seconds without a request that end a session */
    int session_lifetime;            /* seconds a session lasts at most */
    int login_window;                /* seconds over which failed sign-ins are counted */
    int login_max_failures_account;  /* per (e-mail, address) in the window before delays */
    int login_max_failures_address;  /* per client address in the window before delays */
    int login_lock_failures_account; /* per e-mail from every address: locked for everyone */
    int api_key_rate_per_minute;     /* requests one API key may make per minute */
    char *metrics_allow;             /* addresses that may read /metrics, comma-separated */
    /* Cloud API */
    char *graph_base_url;
    char *graph_version;
    /* secrets */
    char *secrets_key_file;
    /* worker */
    int worker_batch;
    int worker_inflight;           /* the most requests in flight at once (a ceiling) */
    int worker_inflight_memory_mb; /* and the memory they may take (0 = no budget) */
    int worker_poll_ms;
    int worker_lease_s;
    int http_connect_timeout_ms;
    int http_timeout_ms;
    int worker_heartbeat_s;   /* how often a worker says it is alive */
    int worker_dead_s;        /* silent this long: its claims are recovered by the others */
    int worker_pace_chunk_ms; /* rate budget taken from the database this much at a time */
    int worker_arm_ahead_ms;  /* requests committed as "may have left" this far ahead */
    int worker_max_attempts;  /* retryable errors: attempts before the recipient fails */
    char *worker_ramp_steps;  /* progressive start: messages/s per step, "" = off */
    int worker_ramp_every;    /* attempts per step before raising */
    int worker_ramp_max_error_pct;
    /* worker_breaker_*: read so old files still load, ignored since sql/115 (the auto-pause
     * thresholds are account settings, lib/campaign_health) */
    int worker_breaker_window;
    int worker_breaker_min;
    int worker_breaker_pct;
    int worker_param_pause;       /* parameter errors in the auto-pause window that pause it */
    int worker_pair_gap_s;        /* least seconds between two messages to one number */
    int worker_throttle_pause_ms; /* a 130429 holds the number's timeline this long */
    int worker_schedule_margin_s; /* later than this, a schedule waits for an operator */
    int worker_pacing_hold_s;     /* template pacing: wait at most this for the first statuses */
    char *worker_lock_file;       /* --drain: only one draining worker at a time */
    /* outbound events (lib/hooks.h, worker/hooks.c) */
    char *hooks_allow_targets; /* "public" (default), "loopback", "private": SSRF policy */
    int hooks_retry_for_s;     /* a hook failing this long is disabled (86400) */
    int hooks_backoff_max_s;   /* the longest wait between two tries (3600) */
    int hooks_timeout_ms;      /* one delivery POST at most */
    int hooks_keep_days;       /* delivered events and the delivery log are kept this long */
    /* logging */
    char *log_level;
    char *log_file;
    /* chunked CSV uploads are assembled here (fcgi/api-imports.c) */
    char *import_dir;
    /* audience and contacts imports commit every this many rows (lib/recipients_chunks.c,
     * lib/contacts_chunks.c); 0 = one transaction whatever the size */
    int import_chunk_rows;
    char *path; /* where it was read from, NULL if defaults only */
};

/* Fills cfg with defaults, then the file at path (NULL: $PREGON_CONFIG, else none), then the
 * environment. Returns 0, or -1 with a message naming the file and line in err.
 * Free the strings with config_free(). */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);
void config_free(struct config *cfg);

/* Finds the config path from argv ("-c FILE" or "--config FILE"), else NULL. */
const char *config_path_from_args(int argc, char **argv);

#endif
