/* Structured logs: one JSON object per line on stderr (or the configured file). Never pass
 * secrets to these functions. */
#ifndef PREGON_LOG_H
#define PREGON_LOG_H

#include <json-c/json.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* prog names the binary in every line; level is "debug", "info", "warn" or "error";
 * file NULL or "" keeps stderr. Returns 0 or -1 when the file can't be opened. */
int log_init(const char *prog, const char *level, const char *file);
int log_enabled(enum log_level level);
/* Takes ownership of fields (may be NULL). */
void log_json(enum log_level level, const char *msg, json_object *fields);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
