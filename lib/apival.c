#include "apival.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "utf8.h"

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int apival_parse_time(const char *s, char out[24], time_t *t)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec = 0, ms = 0;
    if (!s || strlen(s) < 17 || strlen(s) > 40)
        return -1;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi))
        return -1;
    const char *p = s + 16;
    if (*p == ':') {
        if (digits(p + 1, 2, &sec))
            return -1;
        p += 3;
        if (*p == '.' || *p == ',') {
            p++;
            int nd = 0, frac = 0;
            while (*p >= '0' && *p <= '9') {
                if (nd < 3)
                    frac = frac * 10 + (*p - '0');
                nd++;
                p++;
            }
            if (nd == 0 || nd > 9)
                return -1;
            for (int k = nd; k < 3; k++)
                frac *= 10;
            ms = frac;
        }
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        int sign = *p == '-' ? -1 : 1;
        if (digits(p + 1, 2, &oh))
            return -1;
        p += 3;
        if (*p == ':')
            p++;
        if (digits(p, 2, &om))
            return -1;
        p += 2;
        if (oh > 14 || om > 59)
            return -1;
        off = sign * (oh * 60 + om);
    } else {
        return -1;
    }
    if (*p)
        return -1;
    if (y < 1971 || y > 9998 || mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59)
        return -1;
    int md = mdays[mo - 1] + (mo == 2 && leap(y));
    if (d < 1 || d > md)
        return -1;
    long long epoch = days_from_civil(y, mo, d) * 86400LL + h * 3600 + mi * 60 + sec - off * 60LL;
    time_t tt = (time_t)epoch;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return -1;
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    if (strlen(tmp) != 23)
        return -1;
    memcpy(out, tmp, 24);
    if (t)
        *t = tt;
    return 0;
}

/* Whether s (trimmed, len > 0) starts with word followed by the end or a non-letter:
 * "no", "no acepta", "no, gracias" but not "nombre" or "nota". */
static int starts_with_word(const char *s, size_t len, const char *word)
{
    size_t w = strlen(word);
    if (len < w || strncasecmp(s, word, w) != 0)
        return 0;
    if (len == w)
        return 1;
    unsigned char c = (unsigned char)s[w];
    return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80);
}

int apival_consent(const char *s, size_t len)
{
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    /* Blanks: nothing was recorded. */
    static const char *blank[] = {"-", "--", "n/a", "na", "null", "none", "ninguno", "?"};
    if (len == 0)
        return 0;
    for (size_t i = 0; i < sizeof blank / sizeof blank[0]; i++)
        if (strlen(blank[i]) == len && strncasecmp(s, blank[i], len) == 0)
            return 0;
    /* Explicit negatives: a leading "no"/"not"/"never"... word, or a refusal word alone. */
    static const char *neg_word[] = {"no", "not", "n", "never", "nunca", "sin", "without"};
    for (size_t i = 0; i < sizeof neg_word / sizeof neg_word[0]; i++)
        if (starts_with_word(s, len, neg_word[i]))
            return -1;
    static const char *neg[] = {"false",    "0",         "falso",     "rechaza",  "rechazado",
                                "rechazó",  "rechazada", "declined",  "refused",  "denied",
                                "opt-out",  "optout",    "opt out",   "baja",     "revocado",
                                "revocada", "revoked",   "withdrawn", "negativo", "negado"};
    for (size_t i = 0; i < sizeof neg / sizeof neg[0]; i++)
        if (strlen(neg[i]) == len && strncasecmp(s, neg[i], len) == 0)
            return -1;
    /* Anything else is the consent record itself: "sí", a date, "formulario web". */
    return 1;
}

char *apival_consent_record(const char *cell, size_t len, const char *source, char *out,
                            size_t outlen)
{
    static const char *bare[] = {"si",     "sí",    "sÍ",     "SÍ",    "yes", "y",
                                 "s",      "x",     "1",      "true",  "ok",  "verdadero",
                                 "opt-in", "optin", "acepta", "aceptó"};
    while (len && (*cell == ' ' || *cell == '\t'))
        cell++, len--;
    while (len && (cell[len - 1] == ' ' || cell[len - 1] == '\t'))
        len--;
    int is_bare = len == 0;
    for (size_t i = 0; !is_bare && i < sizeof bare / sizeof bare[0]; i++)
        is_bare = strlen(bare[i]) == len && strncasecmp(cell, bare[i], len) == 0;
    char tmp[512];
    if (is_bare)
        snprintf(tmp, sizeof tmp, "%s", source ? source : "");
    else
        snprintf(tmp, sizeof tmp, "%.*s (%s)", (int)(len > 300 ? 300 : len), cell,
                 source ? source : "");
    utf8_cut(tmp, out, outlen);
    return out;
}
