/* WhatsApp Cloud API wire format, shared helpers (string checks, the growable buffer, JSON).
 * The rest: cloudapi_request.c (send requests, prepared requests), cloudapi_answer.c (send
 * answers, template listings), cloudapi_errors.c (classification, retry delays),
 * cloudapi_template.c (placeholders, slots, previews). */
#include "cloudapi.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cloudapi_internal.h"
#include "jsonparse.h"

void cloudapi_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- small string helpers ---------------------------------------------------------- */

int cloudapi_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        unsigned c = *p;
        size_t n;
        unsigned min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, min = 0x80, c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, min = 0x800, c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            c = (c << 6) | (p[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

/* Copies at most size-1 bytes of src without cutting a UTF-8 sequence in two. */
void cloudapi_copy_trunc(char *dst, size_t size, const char *src, size_t len)
{
    if (size == 0)
        return;
    if (len >= size) {
        len = size - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Printable-ASCII excerpt of untrusted bytes (HTML error pages, curl messages) for logs. */
void cloudapi_copy_ascii(char *dst, size_t size, const char *src, size_t len)
{
    size_t j = 0;

    if (size == 0)
        return;
    for (size_t i = 0; i < len && j + 1 < size; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
        dst[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[j] = '\0';
}

int cloudapi_is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}
int cloudapi_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Meta template names: lowercase letters, digits, underscores, up to 512. */
int cloudapi_valid_template_name(const char *s)
{
    size_t n = 0;

    if (s == NULL)
        return 0;
    for (; s[n]; n++)
        if (!cloudapi_is_lower(s[n]) && !cloudapi_is_digit(s[n]) && s[n] != '_')
            return 0;
    return n > 0 && n <= 512;
}

/* Language codes such as "en", "es_AR", "fil", "zh_HK". */
int cloudapi_valid_language(const char *s)
{
    size_t n = 0;

    if (s == NULL)
        return 0;
    for (; s[n]; n++)
        if (!(s[n] >= 'A' && s[n] <= 'Z') && !cloudapi_is_lower(s[n]) && !cloudapi_is_digit(s[n]) &&
            s[n] != '_' && s[n] != '-')
            return 0;
    return n >= 2 && n <= 15;
}

/* Parameter and placeholder names: [a-z_][a-z0-9_]{0,62}. */
int cloudapi_valid_param_name(const char *s, size_t n)
{
    if (n == 0 || n > NAME_MAX_LEN || !(cloudapi_is_lower(s[0]) || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!cloudapi_is_lower(s[i]) && !cloudapi_is_digit(s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* '+', then 7..15 digits not starting with 0. */
int cloudapi_valid_e164(const char *s)
{
    size_t n = 0;

    if (s == NULL || s[0] != '+' || s[1] == '0')
        return 0;
    for (s++; s[n]; n++)
        if (!cloudapi_is_digit(s[n]))
            return 0;
    return n >= 7 && n <= 15;
}

/* ---- growable buffer --------------------------------------------------------------- */

void cloudapi_buf_add(struct cloudapi_buf *b, const char *s, size_t len)
{
    if (b->oom)
        return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

/* Takes the string out of b (never NULL unless out of memory). */
char *cloudapi_buf_take(struct cloudapi_buf *b)
{
    if (!b->oom && b->p == NULL)
        cloudapi_buf_add(b, "", 0);
    if (b->oom) {
        free(b->p);
        b->p = NULL;
        return NULL;
    }
    char *p = b->p;
    b->p = NULL;
    return p;
}

/* ---- json helpers ------------------------------------------------------------------ */

/* Strict parse of the whole input (trailing whitespace only). NULL with err on failure. */
json_object *cloudapi_parse_json(const char *s, size_t len, size_t max, char *err, size_t errlen)
{
    enum jsonparse_rc rc;
    enum json_tokener_error jerr;

    if (len > max) {
        cloudapi_seterr(err, errlen, "too large (%zu bytes)", len);
        return NULL;
    }
    json_object *o =
        jsonparse_whole(s, len, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8, &rc, &jerr);
    if (!o)
        cloudapi_seterr(err, errlen, rc == JSONPARSE_NOMEM ? "%s" : "not JSON (%s)",
                        jsonparse_reason(rc, jerr));
    return o;
}

/* The string member `key` of o, NULL when absent, not a string or containing a NUL. */
const char *cloudapi_jget_str(json_object *o, const char *key, size_t *len)
{
    json_object *v;
    const char *s;

    if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (s == NULL || strlen(s) != n)
        return NULL;
    if (len)
        *len = n;
    return s;
}

json_object *cloudapi_jget_type(json_object *o, const char *key, json_type t)
{
    json_object *v;

    if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
        return NULL;
    return v;
}

int cloudapi_jadd(json_object *o, const char *key, json_object *v)
{
    if (v == NULL)
        return -1;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

int cloudapi_jadd_str(json_object *o, const char *key, const char *s)
{
    return cloudapi_jadd(o, key, json_object_new_string(s));
}

int cloudapi_jappend(json_object *a, json_object *v)
{
    if (v == NULL)
        return -1;
    if (json_object_array_add(a, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

/* Compact serialization, malloc'd copy. */
char *cloudapi_jdump(json_object *o, size_t *len)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    char *copy;

    if (s == NULL || (copy = malloc(n + 1)) == NULL)
        return NULL;
    memcpy(copy, s, n + 1);
    if (len)
        *len = n;
    return copy;
}

const char *cloudapi_ctype_name(enum cloudapi_ctype t)
{
    switch (t) {
    case CLOUDAPI_C_HEADER:
        return "header";
    case CLOUDAPI_C_BODY:
        return "body";
    case CLOUDAPI_C_BUTTON:
        return "button";
    }
    return "?";
}

const char *cloudapi_ptype_name(enum cloudapi_ptype t)
{
    switch (t) {
    case CLOUDAPI_P_TEXT:
        return "text";
    case CLOUDAPI_P_IMAGE:
        return "image";
    case CLOUDAPI_P_DOCUMENT:
        return "document";
    case CLOUDAPI_P_VIDEO:
        return "video";
    case CLOUDAPI_P_PAYLOAD:
        return "payload";
    case CLOUDAPI_P_COUPON:
        return "coupon_code";
    }
    return NULL;
}
