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

enum pace_throttle pace_throttle_judge(int answers, int hits)
{
    if (hits <= 0)
        return PACE_THR_CLEAN;
    if (hits < PACE_THROTTLE_MIN_HITS ||
        (long long)hits * 100 <= (long long)PACE_THROTTLE_SPORADIC_PCT * answers)
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
