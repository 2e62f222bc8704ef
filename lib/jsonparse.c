#include "jsonparse.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static pthread_key_t tok_key;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;
static int tok_key_ok;

static void tok_destroy(void *p)
{
    json_tokener_free(p);
}

static void tok_key_init(void)
{
    tok_key_ok = pthread_key_create(&tok_key, tok_destroy) == 0;
}

/* This thread's tokener, reset; NULL when out of memory. Freed when the thread ends. */
static json_tokener *tok_get(void)
{
    if (pthread_once(&tok_once, tok_key_init) != 0 || !tok_key_ok)
        return NULL;
    json_tokener *tok = pthread_getspecific(tok_key);
    if (tok) {
        json_tokener_reset(tok);
        return tok;
    }
    tok = json_tokener_new();
    if (tok && pthread_setspecific(tok_key, tok) != 0) {
        json_tokener_free(tok);
        tok = NULL;
    }
    return tok;
}

json_object *jsonparse_whole(const char *s, size_t len, int flags, enum jsonparse_rc *rc,
                             enum json_tokener_error *jerr)
{
    enum jsonparse_rc dummy_rc;
    enum json_tokener_error dummy_jerr;
    if (!rc)
        rc = &dummy_rc;
    if (!jerr)
        jerr = &dummy_jerr;
    *jerr = json_tokener_success;
    if (len > INT_MAX) {
        *rc = JSONPARSE_TOO_BIG;
        return NULL;
    }
    json_tokener *tok = tok_get();
    if (!tok) {
        *rc = JSONPARSE_NOMEM;
        return NULL;
    }
    json_tokener_set_flags(tok, flags);
    json_object *o = json_tokener_parse_ex(tok, s ? s : "", s ? (int)len : 0);
    *jerr = json_tokener_get_error(tok);
    if (*jerr != json_tokener_success || !o) {
        /* A literal null parses to NULL with success: not a document we take. */
        json_object_put(o);
        if (*jerr == json_tokener_success)
            *jerr = json_tokener_continue;
        *rc = JSONPARSE_INVALID;
        return NULL;
    }
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
            json_object_put(o);
            *rc = JSONPARSE_TRAILING;
            return NULL;
        }
    }
    *rc = JSONPARSE_OK;
    return o;
}

const char *jsonparse_reason(enum jsonparse_rc rc, enum json_tokener_error jerr)
{
    switch (rc) {
    case JSONPARSE_OK:
        return "ok";
    case JSONPARSE_NOMEM:
        return "out of memory";
    case JSONPARSE_TOO_BIG:
        return "too large";
    case JSONPARSE_TRAILING:
        return "garbage after the value";
    case JSONPARSE_INVALID:
        break;
    }
    return jerr == json_tokener_continue ? "truncated" : json_tokener_error_desc(jerr);
}

/* ---- jsonparse_text_check ----------------------------------------------------------------- */

struct jt_key {
    size_t off, len; /* decoded key in jt.keys */
};

struct jt_frame {
    int object;                /* 1 object, 0 array */
    int expect_key;            /* object: the next string is a key */
    size_t key_base;           /* first of this object's keys in jt.idx */
    size_t keys_base;          /* where its decoded keys start in jt.keys */
    size_t name_off, name_len; /* the member this container is the value of */
};

struct jt {
    char *keys; /* decoded keys of the open objects, back to back */
    size_t keys_len, keys_cap;
    struct jt_key *idx;
    size_t nidx, idx_cap;
    char *scratch; /* the string being decoded */
    size_t scratch_cap;
    struct jt_frame *st;
    size_t depth, st_cap;
};

static int jt_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *n = realloc(*p, c * size);
    if (!n)
        return -1;
    *p = n;
    *cap = c;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static long hex4(const char *s, size_t left)
{
    if (left < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Decodes the string whose opening quote is at s[*i] into t->scratch (length in *out_len);
 * leaves *i after the closing quote. Returns JSONTEXT_OK, _UTF8 (a lone surrogate escape) or
 * _NUL; the bytes themselves are checked by the caller. */
static enum jsontext_rc jt_string(struct jt *t, const char *s, size_t len, size_t *i,
                                  size_t *out_len)
{
    size_t k = 0, p = *i + 1;
    enum jsontext_rc rc = JSONTEXT_OK;
    while (p < len && s[p] != '"') {
        if (jt_grow((void **)&t->scratch, &t->scratch_cap, k + 5, 1) < 0)
            return JSONTEXT_NOMEM;
        if (s[p] != '\\') {
            t->scratch[k++] = s[p++];
            continue;
        }
        char e = p + 1 < len ? s[p + 1] : 0;
        p += 2;
        if (e != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *f = e ? strchr(from, e) : NULL;
            t->scratch[k++] = f ? to[f - from] : '?';
            continue;
        }
        long cp = p <= len ? hex4(s + p, len - p) : -1;
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            long lo =
                p + 1 < len && s[p] == '\\' && s[p + 1] == 'u' ? hex4(s + p + 2, len - p - 2) : -1;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else {
                cp = -1;
            }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = -1;
        }
        if (cp < 0) {
            if (rc == JSONTEXT_OK)
                rc = JSONTEXT_UTF8;
            t->scratch[k++] = '?';
        } else if (cp == 0) {
            if (rc == JSONTEXT_OK)
                rc = JSONTEXT_NUL;
            t->scratch[k++] = '?';
        } else if (cp < 0x80) {
            t->scratch[k++] = (char)cp;
        } else if (cp < 0x800) {
            t->scratch[k++] = (char)(0xC0 | (cp >> 6));
            t->scratch[k++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            t->scratch[k++] = (char)(0xE0 | (cp >> 12));
            t->scratch[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            t->scratch[k++] = (char)(0x80 | (cp & 0x3F));
        } else {
            t->scratch[k++] = (char)(0xF0 | (cp >> 18));
            t->scratch[k++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            t->scratch[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            t->scratch[k++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    *i = p + 1;
    *out_len = k;
    if (rc == JSONTEXT_OK && k && memchr(t->scratch, 0, k))
        rc = JSONTEXT_NUL;
    return rc;
}

static void jt_name(char *member, size_t mlen, const char *s, size_t n)
{
    if (!mlen)
        return;
    int text = !n || (utf8_valid(s, n) && !memchr(s, 0, n));
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < mlen; i++)
        member[k++] = text || (unsigned char)s[i] < 0x80 ? (s[i] ? s[i] : '?') : '?';
    /* never cut a character in two: stop before the character the next byte continues */
    while (text && k && k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    member[k] = '\0';
}

static __thread const char *jt_sort_keys;

static int jt_cmp(const void *a, const void *b)
{
    const struct jt_key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(jt_sort_keys + x->off, jt_sort_keys + y->off, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

enum jsontext_rc jsonparse_text_check(const char *s, size_t len, char *member, size_t mlen,
                                      char *why, size_t wlen)
{
    struct jt t;
    memset(&t, 0, sizeof t);
    enum jsontext_rc rc = JSONTEXT_OK;
    if (mlen)
        member[0] = '\0';
    if (wlen)
        why[0] = '\0';
    for (size_t i = 0; i < len && rc == JSONTEXT_OK;) {
        char c = s[i];
        struct jt_frame *top = t.depth ? &t.st[t.depth - 1] : NULL;
        if (c == '{' || c == '[') {
            if (jt_grow((void **)&t.st, &t.st_cap, t.depth + 1, sizeof *t.st) < 0) {
                rc = JSONTEXT_NOMEM;
                break;
            }
            top = t.depth ? &t.st[t.depth - 1] : NULL; /* the stack may have moved */
            struct jt_frame *f = &t.st[t.depth++];
            f->object = c == '{';
            f->expect_key = f->object;
            f->key_base = t.nidx;
            f->keys_base = t.keys_len;
            /* the member this container belongs to: the parent object's last key, or the
             * parent array's own member */
            if (top && top->object && t.nidx > top->key_base) {
                f->name_off = t.idx[t.nidx - 1].off;
                f->name_len = t.idx[t.nidx - 1].len;
            } else if (top) {
                f->name_off = top->name_off;
                f->name_len = top->name_len;
            } else {
                f->name_off = f->name_len = 0;
            }
            i++;
        } else if (c == '}' || c == ']') {
            if (top && top->object && t.nidx - top->key_base > 1) {
                struct jt_key *k = t.idx + top->key_base;
                size_t n = t.nidx - top->key_base;
                jt_sort_keys = t.keys;
                qsort(k, n, sizeof *k, jt_cmp);
                for (size_t j = 1; j < n; j++)
                    if (jt_cmp(&k[j - 1], &k[j]) == 0) {
                        jt_name(member, mlen, t.keys + k[j].off, k[j].len);
                        snprintf(why, wlen, "the member \"%s\" appears more than once", member);
                        rc = JSONTEXT_DUPLICATE;
                        break;
                    }
            }
            if (top) {
                t.nidx = top->key_base;
                t.keys_len = top->keys_base;
                t.depth--;
            }
            i++;
        } else if (c == ',') {
            if (top && top->object)
                top->expect_key = 1;
            i++;
        } else if (c == ':') {
            if (top)
                top->expect_key = 0;
            i++;
        } else if (c == '"') {
            size_t n = 0;
            int key = top && top->object && top->expect_key;
            enum jsontext_rc src = jt_string(&t, s, len, &i, &n);
            if (src == JSONTEXT_NOMEM) {
                rc = src;
                break;
            }
            if (src == JSONTEXT_OK && n && !utf8_valid(t.scratch, n))
                src = JSONTEXT_UTF8;
            if (key) {
                if (jt_grow((void **)&t.keys, &t.keys_cap, t.keys_len + n + 1, 1) < 0 ||
                    jt_grow((void **)&t.idx, &t.idx_cap, t.nidx + 1, sizeof *t.idx) < 0) {
                    rc = JSONTEXT_NOMEM;
                    break;
                }
                if (n)
                    memcpy(t.keys + t.keys_len, t.scratch, n);
                t.idx[t.nidx++] = (struct jt_key){t.keys_len, n};
                t.keys_len += n;
            }
            if (src != JSONTEXT_OK) {
                /* the member: this key itself, else the object's last key, else the
                 * container's own member */
                if (key) {
                    jt_name(member, mlen, t.scratch, n);
                } else if (top && top->object && t.nidx > top->key_base) {
                    jt_name(member, mlen, t.keys + t.idx[t.nidx - 1].off, t.idx[t.nidx - 1].len);
                } else if (top) {
                    jt_name(member, mlen, t.keys ? t.keys + top->name_off : "", top->name_len);
                }
                snprintf(why, wlen,
                         src == JSONTEXT_NUL ? "the %s \"%s\" holds a NUL character (\\u0000)"
                                             : "the %s \"%s\" is not valid UTF-8 text",
                         key ? "name of the member" : "member", member);
                rc = src;
            }
        } else if (strchr(" \t\r\n0123456789-+.eEtruefalsn", c) && c) {
            i++;
        } else {
            /* json-c's strict mode still takes 'single quotes' (and, unstrict, more) */
            snprintf(why, wlen, "unexpected character at byte %zu", i + 1);
            rc = JSONTEXT_SYNTAX;
        }
    }
    free(t.keys);
    free(t.idx);
    free(t.scratch);
    free(t.st);
    if (rc == JSONTEXT_NOMEM)
        snprintf(why, wlen, "out of memory");
    return rc;
}
