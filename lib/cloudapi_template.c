/* Cloud API templates: placeholders, the slots a template needs, messages from slots, and
 * previews rendered with a recipient's values. */

#include "cloudapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "cloudapi_internal.h"

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
        while (cloudapi_is_lower(*q) || cloudapi_is_digit(*q) || *q == '_')
            q++;
        size_t n = (size_t)(q - t);
        int ok = n > 0 && q[0] == '}' && q[1] == '}', num = 0;
        if (ok && cloudapi_is_digit(t[0])) {
            ok = t[0] != '0' && n <= 3;
            for (size_t i = 0; ok && i < n; i++) {
                ok = cloudapi_is_digit(t[i]);
                num = num * 10 + (t[i] - '0');
            }
        } else if (ok) {
            ok = cloudapi_valid_param_name(t, n);
        }
        if (!ok) {
            char snip[32];
            cloudapi_copy_ascii(snip, sizeof snip, p, strnlen(p, 24));
            cloudapi_seterr(err, errlen, "%s: malformed placeholder at byte %zu: \"%s\"", where,
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
    cloudapi_copy_trunc(v->name, sizeof v->name, name, namelen);
    return 0;
}

static int collect_one(void *ctx, const char *tok, size_t toklen, int num, size_t start, size_t end)
{
    struct collect *c = ctx;
    int named = num == 0;

    (void)start;
    (void)end;
    if (++c->count > PLACEHOLDERS_MAX) {
        cloudapi_seterr(c->err, c->errlen, "%s: more than %d placeholders", c->where,
                        PLACEHOLDERS_MAX);
        return -1;
    }
    if (c->mode >= 0 && c->mode != named) {
        cloudapi_seterr(c->err, c->errlen, "%s: mixes named and positional placeholders", c->where);
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
        cloudapi_seterr(c->err, c->errlen, "out of memory");
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
        cloudapi_seterr(err, errlen, "out of memory");
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
            cloudapi_seterr(err, errlen, "%s: {{%d}} is used but {{%d}} is missing", where,
                            c->maxnum, k);
            goto fail;
        }
        snprintf(name, sizeof name, "%d", k);
        if (slot_push(s, comp, 0, CLOUDAPI_P_TEXT, name, strlen(name)) != 0) {
            cloudapi_seterr(err, errlen, "out of memory");
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
        cloudapi_seterr(err, errlen, "components: missing");
        return NULL;
    }
    root = cloudapi_parse_json(components_json, strlen(components_json), COMPONENTS_MAX, why,
                               sizeof why);
    if (root == NULL) {
        cloudapi_seterr(err, errlen, "components: %s", why);
        return NULL;
    }
    if (!json_object_is_type(root, json_type_array)) {
        cloudapi_seterr(err, errlen, "components: not a JSON array");
        json_object_put(root);
        return NULL;
    }
    return root;
}

/* The type of component i, NULL (with err) when it is not an object with a string type. */
static const char *component_type(json_object *c, size_t i, char *err, size_t errlen)
{
    const char *t =
        json_object_is_type(c, json_type_object) ? cloudapi_jget_str(c, "type", NULL) : NULL;

    if (t == NULL)
        cloudapi_seterr(err, errlen, "components[%zu]: not an object with a \"type\"", i);
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
            const char *fmt = cloudapi_jget_str(c, "format", NULL);
            if (have_header++) {
                cloudapi_seterr(err, errlen, "components: more than one HEADER");
                return -1;
            }
            if (fmt == NULL || strcasecmp(fmt, "TEXT") == 0) {
                if ((s = cloudapi_jget_str(c, "text", NULL)) == NULL) {
                    cloudapi_seterr(err, errlen, "header: text missing");
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
                    cloudapi_seterr(err, errlen, "header: unsupported format %.40s", fmt);
                    return -1;
                }
                if (slot_push(out, CLOUDAPI_C_HEADER, 0, pt, "", 0) != 0)
                    goto oom;
                m = -1;
            }
        } else if (strcasecmp(type, "BODY") == 0) {
            if (have_body++) {
                cloudapi_seterr(err, errlen, "components: more than one BODY");
                return -1;
            }
            if ((s = cloudapi_jget_str(c, "text", NULL)) == NULL) {
                cloudapi_seterr(err, errlen, "body: text missing");
                return -1;
            }
            if ((m = collect_text(out, CLOUDAPI_C_BODY, s, "body", err, errlen)) == -2)
                return -1;
        } else if (strcasecmp(type, "FOOTER") == 0) {
            if (have_footer++) {
                cloudapi_seterr(err, errlen, "components: more than one FOOTER");
                return -1;
            }
            continue; /* no variables allowed in footers */
        } else if (strcasecmp(type, "BUTTONS") == 0) {
            json_object *bs = cloudapi_jget_type(c, "buttons", json_type_array);
            size_t nb = bs ? json_object_array_length(bs) : 0;
            if (have_buttons++) {
                cloudapi_seterr(err, errlen, "components: more than one BUTTONS");
                return -1;
            }
            if (bs == NULL || nb > BUTTONS_MAX) {
                cloudapi_seterr(err, errlen, "buttons: need an array of at most %d", BUTTONS_MAX);
                return -1;
            }
            for (size_t b = 0; b < nb; b++) {
                json_object *bo = json_object_array_get_idx(bs, b);
                const char *bt = json_object_is_type(bo, json_type_object)
                                     ? cloudapi_jget_str(bo, "type", NULL)
                                     : NULL;
                if (bt == NULL) {
                    cloudapi_seterr(err, errlen, "button %zu: not an object with a \"type\"", b);
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
                    cloudapi_seterr(err, errlen, "button %zu: unsupported type %.40s", b, bt);
                    return -1;
                }
                const char *url = cloudapi_jget_str(bo, "url", NULL);
                char where[32];
                struct url_scan u = {0};
                if (url == NULL) {
                    cloudapi_seterr(err, errlen, "button %zu: url missing", b);
                    return -1;
                }
                snprintf(where, sizeof where, "button %zu url", b);
                if (scan_placeholders(url, where, url_one, &u, err, errlen) != 0)
                    return -1;
                if (u.count == 0)
                    continue;
                if (u.count > 1 || u.num != 1 || url[u.end] != '\0') {
                    cloudapi_seterr(err, errlen, "%s: only one {{1}} at the very end is allowed",
                                    where);
                    return -1;
                }
                if (slot_push(out, CLOUDAPI_C_BUTTON, (int)b, CLOUDAPI_P_TEXT, "1", 1) != 0)
                    goto oom;
            }
            continue;
        } else {
            cloudapi_seterr(err, errlen, "components: unsupported component %.40s", type);
            return -1;
        }
        if (m >= 0) {
            if (mode >= 0 && mode != m) {
                cloudapi_seterr(err, errlen, "template mixes named and positional placeholders");
                return -1;
            }
            mode = m;
        }
    }
    out->named = mode == 1;
    slots_sort(out);
    return 0;
oom:
    cloudapi_seterr(err, errlen, "out of memory");
    return -1;
}

int cloudapi_template_slots(const char *components_json, struct cloudapi_slots *out, char *err,
                            size_t errlen)
{
    json_object *root;
    int rc;

    if (out == NULL) {
        cloudapi_seterr(err, errlen, "no output");
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
    const char *cn = cloudapi_ctype_name(s->component);

    if (s->type == CLOUDAPI_P_TEXT && s->component == CLOUDAPI_C_BUTTON)
        snprintf(buf, size, "button %d URL {{%s}}", s->index, s->name);
    else if (s->type == CLOUDAPI_P_TEXT)
        snprintf(buf, size, "%s {{%s}}", cn, s->name);
    else if (s->type == CLOUDAPI_P_COUPON)
        snprintf(buf, size, "button %d coupon code", s->index);
    else
        snprintf(buf, size, "%s %s link", cn, cloudapi_ptype_name(s->type));
}

static const char *slot_value(const struct cloudapi_slots *s, size_t i, const char *const *values,
                              size_t nvalues, char *err, size_t errlen)
{
    const char *v = values && i < nvalues ? values[i] : NULL;

    if (v == NULL || v[0] == '\0') {
        char label[96];
        slot_label(&s->v[i], label, sizeof label);
        cloudapi_seterr(err, errlen, "missing value for %s", label);
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
        cloudapi_seterr(err, errlen, "no message or slots");
        return NULL;
    }
    if (m->ncomponents > 0 && m->components == NULL) {
        cloudapi_seterr(err, errlen, "components missing");
        return NULL;
    }
    comps = calloc(s->n + m->ncomponents + 1, sizeof *comps);
    params = calloc(s->n + 1, sizeof *params);
    if (comps == NULL || params == NULL) {
        cloudapi_seterr(err, errlen, "out of memory");
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

/* ---- rendering --------------------------------------------------------------------- */

struct render {
    struct cloudapi_buf b;
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
            cloudapi_seterr(r->err, r->errlen, "%s: named placeholder {{%.*s}} needs named values",
                            r->where, (int)toklen, tok);
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
        cloudapi_seterr(r->err, r->errlen, "missing value for %s {{%.*s}}", r->where, (int)toklen,
                        tok);
        return -1;
    }
    cloudapi_buf_add(&r->b, r->text + r->last, start - r->last);
    cloudapi_buf_add(&r->b, v, strlen(v));
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
        cloudapi_seterr(err, errlen, "%s: no text or values", where);
        return NULL;
    }
    if (scan_placeholders(text, where, render_one, &r, err, errlen) != 0) {
        free(r.b.p);
        return NULL;
    }
    cloudapi_buf_add(&r.b, text + r.last, strlen(text + r.last));
    if ((out = cloudapi_buf_take(&r.b)) == NULL)
        cloudapi_seterr(err, errlen, "out of memory");
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
        cloudapi_seterr(err, errlen, "out of memory");
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
            const char *fmt = cloudapi_jget_str(c, "format", NULL);
            if (fmt == NULL || strcasecmp(fmt, "TEXT") == 0) {
                p->header_format = "text";
                p->header = render_component(cloudapi_jget_str(c, "text", NULL), "header", s,
                                             CLOUDAPI_C_HEADER, 0, values, nvalues, err, errlen);
                if (p->header == NULL)
                    return -1;
            } else {
                for (size_t k = 0; k < s->n; k++) {
                    if (s->v[k].component == CLOUDAPI_C_HEADER) {
                        p->header_format = cloudapi_ptype_name(s->v[k].type);
                        if ((p->header = strdup(values[k])) == NULL)
                            goto oom;
                    }
                }
            }
        } else if (strcasecmp(type, "BODY") == 0) {
            p->body = render_component(cloudapi_jget_str(c, "text", NULL), "body", s,
                                       CLOUDAPI_C_BODY, 0, values, nvalues, err, errlen);
            if (p->body == NULL)
                return -1;
        } else if (strcasecmp(type, "FOOTER") == 0) {
            text = cloudapi_jget_str(c, "text", NULL);
            if (text && (p->footer = strdup(text)) == NULL)
                goto oom;
        } else if (strcasecmp(type, "BUTTONS") == 0) {
            json_object *bs = cloudapi_jget_type(c, "buttons", json_type_array);
            size_t nb = json_object_array_length(bs);
            if (nb > 0 && (p->buttons = calloc(nb, sizeof *p->buttons)) == NULL)
                goto oom;
            for (size_t b = 0; b < nb; b++, p->nbuttons++) {
                json_object *bo = json_object_array_get_idx(bs, b);
                const char *bt = cloudapi_jget_str(bo, "type", NULL), *url;
                text = cloudapi_jget_str(bo, "text", NULL);
                if (text == NULL && strcasecmp(bt, "COPY_CODE") == 0)
                    text = "Copy offer code"; /* WhatsApp's own label */
                if ((p->buttons[b].text = strdup(text ? text : "")) == NULL)
                    goto oom;
                if (strcasecmp(bt, "URL") == 0 &&
                    (url = cloudapi_jget_str(bo, "url", NULL)) != NULL) {
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
    cloudapi_seterr(err, errlen, "out of memory");
    return -1;
}

int cloudapi_render_preview(const char *components_json, const char *const *values, size_t nvalues,
                            struct cloudapi_preview *p, char *err, size_t errlen)
{
    struct cloudapi_slots s;
    json_object *root;
    int rc;

    if (p == NULL) {
        cloudapi_seterr(err, errlen, "no output");
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
