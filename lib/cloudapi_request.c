/* Cloud API send requests: the message JSON, checked, and prepared requests (the JSON built once
 * per campaign with markers, filled per recipient). */

#include "cloudapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "cloudapi_internal.h"

/* ---- send request ------------------------------------------------------------------ */

/* Checks one component and its parameters; 0 or -1 with err. *named gets 1/0 for the
   first text parameter seen (-1 = none yet) to catch mixing across components. */
static int check_component(const struct cloudapi_component *c, size_t ci, int *named, char *err,
                           size_t errlen)
{
    const char *cn = cloudapi_ctype_name(c->type);

    if (strcmp(cn, "?") == 0) {
        cloudapi_seterr(err, errlen, "component %zu: unknown type %d", ci, (int)c->type);
        return -1;
    }
    if (c->nparams == 0 || c->params == NULL) {
        cloudapi_seterr(err, errlen, "component %zu (%s): no parameters", ci, cn);
        return -1;
    }
    if (c->type != CLOUDAPI_C_BODY && c->nparams != 1) {
        cloudapi_seterr(err, errlen, "component %zu (%s): takes exactly one parameter, got %zu", ci,
                        cn, c->nparams);
        return -1;
    }
    if (c->type == CLOUDAPI_C_BUTTON) {
        enum cloudapi_ptype want;
        if (c->sub_type == NULL) {
            cloudapi_seterr(err, errlen, "component %zu (button): sub_type missing", ci);
            return -1;
        } else if (strcmp(c->sub_type, "url") == 0) {
            want = CLOUDAPI_P_TEXT;
        } else if (strcmp(c->sub_type, "quick_reply") == 0) {
            want = CLOUDAPI_P_PAYLOAD;
        } else if (strcmp(c->sub_type, "copy_code") == 0) {
            want = CLOUDAPI_P_COUPON;
        } else {
            cloudapi_seterr(err, errlen, "component %zu (button): unsupported sub_type", ci);
            return -1;
        }
        if (c->index < 0 || c->index >= BUTTONS_MAX) {
            cloudapi_seterr(err, errlen, "component %zu (button): index %d out of 0..9", ci,
                            c->index);
            return -1;
        }
        if (c->params[0].type != want) {
            cloudapi_seterr(err, errlen, "component %zu (button %s): parameter must be %s", ci,
                            c->sub_type, cloudapi_ptype_name(want));
            return -1;
        }
    }
    for (size_t i = 0; i < c->nparams; i++) {
        const struct cloudapi_param *p = &c->params[i];
        const char *pn = cloudapi_ptype_name(p->type);
        if (pn == NULL) {
            cloudapi_seterr(err, errlen, "component %zu (%s) parameter %zu: unknown type %d", ci,
                            cn, i, (int)p->type);
            return -1;
        }
        if (c->type == CLOUDAPI_C_BODY && p->type != CLOUDAPI_P_TEXT) {
            cloudapi_seterr(err, errlen, "component %zu (body) parameter %zu: must be text, not %s",
                            ci, i, pn);
            return -1;
        }
        if (c->type == CLOUDAPI_C_HEADER &&
            (p->type == CLOUDAPI_P_PAYLOAD || p->type == CLOUDAPI_P_COUPON)) {
            cloudapi_seterr(err, errlen, "component %zu (header): %s parameter not allowed", ci,
                            pn);
            return -1;
        }
        if (p->value == NULL || p->value[0] == '\0') {
            cloudapi_seterr(err, errlen, "component %zu (%s) parameter %zu: empty value", ci, cn,
                            i);
            return -1;
        }
        if (!cloudapi_utf8_valid(p->value, strlen(p->value))) {
            cloudapi_seterr(err, errlen,
                            "component %zu (%s) parameter %zu: value is not valid UTF-8", ci, cn,
                            i);
            return -1;
        }
        if ((p->type == CLOUDAPI_P_IMAGE || p->type == CLOUDAPI_P_DOCUMENT ||
             p->type == CLOUDAPI_P_VIDEO) &&
            strncasecmp(p->value, "https://", 8) != 0 && strncasecmp(p->value, "http://", 7) != 0) {
            cloudapi_seterr(err, errlen, "component %zu (%s): %s link must be an http(s) URL", ci,
                            cn, pn);
            return -1;
        }
        if (p->type != CLOUDAPI_P_TEXT || c->type == CLOUDAPI_C_BUTTON) {
            if (p->name != NULL) {
                cloudapi_seterr(err, errlen,
                                "component %zu (%s) parameter %zu: only header/body text "
                                "parameters can be named",
                                ci, cn, i);
                return -1;
            }
            continue;
        }
        int is_named = p->name != NULL;
        if (is_named && !cloudapi_valid_param_name(p->name, strlen(p->name))) {
            cloudapi_seterr(err, errlen, "component %zu (%s) parameter %zu: invalid parameter name",
                            ci, cn, i);
            return -1;
        }
        if (*named >= 0 && *named != is_named) {
            cloudapi_seterr(
                err, errlen,
                "component %zu (%s) parameter %zu: named and positional parameters mixed", ci, cn,
                i);
            return -1;
        }
        *named = is_named;
        for (size_t j = 0; is_named && j < i; j++) {
            if (c->params[j].name && strcmp(c->params[j].name, p->name) == 0) {
                cloudapi_seterr(err, errlen, "component %zu (%s): parameter \"%s\" given twice", ci,
                                cn, p->name);
                return -1;
            }
        }
    }
    return 0;
}

static json_object *param_json(const struct cloudapi_param *p)
{
    const char *tn = cloudapi_ptype_name(p->type);
    json_object *o = json_object_new_object();
    int bad = 0;

    if (o == NULL)
        return NULL;
    bad |= cloudapi_jadd_str(o, "type", tn);
    switch (p->type) {
    case CLOUDAPI_P_TEXT:
    case CLOUDAPI_P_PAYLOAD:
    case CLOUDAPI_P_COUPON:
        bad |= cloudapi_jadd_str(o, tn, p->value);
        break;
    case CLOUDAPI_P_IMAGE:
    case CLOUDAPI_P_DOCUMENT:
    case CLOUDAPI_P_VIDEO: {
        json_object *media = json_object_new_object();
        if (media == NULL || cloudapi_jadd_str(media, "link", p->value) != 0) {
            json_object_put(media);
            bad = 1;
            break;
        }
        bad |= cloudapi_jadd(o, tn, media);
        break;
    }
    }
    if (p->name)
        bad |= cloudapi_jadd_str(o, "parameter_name", p->name);
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
        bad |= cloudapi_jadd_str(o, "type", cloudapi_ctype_name(c->type));
        if (c->type == CLOUDAPI_C_BUTTON) {
            char idx[16];
            snprintf(idx, sizeof idx, "%d", c->index);
            bad |= cloudapi_jadd_str(o, "sub_type", c->sub_type);
            bad |= cloudapi_jadd_str(o, "index", idx);
        }
        for (size_t i = 0; i < c->nparams && !bad; i++)
            bad |= cloudapi_jappend(params, param_json(&c->params[i]));
        if (!bad) {
            bad |= cloudapi_jadd(o, "parameters", params);
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
        cloudapi_seterr(err, errlen, "no message");
        return NULL;
    }
    if (!cloudapi_valid_e164(m->to)) {
        cloudapi_seterr(err, errlen, "recipient is not an E.164 number with '+'");
        return NULL;
    }
    if (!cloudapi_valid_template_name(m->template_name)) {
        cloudapi_seterr(err, errlen, "invalid template name");
        return NULL;
    }
    if (!cloudapi_valid_language(m->language)) {
        cloudapi_seterr(err, errlen, "invalid language code");
        return NULL;
    }
    if (m->callback_data) {
        size_t n = strlen(m->callback_data);
        /* Bytes, not characters: never more than Meta's 512-character limit. */
        if (n > CLOUDAPI_CALLBACK_MAX) {
            cloudapi_seterr(err, errlen, "biz_opaque_callback_data is %zu bytes, max %d", n,
                            CLOUDAPI_CALLBACK_MAX);
            return NULL;
        }
        if (!cloudapi_utf8_valid(m->callback_data, n)) {
            cloudapi_seterr(err, errlen, "biz_opaque_callback_data is not valid UTF-8");
            return NULL;
        }
    }
    if (m->ncomponents > 0 && m->components == NULL) {
        cloudapi_seterr(err, errlen, "components missing");
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
            cloudapi_seterr(err, errlen, "component %zu (%s): given twice", i,
                            cloudapi_ctype_name(c->type));
            return NULL;
        }
        seen |= bit;
    }

    root = json_object_new_object();
    tmpl = json_object_new_object();
    lang = json_object_new_object();
    if (root == NULL || tmpl == NULL || lang == NULL)
        goto oom;
    bad |= cloudapi_jadd_str(root, "messaging_product", "whatsapp");
    bad |= cloudapi_jadd_str(root, "recipient_type", "individual");
    bad |= cloudapi_jadd_str(root, "to", m->to);
    bad |= cloudapi_jadd_str(root, "type", "template");
    if (m->callback_data && m->callback_data[0])
        bad |= cloudapi_jadd_str(root, "biz_opaque_callback_data", m->callback_data);
    bad |= cloudapi_jadd_str(tmpl, "name", m->template_name);
    bad |= cloudapi_jadd_str(lang, "policy", "deterministic");
    bad |= cloudapi_jadd_str(lang, "code", m->language);
    bad |= cloudapi_jadd(tmpl, "language", lang);
    lang = NULL;
    if (m->ncomponents > 0) {
        comps = json_object_new_array();
        if (comps == NULL)
            goto oom;
        for (size_t i = 0; i < m->ncomponents && !bad; i++)
            bad |= cloudapi_jappend(comps, component_json(&m->components[i]));
        bad |= cloudapi_jadd(tmpl, "components", comps);
        comps = NULL;
    }
    bad |= cloudapi_jadd(root, "template", tmpl);
    tmpl = NULL;
    if (bad)
        goto oom;
    out = cloudapi_jdump(root, len);
    if (out == NULL)
        goto oom;
    json_object_put(root);
    return out;
oom:
    json_object_put(lang);
    json_object_put(comps);
    json_object_put(tmpl);
    json_object_put(root);
    cloudapi_seterr(err, errlen, "out of memory");
    return NULL;
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
        cloudapi_seterr(err, errlen, "out of memory");
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
            cloudapi_seterr(err, errlen, "cannot lay the message out (placeholder %zu)", w);
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
        cloudapi_seterr(err, errlen, "no message, components or callback data");
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
        cloudapi_seterr(err, errlen, "out of memory");
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < m->ncomponents; i++) {
        comps[i] = m->components[i];
        if (comps[i].nparams > 0 && comps[i].params == NULL) {
            cloudapi_seterr(err, errlen, "component %zu: parameters missing", i);
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
        cloudapi_seterr(err, errlen, "out of memory");
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
        cloudapi_seterr(err, errlen, "no message, slots or callback data");
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
        cloudapi_seterr(err, errlen, "out of memory");
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
        cloudapi_seterr(err, errlen, "no prepared message");
        return NULL;
    }
    if (!cloudapi_valid_e164(to)) {
        cloudapi_seterr(err, errlen, "recipient is not an E.164 number with '+'");
        return NULL;
    }
    size_t cbn = callback_data ? strlen(callback_data) : 0;
    if (cbn == 0 || cbn > CLOUDAPI_CALLBACK_MAX || !cloudapi_utf8_valid(callback_data, cbn)) {
        cloudapi_seterr(err, errlen, "biz_opaque_callback_data must be 1 to %d bytes of UTF-8",
                        CLOUDAPI_CALLBACK_MAX);
        return NULL;
    }
    for (size_t i = 0; i < p->nvalues; i++) {
        const char *v = values && i < nvalues ? values[i] : NULL;
        enum cloudapi_ptype t = p->type[i];
        if (v == NULL || v[0] == '\0') {
            cloudapi_seterr(err, errlen, "parameter %zu: missing value", i + 1);
            return NULL;
        }
        if (!cloudapi_utf8_valid(v, strlen(v))) {
            cloudapi_seterr(err, errlen, "parameter %zu: value is not valid UTF-8", i + 1);
            return NULL;
        }
        if ((t == CLOUDAPI_P_IMAGE || t == CLOUDAPI_P_DOCUMENT || t == CLOUDAPI_P_VIDEO) &&
            strncasecmp(v, "https://", 8) != 0 && strncasecmp(v, "http://", 7) != 0) {
            cloudapi_seterr(err, errlen, "parameter %zu: %s link must be an http(s) URL", i + 1,
                            cloudapi_ptype_name(t));
            return NULL;
        }
    }
    struct cloudapi_buf b = {0};
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
        cloudapi_buf_add(&b, p->text + pos, c->at - pos);
        cloudapi_buf_add(&b, q, vl);
        pos = c->end;
    }
    cloudapi_buf_add(&b, p->text + pos, p->text_len - pos);
    size_t n = b.n;
    char *out = cloudapi_buf_take(&b);
    if (out == NULL) {
        cloudapi_seterr(err, errlen, "out of memory");
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
