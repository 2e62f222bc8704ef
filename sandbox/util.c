/* Small helpers shared by the sandbox: clocks, logging, numbers, JSON. */
#include "sandbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_fp;

uint64_t sb_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t sb_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sb_log_open(const char *path)
{
    FILE *fp = NULL;
    if (path && *path) {
        fp = fopen(path, "a");
        if (!fp)
            fprintf(stderr, "pregon-sandbox: cannot open log %s: %s; logging to stderr\n", path,
                    strerror(errno));
        else
            setvbuf(fp, NULL, _IOLBF, 0);
    }
    pthread_mutex_lock(&log_lock);
    log_fp = fp;
    pthread_mutex_unlock(&log_lock);
}

void sb_log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_fp)
        fclose(log_fp);
    log_fp = NULL;
    pthread_mutex_unlock(&log_lock);
}

void sb_log(const char *fmt, ...)
{
    char stamp[32];
    struct tm tm;
    time_t now = time(NULL);
    va_list ap;

    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    pthread_mutex_lock(&log_lock);
    FILE *fp = log_fp ? log_fp : stderr;
    fprintf(fp, "%s pregon-sandbox: ", stamp);
    va_start(ap, fmt);
    vfprintf(fp, fmt, ap);
    va_end(ap);
    fputc('\n', fp);
    pthread_mutex_unlock(&log_lock);
}

int sb_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

uint64_t sb_msisdn_pack(const char *to)
{
    uint64_t v = 1;
    size_t n = 0;

    if (*to == '+')
        to++;
    for (; *to; to++, n++) {
        if (*to < '0' || *to > '9' || n >= 15)
            return 0;
        v = v * 10 + (uint64_t)(*to - '0');
    }
    return n >= 8 ? v : 0;
}

void sb_msisdn_unpack(uint64_t packed, char *out, size_t outlen)
{
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)packed);
    snprintf(out, outlen, "%s", tmp + 1);
}

void sb_random_id(char *out, size_t outlen, size_t n)
{
    unsigned char buf[64];
    if (n > sizeof buf)
        n = sizeof buf;
    randombytes_buf(buf, n);
    sodium_bin2base64(out, outlen, buf, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

char *sb_json_take_text(json_object *obj, size_t *len)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    char *copy = s ? malloc(n + 1) : NULL;
    if (copy) {
        memcpy(copy, s, n + 1);
        if (len)
            *len = n;
    }
    json_object_put(obj);
    return copy;
}

const char *sb_json_str(json_object *obj, const char *key)
{
    json_object *v;
    if (!obj || !json_object_object_get_ex(obj, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int sb_json_bool(json_object *obj, const char *key, bool *out)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v))
        return 1;
    if (!json_object_is_type(v, json_type_boolean))
        return -1;
    *out = json_object_get_boolean(v);
    return 0;
}

int sb_json_uint(json_object *obj, const char *key, unsigned long long max, unsigned long long *out)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v))
        return 1;
    if (!json_object_is_type(v, json_type_int))
        return -1;
    int64_t i = json_object_get_int64(v);
    if (i < 0 || (unsigned long long)i > max)
        return -1;
    *out = (unsigned long long)i;
    return 0;
}
