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
    size_t body_limit;
    size_t webhook_body_limit;
    char *run_as_user;
    char *public_url;
    char *auth_mode; /* "none" until accounts and roles exist */
    /* Cloud API */
    char *graph_base_url;
    char *graph_version;
    /* secrets */
    char *secrets_key_file;
    /* worker */
    int worker_batch;
    int worker_inflight;
    int worker_poll_ms;
    int worker_lease_s;
    int http_connect_timeout_ms;
    int http_timeout_ms;
    /* logging */
    char *log_level;
    char *log_file;
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
