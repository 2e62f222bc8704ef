/* The Graph API endpoints Pregón uses (spec §1, §5): send a template message, list the
 * templates, read a phone number. Sends are validated the way Meta does and answered with
 * Meta's codes; accepted ones are recorded and get their status webhooks scheduled. */
#include "sandbox.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#define BODY_TEXT_MAX   1024 /* Meta's limit on a body after substitution */
#define HEADER_TEXT_MAX 60
#define MAX_SEGMENTS    4
#define LIST_LIMIT_MAX  1000

struct send_info {
    const char *to;
    uint64_t to_packed;
    int tmpl_idx;
    const char *callback;
    size_t callback_len;
};

/* One request component after the shape checks. */
struct comp {
    json_object *params; /* array or NULL */
    size_t nparams;
    int index; /* buttons */
    const char *sub_type;
};

struct comps {
    bool has_header, has_body;
    struct comp header, body;
    struct comp buttons[10];
    bool has_button[10];
};

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static bool valid_param_name(const char *s)
{
    if (!*s || !(islower((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

/* ---- request shape -------------------------------------------------------------------- */

static bool obj_has_string(json_object *o, const char *key, bool nonempty)
{
    const char *s = sb_json_str(o, key);
    return s && (!nonempty || *s);
}

/* Shape of one parameter, as Meta checks it before looking at the template. */
static int check_param(json_object *p, const char *where, size_t i, char *d, size_t dl)
{
    const char *type = sb_json_str(p, "type");
    json_object *v, *pn;

    if (!json_object_is_type(p, json_type_object) || !type) {
        snprintf(d, dl, "%s: parameters[%zu] must be an object with a \"type\"", where, i);
        return 100;
    }
    if (json_object_object_get_ex(p, "parameter_name", &pn) &&
        (!json_object_is_type(pn, json_type_string) ||
         !valid_param_name(json_object_get_string(pn)))) {
        snprintf(d, dl,
                 "%s: parameters[%zu].parameter_name must be lower-case letters, digits "
                 "and underscores",
                 where, i);
        return 100;
    }
    if (!strcmp(type, "text")) {
        if (!obj_has_string(p, "text", true)) {
            snprintf(d, dl, "%s: parameters[%zu] of type text needs a non-empty \"text\" string",
                     where, i);
            return 100;
        }
    } else if (!strcmp(type, "payload") || !strcmp(type, "coupon_code")) {
        if (!obj_has_string(p, type, true)) {
            snprintf(d, dl, "%s: parameters[%zu] of type %s needs a non-empty \"%s\" string", where,
                     i, type, type);
            return 100;
        }
    } else if (!strcmp(type, "image") || !strcmp(type, "video") || !strcmp(type, "document")) {
        const char *link;
        if (!json_object_object_get_ex(p, type, &v) || !json_object_is_type(v, json_type_object) ||
            (!(link = sb_json_str(v, "link")) && !obj_has_string(v, "id", true)) ||
            (link && strncmp(link, "https://", 8) && strncmp(link, "http://", 7))) {
            snprintf(d, dl,
                     "%s: parameters[%zu] of type %s needs {\"link\":\"http(s)://...\"} "
                     "or {\"id\":\"...\"}",
                     where, i, type);
            return 100;
        }
    } else if (!strcmp(type, "currency")) {
        json_object *amount;
        if (!json_object_object_get_ex(p, "currency", &v) ||
            !obj_has_string(v, "fallback_value", true) || !obj_has_string(v, "code", true) ||
            !json_object_object_get_ex(v, "amount_1000", &amount) ||
            !json_object_is_type(amount, json_type_int)) {
            snprintf(d, dl,
                     "%s: parameters[%zu] of type currency needs fallback_value, code and "
                     "amount_1000",
                     where, i);
            return 100;
        }
    } else if (!strcmp(type, "date_time")) {
        if (!json_object_object_get_ex(p, "date_time", &v) ||
            !obj_has_string(v, "fallback_value", true)) {
            snprintf(d, dl, "%s: parameters[%zu] of type date_time needs fallback_value", where, i);
            return 100;
        }
    } else if (!strcmp(type, "action") || !strcmp(type, "location")) {
        if (!json_object_object_get_ex(p, type, &v) || !json_object_is_type(v, json_type_object)) {
            snprintf(d, dl, "%s: parameters[%zu] of type %s needs an object", where, i, type);
            return 100;
        }
    } else {
        snprintf(d, dl, "%s: parameters[%zu] has an invalid type \"%.40s\"", where, i, type);
        return 100;
    }
    return 0;
}

static int parse_index(json_object *v, int *out)
{
    if (json_object_is_type(v, json_type_int)) {
        int64_t i = json_object_get_int64(v);
        if (i < 0 || i > 9)
            return -1;
        *out = (int)i;
        return 0;
    }
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        if (s[0] >= '0' && s[0] <= '9' && s[1] == '\0') {
            *out = s[0] - '0';
            return 0;
        }
    }
    return -1;
}

static int check_components(json_object *arr, struct comps *cs, char *d, size_t dl)
{
    memset(cs, 0, sizeof *cs);
    if (!arr)
        return 0;
    if (!json_object_is_type(arr, json_type_array)) {
        snprintf(d, dl, "template.components must be an array");
        return 100;
    }
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *c = json_object_array_get_idx(arr, i), *params = NULL, *v;
        const char *type = sb_json_str(c, "type");
        struct comp cp = {0};
        char where[48];

        if (!json_object_is_type(c, json_type_object) || !type) {
            snprintf(d, dl, "template.components[%zu] must be an object with a \"type\"", i);
            return 100;
        }
        if (json_object_object_get_ex(c, "parameters", &params) &&
            !json_object_is_type(params, json_type_array)) {
            snprintf(d, dl, "template.components[%zu].parameters must be an array", i);
            return 100;
        }
        cp.params = params;
        cp.nparams = params ? json_object_array_length(params) : 0;
        snprintf(where, sizeof where, "%.10s", type);
        for (size_t k = 0; k < cp.nparams; k++) {
            int code = check_param(json_object_array_get_idx(params, k), where, k, d, dl);
            if (code)
                return code;
        }
        if (!strcasecmp(type, "header") || !strcasecmp(type, "body")) {
            bool header = tolower((unsigned char)type[0]) == 'h';
            if (header ? cs->has_header : cs->has_body) {
                snprintf(d, dl, "template.components has more than one %s", type);
                return 100;
            }
            *(header ? &cs->header : &cs->body) = cp;
            *(header ? &cs->has_header : &cs->has_body) = true;
        } else if (!strcasecmp(type, "button")) {
            static const char *const subs[] = {"quick_reply", "url",           "copy_code",
                                               "flow",        "catalog",       "mpm",
                                               "voice_call",  "order_details", "phone_number"};
            size_t s;
            cp.sub_type = sb_json_str(c, "sub_type");
            for (s = 0; cp.sub_type && s < sizeof subs / sizeof subs[0]; s++)
                if (!strcasecmp(cp.sub_type, subs[s]))
                    break;
            if (!cp.sub_type || s == sizeof subs / sizeof subs[0]) {
                snprintf(d, dl,
                         "template.components[%zu]: a button needs a valid \"sub_type\" "
                         "(quick_reply, url, copy_code, ...)",
                         i);
                return 100;
            }
            if (!json_object_object_get_ex(c, "index", &v) || parse_index(v, &cp.index) < 0) {
                snprintf(d, dl, "template.components[%zu]: a button needs an \"index\" 0..9", i);
                return 100;
            }
            if (cs->has_button[cp.index]) {
                snprintf(d, dl, "template.components has two buttons with index %d", cp.index);
                return 100;
            }
            cs->buttons[cp.index] = cp;
            cs->has_button[cp.index] = true;
        } else {
            snprintf(d, dl,
                     "template.components[%zu] has an invalid type \"%.40s\" (header, "
                     "body or button)",
                     i, type);
            return 100;
        }
    }
    return 0;
}

/* ---- against the template ------------------------------------------------------------- */

static const char *param_type(json_object *p)
{
    return sb_json_str(p, "type");
}

/* Text length a parameter adds once substituted. */
static size_t param_text_len(json_object *p)
{
    const char *type = param_type(p), *s = NULL;
    json_object *v;
    if (!strcmp(type, "text"))
        s = sb_json_str(p, "text");
    else if (json_object_object_get_ex(p, type, &v))
        s = sb_json_str(v, "fallback_value");
    return s ? utf8_chars(s, strlen(s)) : 0;
}

/* Text parameters against a text with n placeholders (names for NAMED templates). */
static int check_text_params(const struct sb_template *t, const char *what, const struct comp *c,
                             int expected, const char names[][32], bool allow_rich, char *d,
                             size_t dl)
{
    bool seen[SB_TMPL_MAX_PARAMS] = {false};

    if ((int)c->nparams != expected) {
        snprintf(d, dl,
                 "%s: number of localizable_params (%zu) does not match the expected "
                 "number of params (%d)",
                 what, c->nparams, expected);
        return 132000;
    }
    for (size_t i = 0; i < c->nparams; i++) {
        json_object *p = json_object_array_get_idx(c->params, i);
        const char *type = param_type(p);
        if (strcmp(type, "text") &&
            !(allow_rich && (!strcmp(type, "currency") || !strcmp(type, "date_time")))) {
            snprintf(d, dl, "%s: parameter %zu is of type %s, the template expects text", what,
                     i + 1, type);
            return 132012;
        }
        if (!t->named)
            continue;
        const char *name = sb_json_str(p, "parameter_name");
        int k;
        if (!name) {
            snprintf(d, dl,
                     "%s: parameter %zu has no parameter_name; template %s uses named "
                     "parameters",
                     what, i + 1, t->name);
            return 100;
        }
        for (k = 0; k < expected; k++)
            if (!strcmp(names[k], name))
                break;
        if (k == expected || seen[k]) {
            snprintf(d, dl, "%s: parameter_name \"%.40s\" %s", what, name,
                     k == expected ? "is not in the template" : "is repeated");
            return 132000;
        }
        seen[k] = true;
    }
    return 0;
}

static int check_header(const struct sb_template *t, const struct comps *cs, bool strict, char *d,
                        size_t dl)
{
    static const char *const media[] = {"", "", "image", "video", "document"};

    if (!cs->has_header) {
        if (strict && t->header_params > 0) {
            snprintf(d, dl,
                     "header: number of localizable_params (0) does not match the "
                     "expected number of params (%d)",
                     t->header_params);
            return 132000;
        }
        return 0;
    }
    if (t->header == SB_HDR_NONE || t->header == SB_HDR_TEXT) {
        int code = check_text_params(t, "header", &cs->header, t->header_params, t->header_names,
                                     false, d, dl);
        if (code)
            return code;
        if (t->header == SB_HDR_TEXT) {
            size_t len = utf8_chars(t->header_text, strlen(t->header_text));
            for (size_t i = 0; i < cs->header.nparams; i++)
                len += param_text_len(json_object_array_get_idx(cs->header.params, i));
            if (len > HEADER_TEXT_MAX) {
                snprintf(d, dl, "header: text is longer than %d characters", HEADER_TEXT_MAX);
                return 132005;
            }
        }
        return 0;
    }
    if (cs->header.nparams != 1) {
        snprintf(d, dl,
                 "header: number of localizable_params (%zu) does not match the expected "
                 "number of params (1)",
                 cs->header.nparams);
        return 132000;
    }
    const char *type = param_type(json_object_array_get_idx(cs->header.params, 0));
    if (strcmp(type, media[t->header])) {
        snprintf(d, dl, "header: parameter of type %s does not match the template's %s header",
                 type, media[t->header]);
        return 132012;
    }
    return 0;
}

static int check_body(const struct sb_template *t, const struct comps *cs, char *d, size_t dl)
{
    static const struct comp none = {0};
    const struct comp *c = cs->has_body ? &cs->body : &none;
    int code = check_text_params(t, "body", c, t->body_params, t->body_names, true, d, dl);
    if (code)
        return code;
    size_t len = t->body_fixed_len;
    for (size_t i = 0; i < c->nparams; i++)
        len += param_text_len(json_object_array_get_idx(c->params, i));
    if (len > BODY_TEXT_MAX) {
        snprintf(d, dl, "body: the text with its parameters has %zu characters, over %d", len,
                 BODY_TEXT_MAX);
        return 132005;
    }
    return 0;
}

static int check_buttons(const struct sb_template *t, const struct comps *cs, bool strict, char *d,
                         size_t dl)
{
    static const char *const sub_for[] = {"quick_reply", "url", "phone_number", "copy_code"};

    for (int i = 0; i < 10; i++) {
        if (!cs->has_button[i]) {
            if (strict && i < t->nbuttons && t->button_dynamic[i]) {
                snprintf(d, dl,
                         "button at index %d: number of localizable_params (0) does not "
                         "match the expected number of params (1)",
                         i);
                return 132000;
            }
            continue;
        }
        const struct comp *c = &cs->buttons[i];
        if (i >= t->nbuttons) {
            snprintf(d, dl, "button at index %d does not exist in template %s", i, t->name);
            return 100;
        }
        const struct sb_button *b = &t->buttons[i];
        if (strcasecmp(c->sub_type, sub_for[b->type])) {
            snprintf(d, dl,
                     "button at index %d: sub_type %.20s does not match the template's "
                     "%s button",
                     i, c->sub_type, sub_for[b->type]);
            return 132012;
        }
        const char *want = b->type == SB_BTN_URL           ? "text"
                           : b->type == SB_BTN_COPY_CODE   ? "coupon_code"
                           : b->type == SB_BTN_QUICK_REPLY ? "payload"
                                                           : NULL;
        size_t expected = t->button_dynamic[i] ? 1 : 0;
        if (b->type == SB_BTN_QUICK_REPLY ? c->nparams > 1 : c->nparams != expected) {
            snprintf(d, dl,
                     "button at index %d: number of localizable_params (%zu) does not "
                     "match the expected number of params (%zu)",
                     i, c->nparams, expected);
            return 132000;
        }
        for (size_t k = 0; k < c->nparams; k++) {
            const char *type = param_type(json_object_array_get_idx(c->params, k));
            if (!want || strcmp(type, want)) {
                snprintf(d, dl, "button at index %d: parameter of type %s, expected %s", i, type,
                         want ? want : "none");
                return 132012;
            }
        }
    }
    return 0;
}

/* A free-form text message (a customer-service answer): text.body of 1 to 4096 characters;
 * tmpl_idx -1. Meta's 24-hour window is not checked here (docs/sandbox.md). */
static int validate_text(json_object *root, struct send_info *si, char *d, size_t dl)
{
    json_object *text;
    const char *body;
    si->tmpl_idx = -1;
    si->callback = NULL;
    si->callback_len = 0;
    if (!json_object_object_get_ex(root, "text", &text) ||
        !json_object_is_type(text, json_type_object) || !(body = sb_json_str(text, "body")) ||
        !*body) {
        snprintf(d, dl, "The parameter text.body is required.");
        return 100;
    }
    if (utf8_chars(body, strlen(body)) > 4096) {
        snprintf(d, dl, "text.body is longer than 4096 characters");
        return 100;
    }
    return 0;
}

/* Returns 0 or the Meta error code, with details in d. */
static int validate_send(json_object *root, struct send_info *si, bool strict, char *d, size_t dl)
{
    json_object *tmpl, *lang, *v;
    const char *s, *name, *code;
    struct comps cs;
    int rc;

    if (!json_object_is_type(root, json_type_object)) {
        snprintf(d, dl, "The request body must be a JSON object");
        return 100;
    }
    s = sb_json_str(root, "messaging_product");
    if (!s || strcmp(s, "whatsapp")) {
        snprintf(d, dl,
                 s ? "messaging_product must be \"whatsapp\""
                   : "The parameter messaging_product is required.");
        return 100;
    }
    if (json_object_object_get_ex(root, "recipient_type", &v) &&
        (!(s = sb_json_str(root, "recipient_type")) || strcmp(s, "individual"))) {
        snprintf(d, dl, "recipient_type must be \"individual\"");
        return 100;
    }
    if (!(si->to = sb_json_str(root, "to"))) {
        snprintf(d, dl, "The parameter to is required.");
        return 100;
    }
    if (!(si->to_packed = sb_msisdn_pack(si->to))) {
        snprintf(d, dl,
                 "to must be a phone number with its country code: an optional \"+\" and "
                 "8 to 15 digits");
        return 100;
    }
    s = sb_json_str(root, "type");
    if (s && !strcmp(s, "text"))
        return validate_text(root, si, d, dl);
    if (!s || strcmp(s, "template")) {
        snprintf(d, dl,
                 s ? "type must be \"template\" or \"text\" (the sandbox sends no media)"
                   : "The parameter type is required.");
        return 100;
    }
    si->callback = NULL;
    si->callback_len = 0;
    if (json_object_object_get_ex(root, "biz_opaque_callback_data", &v)) {
        if (!json_object_is_type(v, json_type_string)) {
            snprintf(d, dl, "biz_opaque_callback_data must be a string");
            return 100;
        }
        si->callback = json_object_get_string(v);
        si->callback_len = (size_t)json_object_get_string_len(v);
        if (utf8_chars(si->callback, si->callback_len) > SB_CALLBACK_MAX) {
            snprintf(d, dl, "biz_opaque_callback_data is longer than %d characters",
                     SB_CALLBACK_MAX);
            return 100;
        }
    }
    if (!json_object_object_get_ex(root, "template", &tmpl) ||
        !json_object_is_type(tmpl, json_type_object)) {
        snprintf(d, dl, "The parameter template is required.");
        return 100;
    }
    if (!(name = sb_json_str(tmpl, "name")) || !*name || strlen(name) > 512) {
        snprintf(d, dl, "The parameter template.name is required.");
        return 100;
    }
    if (!json_object_object_get_ex(tmpl, "language", &lang) ||
        !(code = sb_json_str(lang, "code")) || !*code || strlen(code) > 16) {
        snprintf(d, dl, "The parameter template.language.code is required.");
        return 100;
    }
    if (json_object_object_get_ex(lang, "policy", &v) &&
        (!(s = sb_json_str(lang, "policy")) || strcmp(s, "deterministic"))) {
        snprintf(d, dl, "template.language.policy must be \"deterministic\"");
        return 100;
    }
    v = NULL;
    json_object_object_get_ex(tmpl, "components", &v);
    if ((rc = check_components(v, &cs, d, dl)) != 0)
        return rc;

    bool name_seen;
    si->tmpl_idx = sb_tmpl_find(name, code, &name_seen);
    if (si->tmpl_idx < 0) {
        snprintf(d, dl, "template name (%.100s) does not exist in %.16s", name, code);
        return 132001;
    }
    const struct sb_template *t = sb_tmpl_get(si->tmpl_idx);
    if (strcmp(t->status, "APPROVED")) {
        if (!strcmp(t->status, "PAUSED")) {
            snprintf(d, dl,
                     "Template %s is paused due to low quality so it cannot be sent in a "
                     "template message.",
                     t->name);
            return 132015;
        }
        if (!strcmp(t->status, "DISABLED")) {
            snprintf(d, dl, "Template %s has been disabled.", t->name);
            return 132016;
        }
        snprintf(d, dl, "template name (%s) is not approved in %s (status %s)", t->name,
                 t->language, t->status);
        return 132001;
    }
    if ((rc = check_header(t, &cs, strict, d, dl)) != 0 || (rc = check_body(t, &cs, d, dl)) != 0 ||
        (rc = check_buttons(t, &cs, strict, d, dl)) != 0)
        return rc;
    return 0;
}

/* ---- endpoints ------------------------------------------------------------------------ */

/* Logs why a send was refused (a bug in the caller, worth seeing), at most 10 lines a second
 * so a broken campaign cannot flood the log. Injected errors and rate limiting are not
 * logged: tests ask for those. */
static void log_rejection(int code, const char *details)
{
    static atomic_uint_fast64_t window;
    static atomic_uint lines, suppressed;
    uint64_t now = sb_mono_ms() / 1000, w = atomic_load(&window);

    if (w != now && atomic_compare_exchange_strong(&window, &w, now)) {
        unsigned n = atomic_exchange(&suppressed, 0);
        atomic_store(&lines, 0);
        if (n)
            sb_log("(%u more rejected sends not logged)", n);
    }
    if (atomic_fetch_add(&lines, 1) < 10)
        sb_log("rejected send: (#%d) %s", code, details);
    else
        atomic_fetch_add(&suppressed, 1);
}

/* What a load balancer in front of Graph answers when its upstream fails: HTML, not JSON. */
static void gateway_502(struct sb_reply *rp)
{
    static const char page[] = "<html><head><title>502 Bad Gateway</title></head><body>"
                               "<center><h1>502 Bad Gateway</h1></center></body></html>\n";
    char *b = malloc(sizeof page);
    if (b)
        memcpy(b, page, sizeof page);
    sb_reply_take(rp, 502, b, sizeof page - 1);
    rp->ctype = "text/html";
}

static void send_message(const struct sb_req *rq, int phone_idx, struct sb_reply *rp)
{
    struct sb_send_cfg cfg;
    struct send_info si;
    char details[512], wamid[SB_WAMID_LEN], digits[24];
    json_tokener *tok;
    json_object *root = NULL;
    int code;
    bool async = false;

    sb_cfg_snapshot(&cfg);
    rp->delay_ms = cfg.latency_ms;
    if (cfg.latency_jitter_ms) {
        long d = (long)cfg.latency_ms - (long)cfg.latency_jitter_ms +
                 (long)randombytes_uniform(2 * cfg.latency_jitter_ms + 1);
        rp->delay_ms = d > 0 ? (unsigned)d : 0;
    }

    tok = json_tokener_new();
    if (tok) {
        root = json_tokener_parse_ex(tok, rq->body, (int)rq->body_len);
        /* trailing bytes after the object are as wrong as a broken one */
        if (root && json_tokener_get_error(tok) == json_tokener_success &&
            json_tokener_get_parse_end(tok) < rq->body_len) {
            size_t end = json_tokener_get_parse_end(tok);
            while (end < rq->body_len && isspace((unsigned char)rq->body[end]))
                end++;
            if (end < rq->body_len) {
                json_object_put(root);
                root = NULL;
            }
        }
        json_tokener_free(tok);
    }
    if (!root) {
        sb_store_count_rejected();
        log_rejection(100, "The request body is not valid JSON");
        sb_reply_meta_error(rp, 100, "The request body is not valid JSON");
        return;
    }
    if ((code = validate_send(root, &si, cfg.strict_components, details, sizeof details)) != 0) {
        sb_store_count_rejected();
        log_rejection(code, details);
        sb_reply_meta_error(rp, code, details);
        goto out;
    }
    int fault;
    unsigned late_ms;
    code = sb_cfg_pick_error(si.to_packed, &async, &fault, &late_ms);
    if (fault == SB_FAULT_PRE_502 || fault == SB_FAULT_PRE_RESET) {
        /* A gateway in front of Graph failed: nothing was accepted. */
        sb_store_count_fault(fault);
        sb_store_count_rejected();
        if (fault == SB_FAULT_PRE_RESET)
            rp->reset = true;
        else
            gateway_502(rp);
        goto out;
    }
    if (code && !async) {
        sb_store_count_rejected();
        sb_reply_meta_error(rp, code, NULL);
        goto out;
    }
    if (sb_store_rate_take(phone_idx, cfg.rate_limit) < 0) {
        sb_store_count_rate_limited();
        sb_reply_meta_error(rp, 130429, NULL);
        goto out;
    }

    const struct sb_template *t = sb_tmpl_get(si.tmpl_idx); /* NULL: a text message */
    /* Template pacing: Meta holds the message for a quality assessment; its statuses come
     * once the hold ends (config "pacing"). */
    unsigned hold_ms = 0;
    bool held = t && sb_cfg_pacing(t->name, &hold_ms);
    struct sb_accept a = {
        .wamid_ctr = sb_store_next_wamid(),
        .phone_idx = phone_idx,
        .tmpl_idx = si.tmpl_idx,
        .to_packed = si.to_packed,
        .to_plus = si.to[0] == '+',
        .callback = si.callback,
        .callback_len = si.callback_len,
        .request = cfg.record_requests ? rq->body : NULL,
        .request_len = rq->body_len,
        .async_error = code,
    };
    sb_store_accept(&a);
    if (cfg.webhooks) {
        struct sb_wh_new w = {
            .wamid_ctr = a.wamid_ctr,
            .phone_idx = phone_idx,
            .to_packed = si.to_packed,
            .callback = si.callback,
            .callback_len = si.callback_len,
            .category = t ? t->category : "service",
            .fail_code = code,
            .statuses = cfg.statuses,
            .nstatuses = cfg.nstatuses,
            .delay_ms = held ? hold_ms : cfg.webhook_delay_ms,
        };
        sb_wh_schedule(&w);
    }

    if (fault) {
        /* Accepted, but the answer is lost, a gateway's page, or late. */
        sb_store_count_fault(fault);
        if (fault == SB_FAULT_ACCEPT_RESET) {
            rp->reset = true;
            goto out;
        }
        if (fault == SB_FAULT_ACCEPT_502) {
            gateway_502(rp);
            goto out;
        }
        rp->delay_ms = late_ms;
    }
    sb_store_wamid(a.wamid_ctr, wamid);
    sb_msisdn_unpack(si.to_packed, digits, sizeof digits);
    /* `to` is validated as [+]digits: nothing to escape */
    char *body = malloc(320);
    if (body) {
        int n = snprintf(body, 320,
                         "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"%s\","
                         "\"wa_id\":\"%s\"}],\"messages\":[{\"id\":\"%s\",\"message_status\":"
                         "\"%s\"}]}",
                         si.to, digits, wamid, held ? "held_for_quality_assessment" : "accepted");
        sb_reply_take(rp, 200, body, (size_t)n);
    }
out:
    json_object_put(root);
}

/* Host header for paging.next, if it looks like a host[:port]; else our listen address. */
static const char *self_host(const struct sb_req *rq)
{
    const char *h = sb_req_header(rq, "Host");
    if (!h || !*h || strlen(h) > 255 ||
        h[strspn(h, "abcdefghijklmnopqrstuvwxyz"
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")])
        return sb_opts.listen;
    return h;
}

static void cursor_encode(int idx, char *out, size_t outlen)
{
    char plain[16];
    int n = snprintf(plain, sizeof plain, "%d", idx);
    sodium_bin2base64(out, outlen, (const unsigned char *)plain, (size_t)n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int cursor_decode(const char *s, int *idx)
{
    unsigned char plain[16];
    size_t n;
    unsigned long long v;
    if (strlen(s) > 20 || sodium_base642bin(plain, sizeof plain - 1, s, strlen(s), NULL, &n, NULL,
                                            sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    plain[n] = '\0';
    if (sb_parse_uint((const char *)plain, 100000, &v) < 0)
        return -1;
    *idx = (int)v;
    return 0;
}

static bool tmpl_matches(const struct sb_template *t, const char *name, const char *status,
                         const char *category, const char *language)
{
    return (!name || strstr(t->name, name)) && (!status || !strcasecmp(t->status, status)) &&
           (!category || !strcasecmp(t->category, category)) &&
           (!language || !strcmp(t->language, language));
}

static void append_arg(char *url, size_t len, const char *key, const char *value)
{
    char *esc;
    if (!value)
        return;
    esc = curl_easy_escape(NULL, value, 0);
    if (!esc)
        return;
    size_t used = strlen(url);
    snprintf(url + used, len - used, "%s%s=%s", strchr(url, '?') ? "&" : "?", key, esc);
    curl_free(esc);
}

static void list_templates(const struct sb_req *rq, const char *version, struct sb_reply *rp)
{
    const char *fields = sb_req_arg(rq, "fields"), *after = sb_req_arg(rq, "after"),
               *before = sb_req_arg(rq, "before"), *limit_s = sb_req_arg(rq, "limit");
    const char *f_name = sb_req_arg(rq, "name"), *f_status = sb_req_arg(rq, "status"),
               *f_cat = sb_req_arg(rq, "category"), *f_lang = sb_req_arg(rq, "language");
    unsigned long long limit = 25;
    int start = 0, n = sb_tmpl_count(), cursor = 0;
    int picked[LIST_LIMIT_MAX], npicked = 0;

    if (limit_s && (sb_parse_uint(limit_s, LIST_LIMIT_MAX, &limit) < 0 || limit == 0)) {
        sb_reply_meta_error(rp, 100, "limit must be an integer 1..1000");
        return;
    }
    if (after && before) {
        sb_reply_meta_error(rp, 100, "use either after or before, not both");
        return;
    }
    if (after || before) {
        if (cursor_decode(after ? after : before, &cursor) < 0) {
            sb_reply_meta_error(rp, 100, "Invalid cursor");
            return;
        }
        if (after) {
            start = cursor + 1;
        } else {
            /* the page that ends just before the cursor */
            int k = 0;
            start = cursor;
            while (start > 0 && k < (int)limit) {
                start--;
                if (tmpl_matches(sb_tmpl_get(start), f_name, f_status, f_cat, f_lang))
                    k++;
            }
        }
    }
    int i;
    for (i = start; i < n && npicked < (int)limit; i++) {
        if (before && i >= cursor)
            break;
        if (tmpl_matches(sb_tmpl_get(i), f_name, f_status, f_cat, f_lang))
            picked[npicked++] = i;
    }
    bool more_after = false, more_before = false;
    for (; i < n && !more_after; i++)
        more_after = tmpl_matches(sb_tmpl_get(i), f_name, f_status, f_cat, f_lang);
    for (int k = npicked ? picked[0] - 1 : -1; k >= 0 && !more_before; k--)
        more_before = tmpl_matches(sb_tmpl_get(k), f_name, f_status, f_cat, f_lang);

    json_object *root = json_object_new_object(), *data = json_object_new_array();
    for (int k = 0; k < npicked; k++)
        json_object_array_add(data, sb_tmpl_json(sb_tmpl_get(picked[k]), fields));
    json_object_object_add(root, "data", data);
    if (npicked) {
        json_object *paging = json_object_new_object(), *cursors = json_object_new_object();
        char cb[32], ca[32], url[4096];
        cursor_encode(picked[0], cb, sizeof cb);
        cursor_encode(picked[npicked - 1], ca, sizeof ca);
        json_object_object_add(cursors, "before", json_object_new_string(cb));
        json_object_object_add(cursors, "after", json_object_new_string(ca));
        json_object_object_add(paging, "cursors", cursors);
        for (int dir = 0; dir < 2; dir++) {
            char lim[24];
            if (dir == 0 ? !more_after : !more_before)
                continue;
            snprintf(url, sizeof url, "http://%s/%s/%s/message_templates", self_host(rq), version,
                     sb_opts.waba_id);
            snprintf(lim, sizeof lim, "%llu", limit);
            append_arg(url, sizeof url, "fields", fields);
            append_arg(url, sizeof url, "name", f_name);
            append_arg(url, sizeof url, "status", f_status);
            append_arg(url, sizeof url, "category", f_cat);
            append_arg(url, sizeof url, "language", f_lang);
            append_arg(url, sizeof url, "limit", lim);
            append_arg(url, sizeof url, dir == 0 ? "after" : "before", dir == 0 ? ca : cb);
            json_object_object_add(paging, dir == 0 ? "next" : "previous",
                                   json_object_new_string(url));
        }
        json_object_object_add(root, "paging", paging);
    }
    sb_reply_json(rp, 200, root);
}

static json_object *phone_json(int idx)
{
    json_object *o = json_object_new_object(), *tp = json_object_new_object();
    json_object_object_add(o, "verified_name", json_object_new_string("Pregón Sandbox"));
    json_object_object_add(o, "code_verification_status", json_object_new_string("VERIFIED"));
    json_object_object_add(o, "display_phone_number",
                           json_object_new_string(sb_opts.phones[idx].display));
    json_object_object_add(o, "quality_rating", json_object_new_string("GREEN"));
    json_object_object_add(o, "platform_type", json_object_new_string("CLOUD_API"));
    json_object_object_add(tp, "level", json_object_new_string("STANDARD"));
    json_object_object_add(o, "throughput", tp);
    json_object_object_add(o, "messaging_limit_tier", json_object_new_string("TIER_250"));
    json_object_object_add(o, "id", json_object_new_string(sb_opts.phones[idx].id));
    return o;
}

static bool authorized(const struct sb_req *rq)
{
    const char *h = sb_req_header(rq, "Authorization"), *tok = NULL;
    size_t want = strlen(sb_opts.access_token);

    if (h && !strncasecmp(h, "Bearer ", 7)) {
        tok = h + 7;
        while (*tok == ' ')
            tok++;
    } else {
        tok = sb_req_arg(rq, "access_token"); /* Graph accepts it as a parameter too */
    }
    return tok && strlen(tok) == want && want > 0 &&
           sodium_memcmp(tok, sb_opts.access_token, want) == 0;
}

static bool valid_version(const char *s, size_t n)
{
    size_t i = 1, digits = 0;
    if (n < 4 || s[0] != 'v')
        return false;
    for (; i < n && isdigit((unsigned char)s[i]); i++)
        digits++;
    if (!digits || i >= n || s[i] != '.')
        return false;
    for (i++, digits = 0; i < n && isdigit((unsigned char)s[i]); i++)
        digits++;
    return digits && i == n;
}

static void unsupported(struct sb_reply *rp, const char *method, const char *id)
{
    char d[256];
    snprintf(d, sizeof d,
             "Unsupported %s request. Object with ID '%.64s' does not exist, cannot be loaded "
             "due to missing permissions, or does not support this operation.",
             !strcmp(method, "POST")  ? "post"
             : !strcmp(method, "GET") ? "get"
                                      : "delete",
             id);
    sb_reply_meta_error(rp, 100, d);
}

void sb_graph_handle(const struct sb_req *rq, struct sb_reply *rp)
{
    char seg[MAX_SEGMENTS][128];
    int nseg = 0;
    const char *p = rq->url + 1;
    bool is_send;

    /* split "/v25.0/<id>/<edge>" */
    while (*p && nseg < MAX_SEGMENTS) {
        size_t n = strcspn(p, "/");
        if (n == 0 || n >= sizeof seg[0])
            break;
        memcpy(seg[nseg], p, n);
        seg[nseg++][n] = '\0';
        p += n;
        if (*p == '/')
            p++;
    }
    is_send = nseg == 3 && !strcmp(seg[2], "messages") && !strcmp(rq->method, "POST");
    if (*p || nseg < 2 || !valid_version(seg[0], strlen(seg[0]))) {
        sb_reply_meta_error(rp, 100, "Unknown path components");
        if (is_send)
            sb_store_count_rejected();
        return;
    }
    if (!authorized(rq)) {
        if (is_send) {
            struct sb_send_cfg cfg;
            sb_cfg_snapshot(&cfg);
            rp->delay_ms = cfg.latency_ms;
            sb_store_count_rejected();
            log_rejection(190, "wrong or missing access token");
        }
        sb_reply_meta_error(rp, 190, "Invalid OAuth access token.");
        return;
    }
    int phone = sb_phone_find(seg[1]);
    bool is_waba = !strcmp(seg[1], sb_opts.waba_id);

    if (is_send) {
        if (phone < 0) {
            sb_store_count_rejected();
            log_rejection(100, "unknown phone number id");
            unsupported(rp, rq->method, seg[1]);
            return;
        }
        send_message(rq, phone, rp);
    } else if (nseg == 3 && !strcmp(seg[2], "message_templates") && !strcmp(rq->method, "GET") &&
               is_waba) {
        list_templates(rq, seg[0], rp);
    } else if (nseg == 3 && !strcmp(seg[2], "phone_numbers") && !strcmp(rq->method, "GET") &&
               is_waba) {
        json_object *root = json_object_new_object(), *data = json_object_new_array();
        for (int i = 0; i < sb_opts.nphones; i++)
            json_object_array_add(data, phone_json(i));
        json_object_object_add(root, "data", data);
        sb_reply_json(rp, 200, root);
    } else if (nseg == 2 && !strcmp(rq->method, "GET") && phone >= 0) {
        sb_reply_json(rp, 200, phone_json(phone));
    } else if (nseg == 2 && !strcmp(rq->method, "GET") && is_waba) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(sb_opts.waba_id));
        json_object_object_add(o, "name", json_object_new_string("Pregón Sandbox"));
        json_object_object_add(o, "currency", json_object_new_string("USD"));
        json_object_object_add(o, "timezone_id", json_object_new_string("1"));
        json_object_object_add(o, "message_template_namespace",
                               json_object_new_string("pregon_sandbox"));
        sb_reply_json(rp, 200, o);
    } else {
        unsupported(rp, rq->method, seg[1]);
    }
}
