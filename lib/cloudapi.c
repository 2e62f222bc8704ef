#include "cloudapi.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "errcodes.h"
#include "jsonparse.h"

/* Input caps: far above anything Meta sends, low enough that hostile input stays cheap. */
#define SEND_ANSWER_MAX        (1u << 20)
#define TEMPLATE_PAGE_MAX      (32u << 20)
#define COMPONENTS_MAX         (1u << 20)
#define NEXT_URL_MAX           8192
#define PLACEHOLDERS_MAX       100 /* per component; Meta allows far fewer */
#define POSITIONAL_MAX         999 /* three digits */
#define NAME_MAX_LEN           63  /* fits cloudapi_slot.name */
#define BUTTONS_MAX            10
#define TEMPLATES_PER_PAGE_MAX 10000 /* Graph API pages hold at most a few hundred */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- small string helpers ---------------------------------------------------------- */

static int utf8_valid(const char *s, size_t len)
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
static void copy_trunc(char *dst, size_t size, const char *src, size_t len)
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
static void copy_ascii(char *dst, size_t size, const char *src, size_t len)
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

static int is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}
static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Meta template names: lowercase letters, digits, underscores, up to 512. */
static int valid_template_name(const char *s)
{
    size_t n = 0;

    if (s == NULL)
        return 0;
    for (; s[n]; n++)
        if (!is_lower(s[n]) && !is_digit(s[n]) && s[n] != '_')
            return 0;
    return n > 0 && n <= 512;
}

/* Language codes such as "en", "es_AR", "fil", "zh_HK". */
static int valid_language(const char *s)
{
    size_t n = 0;

    if (s == NULL)
        return 0;
    for (; s[n]; n++)
        if (!(s[n] >= 'A' && s[n] <= 'Z') && !is_lower(s[n]) && !is_digit(s[n]) && s[n] != '_' &&
            s[n] != '-')
            return 0;
    return n >= 2 && n <= 15;
}

/* Parameter and placeholder names: [a-z_][a-z0-9_]{0,62}. */
static int valid_param_name(const char *s, size_t n)
{
    if (n == 0 || n > NAME_MAX_LEN || !(is_lower(s[0]) || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!is_lower(s[i]) && !is_digit(s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* '+', then 7..15 digits not starting with 0. */
static int valid_e164(const char *s)
{
    size_t n = 0;

    if (s == NULL || s[0] != '+' || s[1] == '0')
        return 0;
    for (s++; s[n]; n++)
        if (!is_digit(s[n]))
            return 0;
    return n >= 7 && n <= 15;
}

/* ---- growable buffer --------------------------------------------------------------- */

struct buf {
    char *p;
    size_t n, cap;
    int oom;
};

static void buf_add(struct buf *b, const char *s, size_t len)
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
static char *buf_take(struct buf *b)
{
    if (!b->oom && b->p == NULL)
        buf_add(b, "", 0);
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
static json_object *parse_json(const char *s, size_t len, size_t max, char *err, size_t errlen)
{
    enum jsonparse_rc rc;
    enum json_tokener_error jerr;

    if (len > max) {
        seterr(err, errlen, "too large (%zu bytes)", len);
        return NULL;
    }
    json_object *o =
        jsonparse_whole(s, len, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8, &rc, &jerr);
    if (!o)
        seterr(err, errlen, rc == JSONPARSE_NOMEM ? "%s" : "not JSON (%s)",
               jsonparse_reason(rc, jerr));
    return o;
}

/* The string member `key` of o, NULL when absent, not a string or containing a NUL. */
static const char *jget_str(json_object *o, const char *key, size_t *len)
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

static json_object *jget_type(json_object *o, const char *key, json_type t)
{
    json_object *v;

    if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
        return NULL;
    return v;
}

static int jadd(json_object *o, const char *key, json_object *v)
{
    if (v == NULL)
        return -1;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

static int jadd_str(json_object *o, const char *key, const char *s)
{
    return jadd(o, key, json_object_new_string(s));
}

static int jappend(json_object *a, json_object *v)
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
static char *jdump(json_object *o, size_t *len)
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

/* ---- send request ------------------------------------------------------------------ */

static const char *ctype_name(enum cloudapi_ctype t)
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

static const char *ptype_name(enum cloudapi_ptype t)
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

/* Checks one component and its parameters; 0 or -1 with err. *named gets 1/0 for the
   first text parameter seen (-1 = none yet) to catch mixing across components. */
static int check_component(const struct cloudapi_component *c, size_t ci, int *named, char *err,
                           size_t errlen)
{
    const char *cn = ctype_name(c->type);

    if (strcmp(cn, "?") == 0) {
        seterr(err, errlen, "component %zu: unknown type %d", ci, (int)c->type);
        return -1;
    }
    if (c->nparams == 0 || c->params == NULL) {
        seterr(err, errlen, "component %zu (%s): no parameters", ci, cn);
        return -1;
    }
    if (c->type != CLOUDAPI_C_BODY && c->nparams != 1) {
        seterr(err, errlen, "component %zu (%s): takes exactly one parameter, got %zu", ci, cn,
               c->nparams);
        return -1;
    }
    if (c->type == CLOUDAPI_C_BUTTON) {
        enum cloudapi_ptype want;
        if (c->sub_type == NULL) {
            seterr(err, errlen, "component %zu (button): sub_type missing", ci);
            return -1;
        } else if (strcmp(c->sub_type, "url") == 0) {
            want = CLOUDAPI_P_TEXT;
        } else if (strcmp(c->sub_type, "quick_reply") == 0) {
            want = CLOUDAPI_P_PAYLOAD;
        } else if (strcmp(c->sub_type, "copy_code") == 0) {
            want = CLOUDAPI_P_COUPON;
        } else {
            seterr(err, errlen, "component %zu (button): unsupported sub_type", ci);
            return -1;
        }
        if (c->index < 0 || c->index >= BUTTONS_MAX) {
            seterr(err, errlen, "component %zu (button): index %d out of 0..9", ci, c->index);
            return -1;
        }
        if (c->params[0].type != want) {
            seterr(err, errlen, "component %zu (button %s): parameter must be %s", ci, c->sub_type,
                   ptype_name(want));
            return -1;
        }
    }
    for (size_t i = 0; i < c->nparams; i++) {
        const struct cloudapi_param *p = &c->params[i];
        const char *pn = ptype_name(p->type);
        if (pn == NULL) {
            seterr(err, errlen, "component %zu (%s) parameter %zu: unknown type %d", ci, cn, i,
                   (int)p->type);
            return -1;
        }
        if (c->type == CLOUDAPI_C_BODY && p->type != CLOUDAPI_P_TEXT) {
            seterr(err, errlen, "component %zu (body) parameter %zu: must be text, not %s", ci, i,
                   pn);
            return -1;
        }
        if (c->type == CLOUDAPI_C_HEADER &&
            (p->type == CLOUDAPI_P_PAYLOAD || p->type == CLOUDAPI_P_COUPON)) {
            seterr(err, errlen, "component %zu (header): %s parameter not allowed", ci, pn);
            return -1;
        }
        if (p->value == NULL || p->value[0] == '\0') {
            seterr(err, errlen, "component %zu (%s) parameter %zu: empty value", ci, cn, i);
            return -1;
        }
        if (!utf8_valid(p->value, strlen(p->value))) {
            seterr(err, errlen, "component %zu (%s) parameter %zu: value is not valid UTF-8", ci,
                   cn, i);
            return -1;
        }
        if ((p->type == CLOUDAPI_P_IMAGE || p->type == CLOUDAPI_P_DOCUMENT ||
             p->type == CLOUDAPI_P_VIDEO) &&
            strncasecmp(p->value, "https://", 8) != 0 && strncasecmp(p->value, "http://", 7) != 0) {
            seterr(err, errlen, "component %zu (%s): %s link must be an http(s) URL", ci, cn, pn);
            return -1;
        }
        if (p->type != CLOUDAPI_P_TEXT || c->type == CLOUDAPI_C_BUTTON) {
            if (p->name != NULL) {
                seterr(err, errlen,
                       "component %zu (%s) parameter %zu: only header/body text "
                       "parameters can be named",
                       ci, cn, i);
                return -1;
            }
            continue;
        }
        int is_named = p->name != NULL;
        if (is_named && !valid_param_name(p->name, strlen(p->name))) {
            seterr(err, errlen, "component %zu (%s) parameter %zu: invalid parameter name", ci, cn,
                   i);
            return -1;
        }
        if (*named >= 0 && *named != is_named) {
            seterr(err, errlen,
                   "component %zu (%s) parameter %zu: named and positional parameters mixed", ci,
                   cn, i);
            return -1;
        }
        *named = is_named;
        for (size_t j = 0; is_named && j < i; j++) {
            if (c->params[j].name && strcmp(c->params[j].name, p->name) == 0) {
                seterr(err, errlen, "component %zu (%s): parameter \"%s\" given twice", ci, cn,
                       p->name);
                return -1;
            }
        }
    }
    return 0;
}

static json_object *param_json(const struct cloudapi_param *p)
{
    const char *tn = ptype_name(p->type);
    json_object *o = json_object_new_object();
    int bad = 0;

    if (o == NULL)
        return NULL;
    bad |= jadd_str(o, "type", tn);
    switch (p->type) {
    case CLOUDAPI_P_TEXT:
    case CLOUDAPI_P_PAYLOAD:
    case CLOUDAPI_P_COUPON:
        bad |= jadd_str(o, tn, p->value);
        break;
    case CLOUDAPI_P_IMAGE:
    case CLOUDAPI_P_DOCUMENT:
    case CLOUDAPI_P_VIDEO: {
        json_object *media = json_object_new_object();
        if (media == NULL || jadd_str(media, "link", p->value) != 0) {
            json_object_put(media);
            bad = 1;
            break;
        }
        bad |= jadd(o, tn, media);
        break;
    }
    }
    if (p->name)
        bad |= jadd_str(o, "parameter_name", p->name);
    if (bad) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static json_object *component_json(const struct cloudapi_component *c)
{
    json_object *o = json_object_new_object(), *params = json_object_new_array();
    int bad = o == NULL || params == NULL;

    if (!bad) {
        bad |= jadd_str(o, "type", ctype_name(c->type));
        if (c->type == CLOUDAPI_C_BUTTON) {
            char idx[16];
            snprintf(idx, sizeof idx, "%d", c->index);
            bad |= jadd_str(o, "sub_type", c->sub_type);
            bad |= jadd_str(o, "index", idx);
        }
        for (size_t i = 0; i < c->nparams && !bad; i++)
            bad |= jappend(params, param_json(&c->params[i]));
        if (!bad) {
            bad |= jadd(o, "parameters", params);
            params = NULL;
        }
    }
    json_object_put(params);
    if (bad) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

char *cloudapi_message_json(const struct cloudapi_message *m, size_t *len, char *err, size_t errlen)
{
    json_object *root = NULL, *tmpl = NULL, *lang = NULL, *comps = NULL;
    char *out = NULL;
    int named = -1, bad = 0;
    unsigned seen = 0; /* bit 0 header, bit 1 body, bit 2+i button i */

    if (len)
        *len = 0;
    if (m == NULL) {
        seterr(err, errlen, "no message");
        return NULL;
    }
    if (!valid_e164(m->to)) {
        seterr(err, errlen, "recipient is not an E.164 number with '+'");
        return NULL;
    }
    if (!valid_template_name(m->template_name)) {
        seterr(err, errlen, "invalid template name");
        return NULL;
    }
    if (!valid_language(m->language)) {
        seterr(err, errlen, "invalid language code");
        return NULL;
    }
    if (m->callback_data) {
        size_t n = strlen(m->callback_data);
        /* Bytes, not characters: never more than Meta's 512-character limit. */
        if (n > CLOUDAPI_CALLBACK_MAX) {
            seterr(err, errlen, "biz_opaque_callback_data is %zu bytes, max %d", n,
                   CLOUDAPI_CALLBACK_MAX);
            return NULL;
        }
        if (!utf8_valid(m->callback_data, n)) {
            seterr(err, errlen, "biz_opaque_callback_data is not valid UTF-8");
            return NULL;
        }
    }
    if (m->ncomponents > 0 && m->components == NULL) {
        seterr(err, errlen, "components missing");
        return NULL;
    }
    for (size_t i = 0; i < m->ncomponents; i++) {
        const struct cloudapi_component *c = &m->components[i];
        if (check_component(c, i, &named, err, errlen) != 0)
            return NULL;
        unsigned bit = c->type == CLOUDAPI_C_HEADER ? 1u
                       : c->type == CLOUDAPI_C_BODY ? 2u
                                                    : 4u << c->index;
        if (seen & bit) {
            seterr(err, errlen, "component %zu (%s): given twice", i, ctype_name(c->type));
            return NULL;
        }
        seen |= bit;
    }

    root = json_object_new_object();
    tmpl = json_object_new_object();
    lang = json_object_new_object();
    if (root == NULL || tmpl == NULL || lang == NULL)
        goto oom;
    bad |= jadd_str(root, "messaging_product", "whatsapp");
    bad |= jadd_str(root, "recipient_type", "individual");
    bad |= jadd_str(root, "to", m->to);
    bad |= jadd_str(root, "type", "template");
    if (m->callback_data && m->callback_data[0])
        bad |= jadd_str(root, "biz_opaque_callback_data", m->callback_data);
    bad |= jadd_str(tmpl, "name", m->template_name);
    bad |= jadd_str(lang, "policy", "deterministic");
    bad |= jadd_str(lang, "code", m->language);
    bad |= jadd(tmpl, "language", lang);
    lang = NULL;
    if (m->ncomponents > 0) {
        comps = json_object_new_array();
        if (comps == NULL)
            goto oom;
        for (size_t i = 0; i < m->ncomponents && !bad; i++)
            bad |= jappend(comps, component_json(&m->components[i]));
        bad |= jadd(tmpl, "components", comps);
        comps = NULL;
    }
    bad |= jadd(root, "template", tmpl);
    tmpl = NULL;
    if (bad)
        goto oom;
    out = jdump(root, len);
    if (out == NULL)
        goto oom;
    json_object_put(root);
    return out;
oom:
    json_object_put(lang);
    json_object_put(comps);
    json_object_put(tmpl);
    json_object_put(root);
    seterr(err, errlen, "out of memory");
    return NULL;
}

/* ---- classification ---------------------------------------------------------------- */

enum cloudapi_action cloudapi_classify(int code, long http_status)
{
    int transient_http = http_status == 0 || http_status == 408 || http_status == 429 ||
                         (http_status >= 500 && http_status <= 599);

    if (code < 0)
        return CLOUDAPI_ACT_RETRY;
    /* A real code 0 comes in a 4xx auth answer; without one it is just "no code". */
    if (code == 0 && (http_status == 0 || (http_status >= 500 && http_status <= 599)))
        return CLOUDAPI_ACT_RETRY;
    /* Meta's codes: one table (lib/errcodes.c). */
    const struct errcode *e = errcodes_find(code);
    if (e)
        return e->action;
    return transient_http ? CLOUDAPI_ACT_RETRY : CLOUDAPI_ACT_FAIL;
}

const char *cloudapi_action_name(enum cloudapi_action a)
{
    switch (a) {
    case CLOUDAPI_ACT_NONE:
        return "none";
    case CLOUDAPI_ACT_RETRY:
        return "retry";
    case CLOUDAPI_ACT_RETRY_THROTTLE:
        return "retry_throttle";
    case CLOUDAPI_ACT_RETRY_PAIR:
        return "retry_pair";
    case CLOUDAPI_ACT_RETRY_24H:
        return "retry_24h";
    case CLOUDAPI_ACT_RETRY_MAINTENANCE:
        return "retry_maintenance";
    case CLOUDAPI_ACT_FAIL:
        return "fail";
    case CLOUDAPI_ACT_OPTOUT:
        return "optout";
    case CLOUDAPI_ACT_INVALID_NUMBER:
        return "invalid_number";
    case CLOUDAPI_ACT_FAIL_PARAM:
        return "fail_param";
    case CLOUDAPI_ACT_PAUSE_CAMPAIGN:
        return "pause_campaign";
    case CLOUDAPI_ACT_STOP_CAMPAIGN:
        return "stop_campaign";
    case CLOUDAPI_ACT_PAUSE_NUMBER:
        return "pause_number";
    case CLOUDAPI_ACT_STOP_ACCOUNT:
        return "stop_account";
    case CLOUDAPI_ACT_STOP_NUMBER:
        return "stop_number";
    }
    return "unknown";
}

const char *cloudapi_explain(int code, const char *lang)
{
    return errcodes_explain(code, lang);
}

/* ---- retry delays ------------------------------------------------------------------ */

/* Full jitter between floor and min(cap, base * 2^(attempt-1)). */
static long jitter_exp(long base, long floor_ms, long cap, int attempt, uint32_t random)
{
    long top = base;

    for (int i = 1; i < attempt && top < cap; i++)
        top *= 2;
    if (top > cap)
        top = cap;
    if (top <= floor_ms)
        return floor_ms;
    return floor_ms + (long)(random % (uint32_t)(top - floor_ms + 1));
}

long cloudapi_retry_delay_ms(enum cloudapi_action a, int attempt, uint32_t random)
{
    if (attempt < 1)
        attempt = 1;
    switch (a) {
    case CLOUDAPI_ACT_RETRY:
        return jitter_exp(2000, 1000, 30L * 60 * 1000, attempt, random);
    case CLOUDAPI_ACT_RETRY_THROTTLE:
        return jitter_exp(1000, 500, 5L * 60 * 1000, attempt, random);
    case CLOUDAPI_ACT_RETRY_MAINTENANCE:
        return jitter_exp(60L * 1000, 60L * 1000, 30L * 60 * 1000, attempt, random);
    case CLOUDAPI_ACT_RETRY_PAIR: {
        long s = 1000;
        for (int i = 0; i < attempt && i < 7; i++)
            s *= 4;
        return s + (long)(random % (uint32_t)(s / 4 + 1));
    }
    case CLOUDAPI_ACT_RETRY_24H:
        return 24L * 3600 * 1000 + (long)(random % (3600u * 1000 + 1));
    default:
        return -1;
    }
}

/* ---- send answer ------------------------------------------------------------------- */

static int synth(struct cloudapi_result *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int synth(struct cloudapi_result *r, int code, const char *fmt, ...)
{
    va_list ap;

    r->accepted = r->held = 0;
    r->wamid[0] = r->wa_id[0] = '\0';
    r->code = code;
    r->action = CLOUDAPI_ACT_RETRY;
    va_start(ap, fmt);
    vsnprintf(r->details, sizeof r->details, fmt, ap);
    va_end(ap);
    return -1;
}

static int printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

int cloudapi_parse_send(long http_status, const char *body, size_t len, struct cloudapi_result *r)
{
    char why[128], excerpt[121];
    json_object *root, *error, *v;
    const char *s;
    size_t n;
    int rc = -1;

    if (r == NULL)
        return -1;
    memset(r, 0, sizeof *r);
    r->http_status = http_status;
    if (body == NULL)
        len = 0;
    if (http_status == 0) {
        copy_ascii(excerpt, sizeof excerpt, body, len);
        return synth(r, CLOUDAPI_CODE_NO_ANSWER,
                     "no HTTP answer (network failure, timeout or "
                     "connection refused)%s%s",
                     excerpt[0] ? ": " : "", excerpt);
    }
    if (len == 0)
        return synth(r, CLOUDAPI_CODE_BAD_ANSWER, "empty answer with HTTP %ld", http_status);
    root = parse_json(body, len, SEND_ANSWER_MAX, why, sizeof why);
    if (root == NULL) {
        copy_ascii(excerpt, sizeof excerpt, body, len);
        return synth(r, CLOUDAPI_CODE_BAD_ANSWER, "answer with HTTP %ld is %s: %s", http_status,
                     why, excerpt);
    }
    if (!json_object_is_type(root, json_type_object)) {
        synth(r, CLOUDAPI_CODE_BAD_ANSWER, "answer with HTTP %ld is JSON but not an object",
              http_status);
        goto out;
    }

    error = jget_type(root, "error", json_type_object);
    if (error != NULL) {
        if ((s = jget_str(error, "message", &n)) != NULL)
            copy_trunc(r->message, sizeof r->message, s, n);
        if ((s = jget_str(jget_type(error, "error_data", json_type_object), "details", &n)))
            copy_trunc(r->details, sizeof r->details, s, n);
        if ((s = jget_str(error, "fbtrace_id", &n)) != NULL)
            copy_trunc(r->fbtrace_id, sizeof r->fbtrace_id, s, n);
        v = jget_type(error, "code", json_type_int);
        int64_t code = v ? json_object_get_int64(v) : -1;
        if (code < 0 || code > INT_MAX) {
            char msg[sizeof r->message];
            memcpy(msg, r->message, sizeof msg);
            synth(r, CLOUDAPI_CODE_BAD_ANSWER,
                  "Graph API error with HTTP %ld and no valid code: %s", http_status,
                  msg[0] ? msg : "(no message)");
            goto out;
        }
        r->code = (int)code;
        r->action = cloudapi_classify(r->code, http_status);
        rc = 0;
        goto out;
    }
    if (http_status < 200 || http_status > 299) {
        synth(r, CLOUDAPI_CODE_BAD_ANSWER, "HTTP %ld without a Graph API error object",
              http_status);
        goto out;
    }
    v = jget_type(root, "messages", json_type_array);
    v = v && json_object_array_length(v) > 0 ? json_object_array_get_idx(v, 0) : NULL;
    s = json_object_is_type(v, json_type_object) ? jget_str(v, "id", &n) : NULL;
    if (s == NULL || n == 0 || n >= sizeof r->wamid || !printable_ascii(s)) {
        synth(r, CLOUDAPI_CODE_BAD_ANSWER, "HTTP %ld without a usable messages[0].id", http_status);
        goto out;
    }
    memcpy(r->wamid, s, n + 1);
    s = jget_str(v, "message_status", NULL);
    r->held = s != NULL && strcmp(s, "held_for_quality_assessment") == 0;
    v = jget_type(root, "contacts", json_type_array);
    v = v && json_object_array_length(v) > 0 ? json_object_array_get_idx(v, 0) : NULL;
    s = json_object_is_type(v, json_type_object) ? jget_str(v, "wa_id", &n) : NULL;
    if (s != NULL && n < sizeof r->wa_id && printable_ascii(s))
        memcpy(r->wa_id, s, n + 1);
    r->accepted = 1;
    r->action = CLOUDAPI_ACT_NONE;
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

/* ---- template listing -------------------------------------------------------------- */

static void template_free(struct cloudapi_template *t)
{
    free(t->id);
    free(t->name);
    free(t->language);
    free(t->status);
    free(t->category);
    free(t->components);
    memset(t, 0, sizeof *t);
}

void cloudapi_template_page_free(struct cloudapi_template_page *page)
{
    if (page == NULL)
        return;
    for (size_t i = 0; i < page->n; i++)
        template_free(&page->items[i]);
    free(page->items);
    free(page->next);
    memset(page, 0, sizeof *page);
}

/* 1 = filled, 0 = entry unusable (skipped), -1 = out of memory. */
static int template_from_json(json_object *o, struct cloudapi_template *t)
{
    char idbuf[32];
    const char *id, *name, *lang, *s;
    json_object *v;
    size_t n;

    memset(t, 0, sizeof *t);
    if (!json_object_is_type(o, json_type_object))
        return 0;
    id = jget_str(o, "id", &n);
    if (id == NULL && (v = jget_type(o, "id", json_type_int)) != NULL) {
        snprintf(idbuf, sizeof idbuf, "%" PRId64, json_object_get_int64(v));
        id = idbuf;
        n = strlen(id);
    }
    if (id == NULL || n == 0 || n > 64 || !printable_ascii(id))
        return 0;
    name = jget_str(o, "name", NULL);
    lang = jget_str(o, "language", NULL);
    if (!valid_template_name(name) || !valid_language(lang))
        return 0;
    v = NULL;
    if (json_object_object_get_ex(o, "components", &v) && v != NULL &&
        !json_object_is_type(v, json_type_array))
        return 0;
    t->id = strdup(id);
    t->name = strdup(name);
    t->language = strdup(lang);
    s = jget_str(o, "status", &n);
    t->status = strdup(s && n <= 64 ? s : "");
    s = jget_str(o, "category", &n);
    t->category = strdup(s && n <= 64 ? s : "");
    s = jget_str(o, "parameter_format", NULL);
    t->named = s != NULL && strcasecmp(s, "NAMED") == 0;
    t->components = v ? jdump(v, NULL) : strdup("[]");
    if (!t->id || !t->name || !t->language || !t->status || !t->category || !t->components) {
        template_free(t);
        return -1;
    }
    return 1;
}

int cloudapi_parse_templates(const char *body, size_t len, struct cloudapi_template_page *page,
                             char *err, size_t errlen)
{
    char why[128];
    json_object *root, *data, *error, *paging, *next;
    size_t count;

    if (page == NULL) {
        seterr(err, errlen, "no page");
        return -1;
    }
    memset(page, 0, sizeof *page);
    if (body == NULL || len == 0) {
        seterr(err, errlen, "template list: empty answer");
        return -1;
    }
    root = parse_json(body, len, TEMPLATE_PAGE_MAX, why, sizeof why);
    if (root == NULL) {
        seterr(err, errlen, "template list: %s", why);
        return -1;
    }
    if (!json_object_is_type(root, json_type_object)) {
        seterr(err, errlen, "template list: not a JSON object");
        goto fail;
    }
    if ((error = jget_type(root, "error", json_type_object)) != NULL) {
        json_object *c = jget_type(error, "code", json_type_int);
        const char *msg = jget_str(error, "message", NULL);
        seterr(err, errlen, "template list: Graph API error %d: %.200s",
               c ? json_object_get_int(c) : 0, msg ? msg : "(no message)");
        goto fail;
    }
    data = jget_type(root, "data", json_type_array);
    if (data == NULL) {
        seterr(err, errlen, "template list: no \"data\" array");
        goto fail;
    }
    paging = jget_type(root, "paging", json_type_object);
    if (paging != NULL && json_object_object_get_ex(paging, "next", &next) && next != NULL) {
        size_t n;
        const char *s = jget_str(paging, "next", &n);
        if (s == NULL || n == 0 || n > NEXT_URL_MAX || !printable_ascii(s)) {
            seterr(err, errlen, "template list: paging.next is not a usable URL");
            goto fail;
        }
        if ((page->next = strdup(s)) == NULL)
            goto oom;
    }
    count = json_object_array_length(data);
    if (count > TEMPLATES_PER_PAGE_MAX) {
        seterr(err, errlen, "template list: %zu entries in one page", count);
        goto fail;
    }
    if (count > 0 && (page->items = calloc(count, sizeof *page->items)) == NULL)
        goto oom;
    for (size_t i = 0; i < count; i++) {
        int rc = template_from_json(json_object_array_get_idx(data, i), &page->items[page->n]);
        if (rc < 0)
            goto oom;
        if (rc == 0)
            page->skipped++;
        else
            page->n++;
    }
    json_object_put(root);
    return 0;
oom:
    seterr(err, errlen, "out of memory");
fail:
    cloudapi_template_page_free(page);
    json_object_put(root);
    return -1;
}

/* ---- placeholders ------------------------------------------------------------------ */

/* Called for each placeholder: tok/toklen is the inside of {{...}}, num > 0 for positional
   ones (0 for named), [start, end) its bytes in the text. Non-zero stops the scan. */
typedef int (*placeholder_fn)(void *ctx, const char *tok, size_t toklen, int num, size_t start,
                              size_t end);

/* Walks the placeholders of text; -1 with err (mentioning `where`) on a malformed one. */
static int scan_placeholders(const char *text, const char *where, placeholder_fn fn, void *ctx,
                             char *err, size_t errlen)
{
    const char *p = text;

    while ((p = strstr(p, "{{")) != NULL) {
        const char *t = p + 2, *q = t;
        while (is_lower(*q) || is_digit(*q) || *q == '_')
            q++;
        size_t n = (size_t)(q - t);
        int ok = n > 0 && q[0] == '}' && q[1] == '}', num = 0;
        if (ok && is_digit(t[0])) {
            ok = t[0] != '0' && n <= 3;
            for (size_t i = 0; ok && i < n; i++) {
                ok = is_digit(t[i]);
                num = num * 10 + (t[i] - '0');
            }
        } else if (ok) {
            ok = valid_param_name(t, n);
        }
        if (!ok) {
            char snip[32];
            copy_ascii(snip, sizeof snip, p, strnlen(p, 24));
            seterr(err, errlen, "%s: malformed placeholder at byte %zu: \"%s\"", where,
                   (size_t)(p - text), snip);
            return -1;
        }
        if (fn(ctx, t, n, num, (size_t)(p - text), (size_t)(q + 2 - text)) != 0)
            return -1;
        p = q + 2;
    }
    return 0;
}

struct collect {
    struct cloudapi_slots *s;
    enum cloudapi_ctype comp;
    int index;
    const char *where;
    size_t first; /* s->v index where this component's slots start */
    size_t count; /* placeholders seen */
    int mode;     /* -1 none yet, 0 positional, 1 named */
    int maxnum;
    unsigned char seen[POSITIONAL_MAX + 1];
    char *err;
    size_t errlen;
};

static int slot_push(struct cloudapi_slots *s, enum cloudapi_ctype comp, int index,
                     enum cloudapi_ptype type, const char *name, size_t namelen)
{
    struct cloudapi_slot *v = realloc(s->v, (s->n + 1) * sizeof *v);

    if (v == NULL)
        return -1;
    s->v = v;
    v += s->n++;
    memset(v, 0, sizeof *v);
    v->component = comp;
    v->index = index;
    v->type = type;
    copy_trunc(v->name, sizeof v->name, name, namelen);
    return 0;
}

static int collect_one(void *ctx, const char *tok, size_t toklen, int num, size_t start, size_t end)
{
    struct collect *c = ctx;
    int named = num == 0;

    (void)start;
    (void)end;
    if (++c->count > PLACEHOLDERS_MAX) {
        seterr(c->err, c->errlen, "%s: more than %d placeholders", c->where, PLACEHOLDERS_MAX);
        return -1;
    }
    if (c->mode >= 0 && c->mode != named) {
        seterr(c->err, c->errlen, "%s: mixes named and positional placeholders", c->where);
        return -1;
    }
    c->mode = named;
    if (!named) {
        c->seen[num] = 1;
        if (num > c->maxnum)
            c->maxnum = num;
        return 0;
    }
    for (size_t i = c->first; i < c->s->n; i++)
        if (strlen(c->s->v[i].name) == toklen && memcmp(c->s->v[i].name, tok, toklen) == 0)
            return 0;
    if (slot_push(c->s, c->comp, c->index, CLOUDAPI_P_TEXT, tok, toklen) != 0) {
        seterr(c->err, c->errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Adds the text slots of one HEADER/BODY text; returns its mode (-1 none, 0, 1) or -2. */
static int collect_text(struct cloudapi_slots *s, enum cloudapi_ctype comp, const char *text,
                        const char *where, char *err, size_t errlen)
{
    struct collect *c = calloc(1, sizeof *c);
    int mode;

    if (c == NULL) {
        seterr(err, errlen, "out of memory");
        return -2;
    }
    c->s = s;
    c->comp = comp;
    c->where = where;
    c->first = s->n;
    c->mode = -1;
    c->err = err;
    c->errlen = errlen;
    if (scan_placeholders(text, where, collect_one, c, err, errlen) != 0)
        goto fail;
    for (int k = 1; k <= c->maxnum; k++) {
        char name[12]; /* any int */
        if (!c->seen[k]) {
            seterr(err, errlen, "%s: {{%d}} is used but {{%d}} is missing", where, c->maxnum, k);
            goto fail;
        }
        snprintf(name, sizeof name, "%d", k);
        if (slot_push(s, comp, 0, CLOUDAPI_P_TEXT, name, strlen(name)) != 0) {
            seterr(err, errlen, "out of memory");
            goto fail;
        }
    }
    mode = c->mode;
    free(c);
    return mode;
fail:
    free(c);
    return -2;
}

struct url_scan {
    size_t count, start, end;
    int num;
};

static int url_one(void *ctx, const char *tok, size_t toklen, int num, size_t start, size_t end)
{
    struct url_scan *u = ctx;

    (void)tok;
    (void)toklen;
    u->count++;
    u->num = num;
    u->start = start;
    u->end = end;
    return 0;
}

/* Slots are appended component by component, so header < body < buttons holds as long as
   the template lists them in that order, which Meta does; we sort anyway to be safe. */
static int slot_rank(const struct cloudapi_slot *a)
{
    return a->component == CLOUDAPI_C_HEADER ? 0 : a->component == CLOUDAPI_C_BODY ? 1 : 2;
}

static void slots_sort(struct cloudapi_slots *s)
{
    /* Insertion sort, stable; n <= a few hundred. */
    for (size_t i = 1; i < s->n; i++) {
        struct cloudapi_slot x = s->v[i];
        size_t j = i;
        while (j > 0 && (slot_rank(&s->v[j - 1]) > slot_rank(&x) ||
                         (slot_rank(&s->v[j - 1]) == 2 && slot_rank(&x) == 2 &&
                          s->v[j - 1].index > x.index))) {
            s->v[j] = s->v[j - 1];
            j--;
        }
        s->v[j] = x;
    }
}

void cloudapi_slots_free(struct cloudapi_slots *s)
{
    if (s == NULL)
        return;
    free(s->v);
    memset(s, 0, sizeof *s);
}

static json_object *parse_components(const char *components_json, char *err, size_t errlen)
{
    char why[128];
    json_object *root;

    if (components_json == NULL) {
        seterr(err, errlen, "components: missing");
        return NULL;
    }
    root = parse_json(components_json, strlen(components_json), COMPONENTS_MAX, why, sizeof why);
    if (root == NULL) {
        seterr(err, errlen, "components: %s", why);
        return NULL;
    }
    if (!json_object_is_type(root, json_type_array)) {
        seterr(err, errlen, "components: not a JSON array");
        json_object_put(root);
        return NULL;
    }
    return root;
}

/* The type of component i, NULL (with err) when it is not an object with a string type. */
static const char *component_type(json_object *c, size_t i, char *err, size_t errlen)
{
    const char *t = json_object_is_type(c, json_type_object) ? jget_str(c, "type", NULL) : NULL;

    if (t == NULL)
        seterr(err, errlen, "components[%zu]: not an object with a \"type\"", i);
    return t;
}

static int slots_from(json_object *root, struct cloudapi_slots *out, char *err, size_t errlen)
{
    int have_header = 0, have_body = 0, have_footer = 0, have_buttons = 0, mode = -1;
    size_t nc = json_object_array_length(root);

    for (size_t i = 0; i < nc; i++) {
        json_object *c = json_object_array_get_idx(root, i);
        const char *type = component_type(c, i, err, errlen), *s;
        int m = -1;

        if (type == NULL)
            return -1;
        if (strcasecmp(type, "HEADER") == 0) {
            const char *fmt = jget_str(c, "format", NULL);
            if (have_header++) {
                seterr(err, errlen, "components: more than one HEADER");
                return -1;
            }
            if (fmt == NULL || strcasecmp(fmt, "TEXT") == 0) {
                if ((s = jget_str(c, "text", NULL)) == NULL) {
                    seterr(err, errlen, "header: text missing");
                    return -1;
                }
                if ((m = collect_text(out, CLOUDAPI_C_HEADER, s, "header", err, errlen)) == -2)
                    return -1;
            } else {
                enum cloudapi_ptype pt;
                if (strcasecmp(fmt, "IMAGE") == 0)
                    pt = CLOUDAPI_P_IMAGE;
                else if (strcasecmp(fmt, "DOCUMENT") == 0)
                    pt = CLOUDAPI_P_DOCUMENT;
                else if (strcasecmp(fmt, "VIDEO") == 0)
                    pt = CLOUDAPI_P_VIDEO;
                else {
                    seterr(err, errlen, "header: unsupported format %.40s", fmt);
                    return -1;
                }
                if (slot_push(out, CLOUDAPI_C_HEADER, 0, pt, "", 0) != 0)
                    goto oom;
                m = -1;
            }
        } else if (strcasecmp(type, "BODY") == 0) {
            if (have_body++) {
                seterr(err, errlen, "components: more than one BODY");
                return -1;
            }
            if ((s = jget_str(c, "text", NULL)) == NULL) {
                seterr(err, errlen, "body: text missing");
                return -1;
            }
            if ((m = collect_text(out, CLOUDAPI_C_BODY, s, "body", err, errlen)) == -2)
                return -1;
        } else if (strcasecmp(type, "FOOTER") == 0) {
            if (have_footer++) {
                seterr(err, errlen, "components: more than one FOOTER");
                return -1;
            }
            continue; /* no variables allowed in footers */
        } else if (strcasecmp(type, "BUTTONS") == 0) {
            json_object *bs = jget_type(c, "buttons", json_type_array);
            size_t nb = bs ? json_object_array_length(bs) : 0;
            if (have_buttons++) {
                seterr(err, errlen, "components: more than one BUTTONS");
                return -1;
            }
            if (bs == NULL || nb > BUTTONS_MAX) {
                seterr(err, errlen, "buttons: need an array of at most %d", BUTTONS_MAX);
                return -1;
            }
            for (size_t b = 0; b < nb; b++) {
                json_object *bo = json_object_array_get_idx(bs, b);
                const char *bt =
                    json_object_is_type(bo, json_type_object) ? jget_str(bo, "type", NULL) : NULL;
                if (bt == NULL) {
                    seterr(err, errlen, "button %zu: not an object with a \"type\"", b);
                    return -1;
                }
                if (strcasecmp(bt, "QUICK_REPLY") == 0 || strcasecmp(bt, "PHONE_NUMBER") == 0)
                    continue;
                if (strcasecmp(bt, "COPY_CODE") == 0) {
                    if (slot_push(out, CLOUDAPI_C_BUTTON, (int)b, CLOUDAPI_P_COUPON, "", 0) != 0)
                        goto oom;
                    continue;
                }
                if (strcasecmp(bt, "URL") != 0) {
                    seterr(err, errlen, "button %zu: unsupported type %.40s", b, bt);
                    return -1;
                }
                const char *url = jget_str(bo, "url", NULL);
                char where[32];
                struct url_scan u = {0};
                if (url == NULL) {
                    seterr(err, errlen, "button %zu: url missing", b);
                    return -1;
                }
                snprintf(where, sizeof where, "button %zu url", b);
                if (scan_placeholders(url, where, url_one, &u, err, errlen) != 0)
                    return -1;
                if (u.count == 0)
                    continue;
                if (u.count > 1 || u.num != 1 || url[u.end] != '\0') {
                    seterr(err, errlen, "%s: only one {{1}} at the very end is allowed", where);
                    return -1;
                }
                if (slot_push(out, CLOUDAPI_C_BUTTON, (int)b, CLOUDAPI_P_TEXT, "1", 1) != 0)
                    goto oom;
            }
            continue;
        } else {
            seterr(err, errlen, "components: unsupported component %.40s", type);
            return -1;
        }
        if (m >= 0) {
            if (mode >= 0 && mode != m) {
                seterr(err, errlen, "template mixes named and positional placeholders");
                return -1;
            }
            mode = m;
        }
    }
    out->named = mode == 1;
    slots_sort(out);
    return 0;
oom:
    seterr(err, errlen, "out of memory");
    return -1;
}

int cloudapi_template_slots(const char *components_json, struct cloudapi_slots *out, char *err,
                            size_t errlen)
{
    json_object *root;
    int rc;

    if (out == NULL) {
        seterr(err, errlen, "no output");
        return -1;
    }
    memset(out, 0, sizeof *out);
    if ((root = parse_components(components_json, err, errlen)) == NULL)
        return -1;
    rc = slots_from(root, out, err, errlen);
    json_object_put(root);
    if (rc != 0)
        cloudapi_slots_free(out);
    return rc;
}

/* "body {{first_name}}", "header image", "button 1 coupon code" for error messages. */
static void slot_label(const struct cloudapi_slot *s, char *buf, size_t size)
{
    const char *cn = ctype_name(s->component);

    if (s->type == CLOUDAPI_P_TEXT && s->component == CLOUDAPI_C_BUTTON)
        snprintf(buf, size, "button %d URL {{%s}}", s->index, s->name);
    else if (s->type == CLOUDAPI_P_TEXT)
        snprintf(buf, size, "%s {{%s}}", cn, s->name);
    else if (s->type == CLOUDAPI_P_COUPON)
        snprintf(buf, size, "button %d coupon code", s->index);
    else
        snprintf(buf, size, "%s %s link", cn, ptype_name(s->type));
}

static const char *slot_value(const struct cloudapi_slots *s, size_t i, const char *const *values,
                              size_t nvalues, char *err, size_t errlen)
{
    const char *v = values && i < nvalues ? values[i] : NULL;

    if (v == NULL || v[0] == '\0') {
        char label[96];
        slot_label(&s->v[i], label, sizeof label);
        seterr(err, errlen, "missing value for %s", label);
        return NULL;
    }
    return v;
}

char *cloudapi_slots_message_json(const struct cloudapi_message *m, const struct cloudapi_slots *s,
                                  const char *const *values, size_t nvalues, size_t *len, char *err,
                                  size_t errlen)
{
    struct cloudapi_component *comps = NULL;
    struct cloudapi_param *params = NULL;
    struct cloudapi_message msg;
    size_t nc = 0;
    char *out = NULL;

    if (len)
        *len = 0;
    if (m == NULL || s == NULL || (s->n > 0 && s->v == NULL)) {
        seterr(err, errlen, "no message or slots");
        return NULL;
    }
    if (m->ncomponents > 0 && m->components == NULL) {
        seterr(err, errlen, "components missing");
        return NULL;
    }
    comps = calloc(s->n + m->ncomponents + 1, sizeof *comps);
    params = calloc(s->n + 1, sizeof *params);
    if (comps == NULL || params == NULL) {
        seterr(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s->n; i++) {
        const struct cloudapi_slot *sl = &s->v[i];
        const char *v = slot_value(s, i, values, nvalues, err, errlen);
        if (v == NULL)
            goto out;
        params[i].type = sl->type;
        params[i].value = v;
        params[i].name =
            s->named && sl->type == CLOUDAPI_P_TEXT && sl->component != CLOUDAPI_C_BUTTON ? sl->name
                                                                                          : NULL;
        /* Same component as the previous slot: add the parameter to it. */
        if (i > 0 && sl->component == s->v[i - 1].component &&
            (sl->component != CLOUDAPI_C_BUTTON || sl->index == s->v[i - 1].index)) {
            comps[nc - 1].nparams++;
            continue;
        }
        comps[nc].type = sl->component;
        comps[nc].index = sl->component == CLOUDAPI_C_BUTTON ? sl->index : 0;
        comps[nc].sub_type = sl->component != CLOUDAPI_C_BUTTON ? NULL
                             : sl->type == CLOUDAPI_P_COUPON    ? "copy_code"
                                                                : "url";
        comps[nc].params = &params[i];
        comps[nc].nparams = 1;
        nc++;
    }
    for (size_t i = 0; i < m->ncomponents; i++)
        comps[nc++] = m->components[i];
    msg = *m;
    msg.components = comps;
    msg.ncomponents = nc;
    out = cloudapi_message_json(&msg, len, err, errlen);
out:
    free(comps);
    free(params);
    return out;
}

/* ---- prepared send requests -------------------------------------------------------- */

/* Placeholders: nothing else in a built message can contain them (names, languages and
   keys are identifiers; every value is a placeholder). Media links must look like URLs. */
#define PREP_TO "+19990000000000"

static void prep_marker(char *buf, size_t size, size_t what, enum cloudapi_ptype t)
{
    int link = t == CLOUDAPI_P_IMAGE || t == CLOUDAPI_P_DOCUMENT || t == CLOUDAPI_P_VIDEO;
    if (what == 0)
        snprintf(buf, size, "%s", PREP_TO);
    else
        snprintf(buf, size, "%s\001pregon:%zu\001", link ? "https://" : "", what);
}

static int cut_cmp(const void *a, const void *b)
{
    const struct cloudapi_cut *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* Finds each placeholder (as json-c writes it) exactly once in text, the builder's output,
 * which p takes (NULL: the builder failed and said why in err). */
static int prep_locate(struct cloudapi_prepared *p, char *text, size_t text_len, char *err,
                       size_t errlen)
{
    if (text == NULL)
        return -1;
    size_t n = p->nvalues + 2;
    json_object *js = json_object_new_string("");
    p->text = text;
    p->text_len = text_len;
    p->cuts = calloc(n, sizeof *p->cuts);
    if (js == NULL || p->cuts == NULL) {
        json_object_put(js);
        seterr(err, errlen, "out of memory");
        return -1;
    }
    for (size_t w = 0; w < n; w++) {
        char mk[64];
        size_t ml = 0;
        prep_marker(mk, sizeof mk, w, w >= 2 ? p->type[w - 2] : CLOUDAPI_P_TEXT);
        const char *q = json_object_set_string(js, mk) == 1
                            ? json_object_to_json_string_length(
                                  js, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &ml)
                            : NULL;
        const char *at = q ? strstr(text, q) : NULL;
        if (at == NULL || strstr(at + ml, q) != NULL) {
            json_object_put(js);
            seterr(err, errlen, "cannot lay the message out (placeholder %zu)", w);
            return -1;
        }
        p->cuts[w].at = (size_t)(at - text);
        p->cuts[w].end = p->cuts[w].at + ml;
        p->cuts[w].what = w;
    }
    qsort(p->cuts, n, sizeof *p->cuts, cut_cmp);
    p->scratch = js;
    return 0;
}

/* The placeholders of p's values (type set), for a builder: marks[0] to, [1] callback. */
static char (*prep_marks(const struct cloudapi_prepared *p))[64]
{
    char(*mk)[64] = calloc(p->nvalues + 2, sizeof *mk);
    for (size_t w = 0; mk && w < p->nvalues + 2; w++)
        prep_marker(mk[w], sizeof mk[w], w, w >= 2 ? p->type[w - 2] : CLOUDAPI_P_TEXT);
    return mk;
}

int cloudapi_prepare(const struct cloudapi_message *m, struct cloudapi_prepared *p, char *err,
                     size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (m == NULL || m->callback_data == NULL || m->callback_data[0] == '\0' ||
        (m->ncomponents > 0 && m->components == NULL)) {
        seterr(err, errlen, "no message, components or callback data");
        return -1;
    }
    size_t nv = 0;
    for (size_t i = 0; i < m->ncomponents; i++)
        nv += m->components[i].nparams;
    struct cloudapi_component *comps = calloc(m->ncomponents + 1, sizeof *comps);
    struct cloudapi_param *params = calloc(nv + 1, sizeof *params);
    p->type = calloc(nv + 1, sizeof *p->type);
    p->nvalues = nv;
    char(*mk)[64] = NULL;
    int rc = -1;
    if (comps == NULL || params == NULL || p->type == NULL) {
        seterr(err, errlen, "out of memory");
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < m->ncomponents; i++) {
        comps[i] = m->components[i];
        if (comps[i].nparams > 0 && comps[i].params == NULL) {
            seterr(err, errlen, "component %zu: parameters missing", i);
            goto out;
        }
        comps[i].params = &params[k];
        for (size_t j = 0; j < m->components[i].nparams; j++, k++) {
            params[k] = m->components[i].params[j];
            p->type[k] = params[k].type;
        }
    }
    mk = prep_marks(p);
    if (mk == NULL) {
        seterr(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nv; i++)
        params[i].value = mk[2 + i];
    struct cloudapi_message msg = *m;
    msg.to = mk[0];
    msg.callback_data = mk[1];
    msg.components = comps;
    size_t len = 0;
    char *text = cloudapi_message_json(&msg, &len, err, errlen);
    rc = prep_locate(p, text, len, err, errlen);
out:
    free(comps);
    free(params);
    free(mk);
    if (rc != 0)
        cloudapi_prepared_free(p);
    return rc;
}

int cloudapi_prepare_slots(const struct cloudapi_message *m, const struct cloudapi_slots *s,
                           struct cloudapi_prepared *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (m == NULL || s == NULL || (s->n > 0 && s->v == NULL) || m->callback_data == NULL ||
        m->callback_data[0] == '\0') {
        seterr(err, errlen, "no message, slots or callback data");
        return -1;
    }
    p->type = calloc(s->n + 1, sizeof *p->type);
    p->nvalues = s->n;
    for (size_t i = 0; p->type && i < s->n; i++)
        p->type[i] = s->v[i].type;
    char(*mk)[64] = p->type ? prep_marks(p) : NULL;
    const char **values = calloc(s->n + 1, sizeof *values);
    int rc = -1;
    if (mk == NULL || values == NULL) {
        seterr(err, errlen, "out of memory");
    } else {
        for (size_t i = 0; i < s->n; i++)
            values[i] = mk[2 + i];
        struct cloudapi_message msg = *m;
        msg.to = mk[0];
        msg.callback_data = mk[1];
        size_t len = 0;
        char *text = cloudapi_slots_message_json(&msg, s, values, s->n, &len, err, errlen);
        rc = prep_locate(p, text, len, err, errlen);
    }
    free(mk);
    free(values);
    if (rc != 0)
        cloudapi_prepared_free(p);
    return rc;
}

char *cloudapi_prepared_json(struct cloudapi_prepared *p, const char *to, const char *callback_data,
                             const char *const *values, size_t nvalues, size_t *len, char *err,
                             size_t errlen)
{
    if (len)
        *len = 0;
    if (p == NULL || p->text == NULL) {
        seterr(err, errlen, "no prepared message");
        return NULL;
    }
    if (!valid_e164(to)) {
        seterr(err, errlen, "recipient is not an E.164 number with '+'");
        return NULL;
    }
    size_t cbn = callback_data ? strlen(callback_data) : 0;
    if (cbn == 0 || cbn > CLOUDAPI_CALLBACK_MAX || !utf8_valid(callback_data, cbn)) {
        seterr(err, errlen, "biz_opaque_callback_data must be 1 to %d bytes of UTF-8",
               CLOUDAPI_CALLBACK_MAX);
        return NULL;
    }
    for (size_t i = 0; i < p->nvalues; i++) {
        const char *v = values && i < nvalues ? values[i] : NULL;
        enum cloudapi_ptype t = p->type[i];
        if (v == NULL || v[0] == '\0') {
            seterr(err, errlen, "parameter %zu: missing value", i + 1);
            return NULL;
        }
        if (!utf8_valid(v, strlen(v))) {
            seterr(err, errlen, "parameter %zu: value is not valid UTF-8", i + 1);
            return NULL;
        }
        if ((t == CLOUDAPI_P_IMAGE || t == CLOUDAPI_P_DOCUMENT || t == CLOUDAPI_P_VIDEO) &&
            strncasecmp(v, "https://", 8) != 0 && strncasecmp(v, "http://", 7) != 0) {
            seterr(err, errlen, "parameter %zu: %s link must be an http(s) URL", i + 1,
                   ptype_name(t));
            return NULL;
        }
    }
    struct buf b = {0};
    size_t pos = 0;
    for (size_t k = 0; k < p->nvalues + 2 && !b.oom; k++) {
        const struct cloudapi_cut *c = &p->cuts[k];
        const char *v = c->what == 0 ? to : c->what == 1 ? callback_data : values[c->what - 2];
        size_t vl = 0;
        const char *q =
            json_object_set_string(p->scratch, v) == 1
                ? json_object_to_json_string_length(
                      p->scratch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &vl)
                : NULL;
        if (q == NULL) {
            b.oom = 1;
            break;
        }
        buf_add(&b, p->text + pos, c->at - pos);
        buf_add(&b, q, vl);
        pos = c->end;
    }
    buf_add(&b, p->text + pos, p->text_len - pos);
    size_t n = b.n;
    char *out = buf_take(&b);
    if (out == NULL) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    if (len)
        *len = n;
    return out;
}

void cloudapi_prepared_free(struct cloudapi_prepared *p)
{
    if (p == NULL)
        return;
    free(p->text);
    free(p->cuts);
    free(p->type);
    json_object_put(p->scratch);
    memset(p, 0, sizeof *p);
}

/* ---- rendering --------------------------------------------------------------------- */

struct render {
    struct buf b;
    const char *text;
    size_t last; /* end of the previous placeholder */
    const char *const *names, *const *values;
    size_t n;
    const char *where;
    char *err;
    size_t errlen;
};

static int render_one(void *ctx, const char *tok, size_t toklen, int num, size_t start, size_t end)
{
    struct render *r = ctx;
    const char *v = NULL;

    if (r->names == NULL) {
        if (num == 0) {
            seterr(r->err, r->errlen, "%s: named placeholder {{%.*s}} needs named values", r->where,
                   (int)toklen, tok);
            return -1;
        }
        if ((size_t)num <= r->n)
            v = r->values[num - 1];
    } else {
        for (size_t i = 0; i < r->n; i++) {
            if (r->names[i] && strlen(r->names[i]) == toklen &&
                memcmp(r->names[i], tok, toklen) == 0) {
                v = r->values ? r->values[i] : NULL;
                break;
            }
        }
    }
    if (v == NULL || v[0] == '\0') {
        seterr(r->err, r->errlen, "missing value for %s {{%.*s}}", r->where, (int)toklen, tok);
        return -1;
    }
    buf_add(&r->b, r->text + r->last, start - r->last);
    buf_add(&r->b, v, strlen(v));
    r->last = end;
    return 0;
}

static char *render_where(const char *text, const char *where, const char *const *names,
                          const char *const *values, size_t n, char *err, size_t errlen)
{
    struct render r = {.text = text,
                       .names = names,
                       .values = values,
                       .n = n,
                       .where = where,
                       .err = err,
                       .errlen = errlen};
    char *out;

    if (text == NULL || (n > 0 && values == NULL)) {
        seterr(err, errlen, "%s: no text or values", where);
        return NULL;
    }
    if (scan_placeholders(text, where, render_one, &r, err, errlen) != 0) {
        free(r.b.p);
        return NULL;
    }
    buf_add(&r.b, text + r.last, strlen(text + r.last));
    if ((out = buf_take(&r.b)) == NULL)
        seterr(err, errlen, "out of memory");
    return out;
}

char *cloudapi_render_text(const char *text, const char *const *values, const char *const *names,
                           size_t n, char *err, size_t errlen)
{
    return render_where(text, "text", names, values, n, err, errlen);
}

void cloudapi_preview_free(struct cloudapi_preview *p)
{
    if (p == NULL)
        return;
    free(p->header);
    free(p->body);
    free(p->footer);
    for (size_t i = 0; i < p->nbuttons; i++) {
        free(p->buttons[i].text);
        free(p->buttons[i].url);
    }
    free(p->buttons);
    memset(p, 0, sizeof *p);
}

/* Renders text with the slots of one component (and button index). */
static char *render_component(const char *text, const char *where, const struct cloudapi_slots *s,
                              enum cloudapi_ctype comp, int index, const char *const *values,
                              size_t nvalues, char *err, size_t errlen)
{
    const char **names = calloc(s->n + 1, sizeof *names);
    const char **vals = calloc(s->n + 1, sizeof *vals);
    size_t k = 0;
    char *out = NULL;

    if (names == NULL || vals == NULL) {
        seterr(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].component != comp || s->v[i].type != CLOUDAPI_P_TEXT ||
            (comp == CLOUDAPI_C_BUTTON && s->v[i].index != index))
            continue;
        names[k] = s->v[i].name;
        vals[k++] = values && i < nvalues ? values[i] : NULL;
    }
    out = render_where(text, where, names, vals, k, err, errlen);
out:
    free(names);
    free(vals);
    return out;
}

static int preview_from(json_object *root, const struct cloudapi_slots *s,
                        const char *const *values, size_t nvalues, struct cloudapi_preview *p,
                        char *err, size_t errlen)
{
    size_t nc = json_object_array_length(root);

    /* Every slot needs a value, including media and coupons that the text never shows. */
    for (size_t i = 0; i < s->n; i++)
        if (slot_value(s, i, values, nvalues, err, errlen) == NULL)
            return -1;
    for (size_t i = 0; i < nc; i++) {
        json_object *c = json_object_array_get_idx(root, i);
        const char *type = component_type(c, i, err, errlen), *text;
        if (type == NULL)
            return -1;
        if (strcasecmp(type, "HEADER") == 0) {
            const char *fmt = jget_str(c, "format", NULL);
            if (fmt == NULL || strcasecmp(fmt, "TEXT") == 0) {
                p->header_format = "text";
                p->header = render_component(jget_str(c, "text", NULL), "header", s,
                                             CLOUDAPI_C_HEADER, 0, values, nvalues, err, errlen);
                if (p->header == NULL)
                    return -1;
            } else {
                for (size_t k = 0; k < s->n; k++) {
                    if (s->v[k].component == CLOUDAPI_C_HEADER) {
                        p->header_format = ptype_name(s->v[k].type);
                        if ((p->header = strdup(values[k])) == NULL)
                            goto oom;
                    }
                }
            }
        } else if (strcasecmp(type, "BODY") == 0) {
            p->body = render_component(jget_str(c, "text", NULL), "body", s, CLOUDAPI_C_BODY, 0,
                                       values, nvalues, err, errlen);
            if (p->body == NULL)
                return -1;
        } else if (strcasecmp(type, "FOOTER") == 0) {
            text = jget_str(c, "text", NULL);
            if (text && (p->footer = strdup(text)) == NULL)
                goto oom;
        } else if (strcasecmp(type, "BUTTONS") == 0) {
            json_object *bs = jget_type(c, "buttons", json_type_array);
            size_t nb = json_object_array_length(bs);
            if (nb > 0 && (p->buttons = calloc(nb, sizeof *p->buttons)) == NULL)
                goto oom;
            for (size_t b = 0; b < nb; b++, p->nbuttons++) {
                json_object *bo = json_object_array_get_idx(bs, b);
                const char *bt = jget_str(bo, "type", NULL), *url;
                text = jget_str(bo, "text", NULL);
                if (text == NULL && strcasecmp(bt, "COPY_CODE") == 0)
                    text = "Copy offer code"; /* WhatsApp's own label */
                if ((p->buttons[b].text = strdup(text ? text : "")) == NULL)
                    goto oom;
                if (strcasecmp(bt, "URL") == 0 && (url = jget_str(bo, "url", NULL)) != NULL) {
                    char where[32];
                    snprintf(where, sizeof where, "button %zu URL", b);
                    p->buttons[b].url = render_component(url, where, s, CLOUDAPI_C_BUTTON, (int)b,
                                                         values, nvalues, err, errlen);
                    if (p->buttons[b].url == NULL) {
                        p->nbuttons++; /* so that preview_free sees the label */
                        return -1;
                    }
                }
            }
        }
    }
    return 0;
oom:
    seterr(err, errlen, "out of memory");
    return -1;
}

int cloudapi_render_preview(const char *components_json, const char *const *values, size_t nvalues,
                            struct cloudapi_preview *p, char *err, size_t errlen)
{
    struct cloudapi_slots s;
    json_object *root;
    int rc;

    if (p == NULL) {
        seterr(err, errlen, "no output");
        return -1;
    }
    memset(p, 0, sizeof *p);
    if ((root = parse_components(components_json, err, errlen)) == NULL)
        return -1;
    memset(&s, 0, sizeof s);
    /* slots_from validates everything preview_from relies on (types, texts, buttons). */
    rc = slots_from(root, &s, err, errlen);
    if (rc == 0)
        rc = preview_from(root, &s, values, nvalues, p, err, errlen);
    cloudapi_slots_free(&s);
    json_object_put(root);
    if (rc != 0)
        cloudapi_preview_free(p);
    return rc;
}
