#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "pregon";
static enum log_level log_min = LOG_INFO;
static FILE *log_out;

static const char *level_names[] = {"debug", "info", "warn", "error"};

int log_init(const char *prog, const char *level, const char *file)
{
    log_prog = prog;
    for (int i = 0; i < 4; i++)
        if (level && strcmp(level, level_names[i]) == 0)
            log_min = (enum log_level)i;
    if (file && *file) {
        FILE *f = fopen(file, "a");
        if (!f)
            return -1;
        setvbuf(f, NULL, _IOLBF, 0);
        log_out = f;
    }
    return 0;
}

int log_enabled(enum log_level level)
{
    return level >= log_min;
}

void log_json(enum log_level level, const char *msg, json_object *fields)
{
    if (!log_enabled(level)) {
        json_object_put(fields);
        return;
    }
    json_object *o =
        fields && json_object_is_type(fields, json_type_object) ? fields : json_object_new_object();
    if (o != fields)
        json_object_put(fields);
    struct timeval tv;
    struct tm tm;
    char ts[40];
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03dZ", (int)(tv.tv_usec / 1000));

    /* Fixed keys first so the lines read well with grep. */
    json_object *line = json_object_new_object();
    if (!line) {
        json_object_put(o);
        return;
    }
    json_object_object_add(line, "ts", json_object_new_string(ts));
    json_object_object_add(line, "level", json_object_new_string(level_names[level]));
    json_object_object_add(line, "prog", json_object_new_string(log_prog));
    json_object_object_add(line, "pid", json_object_new_int((int)getpid()));
    json_object_object_add(line, "msg", json_object_new_string(msg ? msg : ""));
    json_object_object_foreach(o, k, v)
    {
        json_object_object_add(line, k, json_object_get(v));
    }
    const char *s = json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
    FILE *out = log_out ? log_out : stderr;
    fprintf(out, "%s\n", s);
    fflush(out);
    json_object_put(line);
    json_object_put(o);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_json(level, buf, NULL);
}
