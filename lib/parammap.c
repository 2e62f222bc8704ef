#include "parammap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The item errors and their keys in the operator's catalogue (lib/msgcat). */
static const struct {
    const char *key, *text;
} item_errors[] = {
    {"param.value_length", "a fixed value has 1 to 1024 characters"},
    {"param.column_length", "a column name has 1 to 64 characters"},
    {"param.fallback_length", "a fallback has 1 to 1024 characters"},
    {"param.item_shape", "values, columns and fallbacks are strings"},
    {"param.item_shape", "an item has only value, or column and fallback"},
    {"param.item_shape", "an item is a string, {\"value\": ...} or {\"column\": ..., "
                         "\"fallback\": ...}"},
    {"param.item_shape", "an item has either a value, or a column with an optional fallback"},
    {"param.too_many", "too many parameters"},
    {"param.bad_name", "is not a placeholder name"},
    {"param.section_shape", "is an array (by position) or an object (by name)"},
};

static const char *item_error(const char *key)
{
    for (size_t i = 0; i < sizeof item_errors / sizeof item_errors[0]; i++)
        if (strcmp(item_errors[i].key, key) == 0)
            return item_errors[i].text;
    return key;
}

const char *parammap_error_key(const char *err, const char *field, char *var, size_t varlen)
{
    if (var && varlen) {
        /* params.body.1, params.body[0], params.buttons.0 -> {{1}} */
        const char *dot = field ? strrchr(field, '.') : NULL,
                   *br = field ? strrchr(field, '[') : NULL;
        if (br && (!dot || br > dot))
            snprintf(var, varlen, "{{%ld}}", strtol(br + 1, NULL, 10) + 1);
        else if (dot && strncmp(field, "params.", 7) == 0 && dot > field + 6)
            snprintf(var, varlen, "{{%s}}", dot + 1);
        else
            snprintf(var, varlen, "%s", field ? field : "");
    }
    for (size_t i = 0; err && i < sizeof item_errors / sizeof item_errors[0]; i++)
        if (strstr(err, item_errors[i].text))
            return item_errors[i].key;
    return NULL;
}

static void seterr(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

/* One item: "text" | {"value"} | {"column", "fallback"}. Returns a new object or NULL. */
static json_object *norm_item(json_object *it, char *err, size_t errlen)
{
    const char *value = NULL, *column = NULL, *fallback = NULL;
    if (json_object_is_type(it, json_type_string)) {
        value = json_object_get_string(it);
    } else if (json_object_is_type(it, json_type_object)) {
        json_object_object_foreach(it, k, v)
        {
            if (!json_object_is_type(v, json_type_string)) {
                seterr(err, errlen, "values, columns and fallbacks are strings");
                return NULL;
            }
            if (strcmp(k, "value") == 0)
                value = json_object_get_string(v);
            else if (strcmp(k, "column") == 0)
                column = json_object_get_string(v);
            else if (strcmp(k, "fallback") == 0)
                fallback = json_object_get_string(v);
            else {
                seterr(err, errlen, "an item has only value, or column and fallback");
                return NULL;
            }
        }
    } else {
        seterr(err, errlen,
               "an item is a string, {\"value\": ...} or {\"column\": ..., "
               "\"fallback\": ...}");
        return NULL;
    }
    if ((value && column) || (!value && !column) || (value && fallback)) {
        seterr(err, errlen, "an item has either a value, or a column with an optional fallback");
        return NULL;
    }
    if (value && (!*value || strlen(value) > PARAMMAP_MAX_VALUE)) {
        seterr(err, errlen, item_error("param.value_length"));
        return NULL;
    }
    if (column && (!*column || strlen(column) > PARAMMAP_MAX_COLUMN)) {
        seterr(err, errlen, item_error("param.column_length"));
        return NULL;
    }
    if (fallback && (!*fallback || strlen(fallback) > PARAMMAP_MAX_VALUE)) {
        seterr(err, errlen, item_error("param.fallback_length"));
        return NULL;
    }
    json_object *o = json_object_new_object();
    if (value)
        json_object_object_add(o, "value", json_object_new_string(value));
    if (column)
        json_object_object_add(o, "column", json_object_new_string(column));
    if (fallback)
        json_object_object_add(o, "fallback", json_object_new_string(fallback));
    return o;
}

static json_object *norm_section(json_object *in, const char *sec, size_t *count, char *err,
                                 size_t errlen, char *field, size_t fieldlen)
{
    char e[160] = "";
    if (json_object_is_type(in, json_type_array)) {
        json_object *out = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(in); i++) {
            if (++*count > PARAMMAP_MAX_ITEMS) {
                snprintf(field, fieldlen, "params.%s", sec);
                seterr(err, errlen, item_error("param.too_many"));
                json_object_put(out);
                return NULL;
            }
            json_object *it = norm_item(json_object_array_get_idx(in, i), e, sizeof e);
            if (!it) {
                snprintf(field, fieldlen, "params.%s[%zu]", sec, i);
                snprintf(err, errlen, "params.%s[%zu]: %s", sec, i, e);
                json_object_put(out);
                return NULL;
            }
            json_object_array_add(out, it);
        }
        return out;
    }
    if (json_object_is_type(in, json_type_object)) {
        json_object *out = json_object_new_object();
        json_object_object_foreach(in, k, v)
        {
            if (++*count > PARAMMAP_MAX_ITEMS) {
                snprintf(field, fieldlen, "params.%s", sec);
                seterr(err, errlen, item_error("param.too_many"));
                json_object_put(out);
                return NULL;
            }
            if (!name_ok(k)) {
                snprintf(field, fieldlen, "params.%s", sec);
                snprintf(err, errlen,
                         "params.%s: '%.64s' is not a placeholder name (lowercase letters, digits, "
                         "underscores)",
                         sec, k);
                json_object_put(out);
                return NULL;
            }
            json_object *it = norm_item(v, e, sizeof e);
            if (!it) {
                snprintf(field, fieldlen, "params.%s.%s", sec, k);
                snprintf(err, errlen, "params.%s.%s: %s", sec, k, e);
                json_object_put(out);
                return NULL;
            }
            json_object_object_add(out, k, it);
        }
        return out;
    }
    snprintf(field, fieldlen, "params.%s", sec);
    snprintf(err, errlen, "params.%s is an array (by position) or an object (by name)", sec);
    return NULL;
}

json_object *parammap_normalize(json_object *in, char *err, size_t errlen, char *field,
                                size_t fieldlen)
{
    char fdummy[8];
    if (!field) {
        field = fdummy;
        fieldlen = sizeof fdummy;
    }
    snprintf(field, fieldlen, "params");
    json_object *out = json_object_new_object();
    if (!in || json_object_is_type(in, json_type_null))
        return out;
    if (!json_object_is_type(in, json_type_object)) {
        seterr(err, errlen,
               "params is an object: {\"header\": ..., \"body\": ..., \"buttons\": ...}");
        json_object_put(out);
        return NULL;
    }
    size_t count = 0;
    json_object_object_foreach(in, key, val)
    {
        if (strcmp(key, "header") == 0 || strcmp(key, "body") == 0) {
            json_object *s = norm_section(val, key, &count, err, errlen, field, fieldlen);
            if (!s) {
                json_object_put(out);
                return NULL;
            }
            json_object_object_add(out, key, s);
        } else if (strcmp(key, "buttons") == 0) {
            if (!json_object_is_type(val, json_type_object)) {
                snprintf(field, fieldlen, "params.buttons");
                seterr(err, errlen,
                       "params.buttons is an object keyed by button index: "
                       "{\"0\": ...}");
                json_object_put(out);
                return NULL;
            }
            json_object *b = json_object_new_object();
            json_object_object_foreach(val, k, v)
            {
                char *end = NULL;
                long idx = strtol(k, &end, 10);
                char e[160] = "";
                if (!*k || *end || idx < 0 || idx > 9 || (k[0] == '0' && k[1])) {
                    snprintf(field, fieldlen, "params.buttons");
                    snprintf(err, errlen, "params.buttons: '%.16s' is not a button index 0-9", k);
                    json_object_put(b);
                    json_object_put(out);
                    return NULL;
                }
                json_object *item = v;
                if (json_object_is_type(v, json_type_array)) {
                    if (json_object_array_length(v) != 1) {
                        snprintf(field, fieldlen, "params.buttons.%s", k);
                        snprintf(err, errlen, "params.buttons.%s: a button takes one value", k);
                        json_object_put(b);
                        json_object_put(out);
                        return NULL;
                    }
                    item = json_object_array_get_idx(v, 0);
                }
                json_object *it =
                    ++count > PARAMMAP_MAX_ITEMS ? NULL : norm_item(item, e, sizeof e);
                if (!it) {
                    snprintf(field, fieldlen, "params.buttons.%s", k);
                    snprintf(err, errlen, "params.buttons.%s: %s", k,
                             *e ? e : "too many parameters");
                    json_object_put(b);
                    json_object_put(out);
                    return NULL;
                }
                json_object_object_add(b, k, it);
            }
            json_object_object_add(out, "buttons", b);
        } else {
            snprintf(field, fieldlen, "params.%.32s", key);
            snprintf(err, errlen, "params has header, body and buttons; '%.32s' is unknown", key);
            json_object_put(out);
            return NULL;
        }
    }
    return out;
}

json_object *parammap_from_body_params(json_object *arr, char *err, size_t errlen, char *field,
                                       size_t fieldlen)
{
    json_object *wrap = json_object_new_object();
    json_object_object_add(wrap, "body", json_object_get(arr));
    json_object *out = parammap_normalize(wrap, err, errlen, field, fieldlen);
    json_object_put(wrap);
    if (!out && field && strncmp(field, "params.body", 11) == 0) {
        /* name the member the caller used */
        char tmp[96];
        snprintf(tmp, sizeof tmp, "body_params%s", field + 11);
        snprintf(field, fieldlen, "%s", tmp);
    }
    return out;
}

static const char *sec_name(enum cloudapi_ctype c)
{
    return c == CLOUDAPI_C_HEADER ? "header" : c == CLOUDAPI_C_BODY ? "body" : "buttons";
}

/* Position of slot i among the slots of its component (buttons: always 0). */
static size_t pos_in_component(const struct cloudapi_slots *s, size_t i)
{
    size_t p = 0;
    for (size_t k = 0; k < i; k++)
        if (s->v[k].component == s->v[i].component)
            p++;
    return p;
}

json_object *parammap_item(json_object *map, const struct cloudapi_slots *s, size_t i)
{
    const struct cloudapi_slot *sl = &s->v[i];
    json_object *sec;
    if (!map || !json_object_object_get_ex(map, sec_name(sl->component), &sec))
        return NULL;
    if (sl->component == CLOUDAPI_C_BUTTON) {
        char k[8];
        snprintf(k, sizeof k, "%d", sl->index);
        json_object *it;
        return json_object_object_get_ex(sec, k, &it) ? it : NULL;
    }
    if (json_object_is_type(sec, json_type_array)) {
        size_t p = pos_in_component(s, i);
        return p < json_object_array_length(sec) ? json_object_array_get_idx(sec, p) : NULL;
    }
    json_object *it;
    const char *key = sl->name[0] ? sl->name : "media";
    if (json_object_object_get_ex(sec, key, &it))
        return it;
    return NULL;
}

void parammap_slot_label(const struct cloudapi_slot *s, char *out, size_t len)
{
    static const char *media[] = {"text", "image", "document", "video", "payload", "coupon"};
    const char *m = (unsigned)s->type < 6 ? media[s->type] : "value";
    if (s->component == CLOUDAPI_C_BUTTON) {
        if (s->name[0])
            snprintf(out, len, "button %d {{%s}}", s->index, s->name);
        else
            snprintf(out, len, "button %d %s", s->index, m);
    } else if (s->name[0]) {
        snprintf(out, len, "%s {{%s}}", sec_name(s->component), s->name);
    } else {
        snprintf(out, len, "%s %s", sec_name(s->component), m);
    }
}

int parammap_check(json_object *map, const struct cloudapi_slots *s, char *err, size_t errlen)
{
    char label[96];
    for (size_t i = 0; i < s->n; i++) {
        if (!parammap_item(map, s, i)) {
            parammap_slot_label(&s->v[i], label, sizeof label);
            snprintf(err, errlen, "%s has no value in the mapping", label);
            return -1;
        }
    }
    /* Items that no slot reads are mistakes too (a body with 4 values for 3 placeholders). */
    static const char *secs[] = {"header", "body"};
    for (int k = 0; k < 2; k++) {
        json_object *sec;
        if (!map || !json_object_object_get_ex(map, secs[k], &sec))
            continue;
        enum cloudapi_ctype ct = k == 0 ? CLOUDAPI_C_HEADER : CLOUDAPI_C_BODY;
        size_t have = 0;
        for (size_t i = 0; i < s->n; i++)
            have += s->v[i].component == ct;
        if (json_object_is_type(sec, json_type_array)) {
            if (json_object_array_length(sec) > have) {
                snprintf(err, errlen,
                         "the template's %s has %zu parameter%s; the mapping gives %zu", secs[k],
                         have, have == 1 ? "" : "s", json_object_array_length(sec));
                return -1;
            }
        } else {
            json_object_object_foreach(sec, name, v)
            {
                (void)v;
                int found = 0;
                for (size_t i = 0; i < s->n && !found; i++)
                    found = s->v[i].component == ct &&
                            strcmp(s->v[i].name[0] ? s->v[i].name : "media", name) == 0;
                if (!found) {
                    snprintf(err, errlen, "the template's %s has no parameter {{%s}}", secs[k],
                             name);
                    return -1;
                }
            }
        }
    }
    json_object *btn;
    if (map && json_object_object_get_ex(map, "buttons", &btn)) {
        json_object_object_foreach(btn, k, v)
        {
            (void)v;
            int found = 0;
            for (size_t i = 0; i < s->n && !found; i++)
                found = s->v[i].component == CLOUDAPI_C_BUTTON && s->v[i].index == atoi(k);
            if (!found) {
                snprintf(err, errlen, "the template's button %s takes no parameter", k);
                return -1;
            }
        }
    }
    return 0;
}

static const char *item_str(json_object *it, const char *key)
{
    json_object *v;
    if (it && json_object_object_get_ex(it, key, &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

int parammap_values(json_object *map, const struct cloudapi_slots *s, json_object *vars,
                    const char **values, char *err, size_t errlen)
{
    return parammap_values_col(map, s, vars, values, err, errlen, NULL);
}

int parammap_values_col(json_object *map, const struct cloudapi_slots *s, json_object *vars,
                        const char **values, char *err, size_t errlen, const char **column)
{
    char label[96];
    if (column)
        *column = NULL;
    for (size_t i = 0; i < s->n; i++) {
        json_object *it = parammap_item(map, s, i);
        const char *v = item_str(it, "value");
        if (!v) {
            const char *col = item_str(it, "column");
            json_object *cell;
            if (col && vars && json_object_object_get_ex(vars, col, &cell) &&
                json_object_is_type(cell, json_type_string) && json_object_get_string_len(cell) > 0)
                v = json_object_get_string(cell);
            else
                v = item_str(it, "fallback");
        }
        if (!v) {
            parammap_slot_label(&s->v[i], label, sizeof label);
            const char *col = item_str(it, "column");
            if (col && column)
                *column = col;
            if (col)
                snprintf(err, errlen, "%s: no value in column '%s' and no fallback", label, col);
            else
                snprintf(err, errlen, "%s has no value in the mapping", label);
            return -1;
        }
        values[i] = v;
    }
    return 0;
}

static void add_columns(json_object *it, const char **cols, const char **fbs, size_t max, size_t *n)
{
    const char *c = item_str(it, "column"), *fb = item_str(it, "fallback");
    if (!c)
        return;
    for (size_t k = 0; k < *n; k++) {
        if (strcmp(cols[k], c) == 0) {
            if (!fbs[k])
                fbs[k] = fb;
            return;
        }
    }
    if (*n < max) {
        cols[*n] = c;
        fbs[*n] = fb;
        (*n)++;
    }
}

size_t parammap_columns(json_object *map, const char **cols, const char **fallbacks, size_t max)
{
    size_t n = 0;
    static const char *secs[] = {"header", "body", "buttons"};
    for (int k = 0; k < 3; k++) {
        json_object *sec;
        if (!map || !json_object_object_get_ex(map, secs[k], &sec))
            continue;
        if (json_object_is_type(sec, json_type_array)) {
            for (size_t i = 0; i < json_object_array_length(sec); i++)
                add_columns(json_object_array_get_idx(sec, i), cols, fallbacks, max, &n);
        } else if (json_object_is_type(sec, json_type_object)) {
            json_object_object_foreach(sec, key, v)
            {
                (void)key;
                add_columns(v, cols, fallbacks, max, &n);
            }
        }
    }
    return n;
}

json_object *parammap_body_params(json_object *map, const struct cloudapi_slots *s)
{
    json_object *out = json_object_new_array(), *sec;
    if (!map || !json_object_object_get_ex(map, "body", &sec))
        return out;
    if (s) {
        for (size_t i = 0; i < s->n; i++) {
            if (s->v[i].component != CLOUDAPI_C_BODY)
                continue;
            json_object *it = parammap_item(map, s, i);
            if (it)
                json_object_array_add(out, json_object_get(it));
        }
        return out;
    }
    if (json_object_is_type(sec, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(sec); i++)
            json_object_array_add(out, json_object_get(json_object_array_get_idx(sec, i)));
    } else {
        json_object_object_foreach(sec, k, v)
        {
            (void)k;
            json_object_array_add(out, json_object_get(v));
        }
    }
    return out;
}
