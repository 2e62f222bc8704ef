#include "optout.h"

#include <string.h>

const char *const optout_default_keywords[] = {"STOP", "BAJA", "NO MAS", "NO MÁS", "CANCELAR"};
const size_t optout_default_nkeywords =
    sizeof optout_default_keywords / sizeof optout_default_keywords[0];

/* Base letter of U+00C0..U+00FF (the second byte of C3 xx), 0 for the symbols there. */
static char latin1_base(unsigned char b)
{
    static const char map[64] = "aaaaaaaceeeeiiii"   /* C0-CF */
                                "dnooooo\0ouuuuyts"  /* D0-DF: D7 is the multiplication sign */
                                "aaaaaaaceeeeiiii"   /* E0-EF */
                                "dnooooo\0ouuuuyty"; /* F0-FF: F7 is the division sign */
    return map[b - 0x80];
}

int optout_normalize(const char *s, char *out, size_t outlen)
{
    if (!s || !out || outlen == 0)
        return -1;
    size_t o = 0;
    int space = 0; /* a space is owed before the next kept character */
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        char c = 0;
        size_t take = 1;
        const unsigned char *raw = p;
        if (*p < 0x80) {
            if (*p >= 'A' && *p <= 'Z')
                c = (char)(*p - 'A' + 'a');
            else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
                c = (char)*p;
            else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' ||
                     *p == '\v') {
                space = o > 0;
                p++;
                continue;
            } else {
                p++; /* ASCII punctuation and controls */
                continue;
            }
        } else if (*p == 0xC3 && p[1] >= 0x80 && p[1] <= 0xBF) {
            c = latin1_base(p[1]);
            take = 2;
            if (!c) {
                p += 2; /* x and ÷ */
                continue;
            }
        } else if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0xBF) {
            /* U+0080..U+00BF: controls, ¡ ¿ « » and other symbols; a no-break space counts
             * as a space. */
            if (p[1] == 0xA0)
                space = o > 0;
            p += 2;
            continue;
        } else {
            /* Any other sequence is kept byte for byte (emoji, other scripts). */
            take = 1;
            while (p[take] >= 0x80 && p[take] < 0xC0 && take < 4)
                take++;
        }
        size_t need = (c ? 1 : take) + (space ? 1 : 0);
        if (o + need + 1 > outlen)
            return -1;
        if (space)
            out[o++] = ' ';
        space = 0;
        if (c) {
            out[o++] = c;
        } else {
            memcpy(out + o, raw, take);
            o += take;
        }
        p += take;
    }
    out[o] = '\0';
    return (int)o;
}

int optout_match(const char *text, const char *const *keywords, size_t n)
{
    char t[260], k[260];
    if (!text || strlen(text) > 256 || optout_normalize(text, t, sizeof t) <= 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (keywords[i] && optout_normalize(keywords[i], k, sizeof k) > 0 && strcmp(t, k) == 0)
            return 1;
    return 0;
}
