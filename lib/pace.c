#include "pace.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

long long pace_margin_us(int mps)
{
    if (mps <= 0)
        return 0;
    long long slot = 1000000LL / mps;
    return slot > PACE_MARGIN_US ? slot : PACE_MARGIN_US;
}

long long pace_interval_us(int mps)
{
    if (mps <= 0)
        return 0;
    long long us = (1000000LL + pace_margin_us(mps) + mps - 1) / mps;
    return us > 0 ? us : 1;
}

long long pace_window_us(int mps)
{
    return 1000000LL + pace_margin_us(mps) / 2;
}

int pace_chunk(long long interval_us, int chunk_ms, int demand)
{
    long long n;
    if (interval_us <= 0)
        n = demand > 0 ? demand : 1;
    else
        n = (long long)chunk_ms * 1000 / interval_us;
    if (n < 1)
        n = 1;
    if (demand > 0 && n > demand)
        n = demand;
    if (n > 100000)
        n = 100000;
    return (int)n;
}

long long pace_tolerance_us(long long interval_us)
{
    /* the margin pace_interval_us spaced the slots with: one slot, at least PACE_MARGIN_US */
    long long margin = interval_us > PACE_MARGIN_US ? interval_us : PACE_MARGIN_US;
    long long t = interval_us < margin / 2 ? interval_us : margin / 2;
    return t > 3000 ? t : 3000;
}

long long pace_reserve(long long *next_us, long long earliest_us, long long interval_us, int n)
{
    long long first = *next_us > earliest_us ? *next_us : earliest_us;
    if (n < 1)
        n = 1;
    *next_us = first + (long long)n * (interval_us > 0 ? interval_us : 0);
    return first;
}

long long pace_arm_ahead_us(long long least_us, long long stall_us)
{
    long long want = stall_us > 0 ? stall_us / 2 * 3 : 0;
    if (want > PACE_ARM_AHEAD_MAX_US)
        want = PACE_ARM_AHEAD_MAX_US;
    return want > least_us ? want : least_us;
}

int pace_inflight_limit(int ceiling, int memory_mb, enum pace_inflight_cap *why)
{
    long long lim = ceiling > 0 ? ceiling : 1;
    *why = PACE_CAP_CEILING;
    if (memory_mb > 0) {
        long long mem = (long long)memory_mb * 1024 * 1024 / PACE_INFLIGHT_BYTES;
        if (mem < 1)
            mem = 1;
        if (mem < lim) {
            lim = mem;
            *why = PACE_CAP_MEMORY;
        }
    }
    return (int)(lim > 1000000 ? 1000000 : lim);
}

int pace_inflight_target(double per_s, long long latency_us, int limit,
                         enum pace_inflight_cap limit_why, int *want, enum pace_inflight_cap *why)
{
    if (latency_us <= 0)
        latency_us = PACE_LATENCY_START_US;
    double need = per_s > 0 ? per_s * (double)latency_us / 1e6 * PACE_INFLIGHT_HEADROOM : 0;
    if (need > 1e6)
        need = 1e6;
    int n = (int)(need + 0.999) + PACE_INFLIGHT_EXTRA;
    *want = n;
    if (why)
        *why = PACE_CAP_NONE;
    if (limit < 1)
        limit = 1;
    if (n > limit) {
        n = limit;
        if (why)
            *why = limit_why;
    }
    return n;
}

long long pace_latency_next(long long est_us, long long sample_us, long long since_us)
{
    if (sample_us < 0)
        sample_us = 0;
    if (est_us <= 0)
        return sample_us > 0 ? sample_us : 1;
    double d = (double)(sample_us - est_us);
    if (d > 0)
        d *= PACE_LATENCY_UP;
    else if (since_us < PACE_LATENCY_DOWN_US)
        d *= (double)(since_us > 0 ? since_us : 0) / PACE_LATENCY_DOWN_US;
    long long n = est_us + (long long)(d > 0 ? d + 0.5 : d - 0.5);
    return n > 0 ? n : 1;
}

void pace_inflight_reason(char *buf, size_t len, int mps, long long latency_us, int want, int got,
                          enum pace_inflight_cap why)
{
    snprintf(buf, len,
             "sending below its number's %d msg/s: with answers taking %lld ms it needs about "
             "%d requests in flight and the worker's %s allows %d; raise %s",
             mps, (latency_us + 500) / 1000, want,
             why == PACE_CAP_MEMORY ? "memory budget" : "ceiling", got,
             why == PACE_CAP_MEMORY ? "worker_inflight_memory_mb" : "worker_inflight");
}

int pace_ramp_parse(const char *s, int *steps, int max)
{
    int n = 0;
    if (!s)
        return 0;
    const char *p = s;
    while (*p == ' ')
        p++;
    if (!*p)
        return 0;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 1000 || n >= max || (n && v <= steps[n - 1]))
            return -1;
        steps[n++] = (int)v;
        p = end;
        while (*p == ' ')
            p++;
        if (*p == ',') {
            p++;
            while (*p == ' ')
                p++;
            if (!*p)
                return -1;
        } else if (*p) {
            return -1;
        }
    }
    return n;
}

int pace_ramp_cap(const int *steps, int nsteps, int step)
{
    if (step < 0)
        step = 0;
    return step < nsteps ? steps[step] : 0;
}

int pace_ramp_should_raise(int attempts, int errors, int every, int max_error_pct)
{
    if (every < 1 || attempts < every)
        return 0;
    return (long long)errors * 100 <= (long long)max_error_pct * attempts;
}

enum pace_throttle pace_throttle_judge(int answers, int hits, int expected)
{
    if (hits <= 0)
        return PACE_THR_CLEAN;
    long long of = answers > expected ? answers : expected;
    if (hits < PACE_THROTTLE_MIN_HITS || (long long)hits * 100 <= PACE_THROTTLE_SPORADIC_PCT * of)
        return PACE_THR_SPORADIC;
    return PACE_THR_LIMIT;
}

double pace_throttle_next(double factor, enum pace_throttle t)
{
    double f = t == PACE_THR_LIMIT ? factor * PACE_THROTTLE_CUT : factor + PACE_THROTTLE_STEP;
    if (f < PACE_THROTTLE_FLOOR)
        f = PACE_THROTTLE_FLOOR;
    return f > 1.0 ? 1.0 : f;
}

double pace_throttle_limit(double factor, int answers, int hits)
{
    if (answers < PACE_THROTTLE_MIN_ANSWERS || hits <= 0 || hits > answers || factor <= 0)
        return 0;
    return factor * (double)(answers - hits) / (double)answers;
}

double pace_throttle_adjust(double factor, enum pace_throttle t, double limit)
{
    double aim = limit * PACE_THROTTLE_AIM;
    if (t == PACE_THR_LIMIT) {
        double f = pace_throttle_next(factor, t);
        if (aim > 0 && aim < factor)
            f = aim < PACE_THROTTLE_FLOOR ? PACE_THROTTLE_FLOOR : aim;
        return f;
    }
    if (aim <= 0)
        return pace_throttle_next(factor, t);
    double f = factor >= aim ? factor + PACE_THROTTLE_PROBE : pace_throttle_next(factor, t);
    if (factor < aim && f > aim)
        f = aim;
    return f > 1.0 ? 1.0 : f;
}

int pace_window_wait_min(int start_h, int end_h, int m)
{
    if (start_h < 0 || end_h < 0 || start_h > 23 || end_h > 24 || start_h == end_h % 24)
        return 0;
    m = ((m % 1440) + 1440) % 1440;
    int s = start_h * 60, e = end_h * 60;
    int open = s < e ? (m >= s && m < e) : (m >= s || m < e);
    if (open)
        return 0;
    return ((s - m) % 1440 + 1440) % 1440;
}

/* Local time in zone (IANA name) at t: minute of the day and the date. The C library only
 * knows one zone at a time (TZ), so this is done under a lock. */
void pace_tz_local(const char *zone, time_t t, int *minute, char *date, size_t dlen)
{
    static pthread_mutex_t tz_mu = PTHREAD_MUTEX_INITIALIZER;
    char path[256];
    struct stat st;
    int ok = zone && *zone && !strstr(zone, "..") && zone[0] != '/' &&
             snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zone) < (int)sizeof path &&
             stat(path, &st) == 0 && S_ISREG(st.st_mode);
    struct tm tm;
    pthread_mutex_lock(&tz_mu);
    if (ok) {
        setenv("TZ", zone, 1);
        tzset();
        localtime_r(&t, &tm);
        setenv("TZ", "UTC", 1);
        tzset();
    } else {
        gmtime_r(&t, &tm);
    }
    pthread_mutex_unlock(&tz_mu);
    *minute = tm.tm_hour * 60 + tm.tm_min;
    strftime(date, dlen, "%Y-%m-%d", &tm);
}
