#include "optout.h"

#include <stdint.h>
#include <string.h>

const char *const optout_default_keywords[] = {"STOP", "BAJA", "NO MAS", "NO MÁS", "CANCELAR"};
const size_t optout_default_nkeywords =
    sizeof optout_default_keywords / sizeof optout_default_keywords[0];

/* Decodes one UTF-8 sequence at p (at most left bytes): the code point and its length, or -1
 * for an invalid sequence (overlong, surrogate, beyond U+10FFFF, truncated); *len is then 1. */
static long utf8_next(const unsigned char *p, size_t left, size_t *len)
{
    *len = 1;
    if (p[0] < 0x80)
        return p[0];
    size_t n;
    long cp, min;
    if ((p[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = p[0] & 0x1F;
        min = 0x80;
    } else if ((p[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = p[0] & 0x0F;
        min = 0x800;
    } else if ((p[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = p[0] & 0x07;
        min = 0x10000;
    } else {
        return -1;
    }
    if (left < n)
        return -1;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *len = n;
    return cp;
}

/* Base letters of U+00C0..U+017F (Latin-1 Supplement letters and Latin Extended-A). */
static const struct {
    uint16_t lo, hi;
    const char *base;
} latin_fold[] = {
    {0xC0, 0xC5, "a"},   {0xC6, 0xC6, "ae"},   {0xC7, 0xC7, "c"},   {0xC8, 0xCB, "e"},
    {0xCC, 0xCF, "i"},   {0xD0, 0xD0, "d"},    {0xD1, 0xD1, "n"},   {0xD2, 0xD6, "o"},
    {0xD8, 0xD8, "o"},   {0xD9, 0xDC, "u"},    {0xDD, 0xDD, "y"},   {0xDE, 0xDE, "th"},
    {0xDF, 0xDF, "ss"},  {0xE0, 0xE5, "a"},    {0xE6, 0xE6, "ae"},  {0xE7, 0xE7, "c"},
    {0xE8, 0xEB, "e"},   {0xEC, 0xEF, "i"},    {0xF0, 0xF0, "d"},   {0xF1, 0xF1, "n"},
    {0xF2, 0xF6, "o"},   {0xF8, 0xF8, "o"},    {0xF9, 0xFC, "u"},   {0xFD, 0xFD, "y"},
    {0xFE, 0xFE, "th"},  {0xFF, 0xFF, "y"},    {0x100, 0x105, "a"}, {0x106, 0x10D, "c"},
    {0x10E, 0x111, "d"}, {0x112, 0x11B, "e"},  {0x11C, 0x123, "g"}, {0x124, 0x127, "h"},
    {0x128, 0x131, "i"}, {0x132, 0x133, "ij"}, {0x134, 0x135, "j"}, {0x136, 0x138, "k"},
    {0x139, 0x142, "l"}, {0x143, 0x14B, "n"},  {0x14C, 0x151, "o"}, {0x152, 0x153, "oe"},
    {0x154, 0x159, "r"}, {0x15A, 0x161, "s"},  {0x162, 0x167, "t"}, {0x168, 0x173, "u"},
    {0x174, 0x175, "w"}, {0x176, 0x178, "y"},  {0x179, 0x17E, "z"}, {0x17F, 0x17F, "s"},
};

enum fold { FOLD_KEEP, FOLD_DROP, FOLD_SPACE, FOLD_TEXT };

/* What cp becomes; for FOLD_TEXT, *text is what to write (a static string or one letter in
 * buf). */
static enum fold fold_cp(long cp, const char **text, char buf[2])
{
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z') {
            buf[0] = (char)(cp - 'A' + 'a');
        } else if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
            buf[0] = (char)cp;
        } else if (cp == ' ' || (cp >= '\t' && cp <= '\r')) {
            return FOLD_SPACE;
        } else {
            return FOLD_DROP; /* punctuation, symbols, controls */
        }
        buf[1] = '\0';
        *text = buf;
        return FOLD_TEXT;
    }
    if (cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
        cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000)
        return FOLD_SPACE;
    if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7)
        return FOLD_DROP; /* C1 controls, ¡ ¿ « » and the other Latin-1 symbols, × ÷ */
    if ((cp >= 0x300 && cp <= 0x36F) || (cp >= 0x200B && cp <= 0x206F) ||
        (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF)
        return FOLD_DROP; /* combining marks, zero-width and punctuation, variation selectors */
    for (size_t i = 0; i < sizeof latin_fold / sizeof latin_fold[0]; i++)
        if (cp >= latin_fold[i].lo && cp <= latin_fold[i].hi) {
            *text = latin_fold[i].base;
            return FOLD_TEXT;
        }
    return FOLD_KEEP;
}

/* Folds s[0..len) into out; see optout_normalize. */
static int fold_n(const char *s, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    int space = 0; /* a space is owed before the next kept character */
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        size_t n;
        long cp = utf8_next(p, (size_t)(end - p), &n);
        const char *text = NULL;
        char buf[2];
        enum fold f = cp < 0 ? FOLD_DROP : fold_cp(cp, &text, buf);
        if (f == FOLD_SPACE)
            space = o > 0;
        if (f == FOLD_SPACE || f == FOLD_DROP) {
            p += n;
            continue;
        }
        size_t k = f == FOLD_TEXT ? strlen(text) : n;
        if (o + k + (space ? 1 : 0) + 1 > outlen)
            return -1;
        if (space)
            out[o++] = ' ';
        space = 0;
        memcpy(out + o, f == FOLD_TEXT ? text : (const char *)p, k);
        o += k;
        p += n;
    }
    out[o] = '\0';
    return (int)o;
}

int optout_normalize(const char *s, char *out, size_t outlen)
{
    if (!s || !out || outlen == 0)
        return -1;
    return fold_n(s, strlen(s), out, outlen);
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

/* 1 when the folded phrase occurs in the folded text with a space or an end on each side. */
static int phrase_in(const char *t, size_t tl, const char *ph, size_t pl)
{
    for (const char *at = t; (at = strstr(at, ph)) != NULL; at++) {
        size_t off = (size_t)(at - t);
        if ((off == 0 || t[off - 1] == ' ') && (off + pl == tl || t[off + pl] == ' '))
            return 1;
    }
    return 0;
}

enum optout_action optout_classify(const char *text, const struct optout_rule *rules, size_t n,
                                   long *which)
{
    /* Every character folds to at most 3 bytes per input byte ("ß" = 2 bytes -> "ss"). */
    char t[OPTOUT_TEXT_MAX * 2 + 2], r[OPTOUT_RULE_MAX * 2 + 2];
    enum optout_action got = OPTOUT_NONE;
    if (which)
        *which = -1;
    if (!text)
        return OPTOUT_NONE;
    size_t len = strlen(text);
    if (len > OPTOUT_TEXT_MAX) {
        len = OPTOUT_TEXT_MAX;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;
    }
    int tl = fold_n(text, len, t, sizeof t);
    if (tl <= 0)
        return OPTOUT_NONE;
    for (size_t i = 0; i < n && got != OPTOUT_STOP; i++) {
        if (!rules[i].text || (rules[i].action != OPTOUT_STOP && rules[i].action != OPTOUT_RESUME))
            continue;
        if (rules[i].action == OPTOUT_RESUME && got == OPTOUT_RESUME)
            continue;
        int rl = optout_normalize(rules[i].text, r, sizeof r);
        if (rl <= 0)
            continue;
        int hit = rules[i].kind == OPTOUT_PHRASE ? phrase_in(t, (size_t)tl, r, (size_t)rl)
                                                 : strcmp(t, r) == 0;
        if (hit) {
            got = rules[i].action;
            if (which)
                *which = (long)i;
        }
    }
    return got;
}

int optout_rule_check(const char *text, char out[OPTOUT_RULE_MAX + 1], const char **why)
{
    char r[OPTOUT_RULE_MAX * 2 + 2];
    out[0] = '\0';
    if (!text || !*text) {
        *why = "is empty";
        return -1;
    }
    if (strlen(text) > OPTOUT_RULE_MAX) {
        *why = "is longer than 64 bytes";
        return -1;
    }
    int rl = optout_normalize(text, r, sizeof r);
    if (rl <= 0) {
        *why = "has no letter or digit";
        return -1;
    }
    if (rl > OPTOUT_RULE_MAX) {
        *why = "is longer than 64 bytes once folded";
        return -1;
    }
    int alnum = 0;
    for (const unsigned char *p = (const unsigned char *)r; *p; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p >= 0x80)
            alnum = 1;
    if (!alnum) {
        *why = "has no letter or digit";
        return -1;
    }
    memcpy(out, r, (size_t)rl + 1);
    return 0;
}
