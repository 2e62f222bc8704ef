/* The CSV source of an audience import (lib/recipients_import.h): the header (a phone column
 * under one of its names, an optional consent column, the template parameters' columns), each
 * row's checks and its vars (every other column), read chunk by chunk from the body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apival.h"
#include "db.h"
#include "recipients_import_impl.h"

static const char *phone_aliases[] = {"phone",  "telefono", "teléfono", "phone_number",
                                      "numero", "número",   "celular",  "whatsapp",
                                      "movil",  "móvil",    NULL};
static const char *consent_aliases[] = {"consent", "consentimiento", "opt_in",
                                        "optin",   "acepta",         NULL};

static int is_var_column(const struct recipients_import *u, size_t i)
{
    return (int)i != u->phone_idx && (int)i != u->consent_idx && u->cols[i][0];
}

/* Sets up the per-row vars builder (see struct upload) when the column names allow it. */
static int vars_prepare(struct recipients_import *u)
{
    for (size_t i = 0; i < u->ncols; i++)
        for (size_t j = i + 1; j < u->ncols; j++)
            if (is_var_column(u, i) && is_var_column(u, j) && strcmp(u->cols[i], u->cols[j]) == 0)
                return 0;
    u->keys = calloc(u->ncols + 1, sizeof *u->keys);
    u->vstr = json_object_new_string("");
    if (!u->keys || !u->vstr)
        return ri_fail(u, 500, "internal", NULL, "out of memory");
    for (size_t i = 0; i < u->ncols; i++) {
        json_object *k = json_object_new_string(u->cols[i]);
        size_t len = 0;
        const char *t = k ? json_object_to_json_string_length(k, VARS_FLAGS, &len) : NULL;
        u->keys[i] = t ? malloc(len + 2) : NULL;
        if (u->keys[i]) {
            memcpy(u->keys[i], t, len);
            memcpy(u->keys[i] + len, ":", 2);
        }
        json_object_put(k);
        if (!u->keys[i])
            return ri_fail(u, 500, "internal", NULL, "out of memory");
    }
    u->vars_fast = 1;
    return 0;
}

static int vbuf_add(struct recipients_import *u, size_t *len, const char *s, size_t n)
{
    if (*len + n + 1 > u->vcap) {
        size_t cap = u->vcap ? u->vcap : 1024;
        while (cap < *len + n + 1)
            cap *= 2;
        char *b = realloc(u->vbuf, cap);
        if (!b)
            return -1;
        u->vbuf = b;
        u->vcap = cap;
    }
    memcpy(u->vbuf + *len, s, n);
    *len += n;
    u->vbuf[*len] = '\0';
    return 0;
}

/* The row's vars as JSON text, the same text json-c writes for the object of its columns.
 * Caller frees. NULL when out of memory. */
static char *vars_text(struct recipients_import *u, size_t n, char **fields, const size_t *lens)
{
    if (!u->vars_fast) {
        json_object *vars = json_object_new_object();
        for (size_t i = 0; i < n && i < u->ncols; i++) {
            if (!is_var_column(u, i) || lens[i] == 0)
                continue;
            json_object_object_add(vars, u->cols[i],
                                   json_object_new_string_len(fields[i], (int)lens[i]));
        }
        char *t = strdup(json_object_to_json_string_ext(vars, VARS_FLAGS));
        json_object_put(vars);
        return t;
    }
    size_t len = 0;
    int bad = vbuf_add(u, &len, "{", 1), any = 0;
    for (size_t i = 0; i < n && i < u->ncols && !bad; i++) {
        if (!is_var_column(u, i) || lens[i] == 0)
            continue;
        size_t elen = 0;
        const char *esc = NULL;
        if (json_object_set_string_len(u->vstr, fields[i], (int)lens[i]))
            esc = json_object_to_json_string_length(u->vstr, VARS_FLAGS, &elen);
        bad = !esc || (any && vbuf_add(u, &len, ",", 1)) ||
              vbuf_add(u, &len, u->keys[i], strlen(u->keys[i])) || vbuf_add(u, &len, esc, elen);
        any = 1;
    }
    if (bad || vbuf_add(u, &len, "}", 1))
        return NULL;
    return strndup(u->vbuf, len);
}

static int take_header(struct recipients_import *u, size_t line, size_t n, char **fields,
                       const size_t *lens)
{
    char msg[256];
    /* Every name is checked before any is kept: u->cols[0..ncols) are always set (issue #17:
     * a refused header left NULL names behind, and the answer's "columns" read them). */
    if (csvin_header_check(fields, lens, n, line, msg, sizeof msg) != 0)
        return ri_fail(u, 400, "invalid_csv", "body", msg);
    u->cols = calloc(n + 1, sizeof *u->cols);
    if (!u->cols)
        return ri_fail(u, 500, "internal", NULL, "out of memory");
    u->phone_idx = u->consent_idx = -1;
    for (size_t i = 0; i < n; i++) {
        /* Column names are trimmed; they become the keys of the recipient's variables. */
        const char *s = fields[i];
        size_t len = strlen(s);
        while (len && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        u->cols[i] = strndup(s, len > 64 ? 64 : len);
        if (!u->cols[i])
            return ri_fail(u, 500, "internal", NULL, "out of memory");
        u->ncols = i + 1;
    }
    for (int a = 0; phone_aliases[a] && u->phone_idx < 0; a++)
        u->phone_idx = csvin_header_index(fields, n, phone_aliases[a]);
    if (u->phone_idx < 0) {
        snprintf(msg, sizeof msg, "line %zu: the header has no phone column (phone, telefono, ...)",
                 line);
        return ri_fail(u, 422, "missing_column", "phone", msg);
    }
    for (int a = 0; consent_aliases[a] && u->consent_idx < 0; a++)
        u->consent_idx = csvin_header_index(fields, n, consent_aliases[a]);
    for (size_t k = 0; k < u->nneeds; k++)
        u->needs[k].idx = csvin_header_index(fields, n, u->needs[k].column);
    return vars_prepare(u);
}

static int on_row(void *ctx, size_t line, size_t n, char **fields, const size_t *lens)
{
    struct recipients_import *u = ctx;
    if (!u->have_header) {
        u->have_header = 1;
        return take_header(u, line, n, fields, lens);
    }
    u->rows++;
    for (size_t i = 0; i < n; i++) {
        if (!csvin_utf8_valid(fields[i], lens[i])) {
            ri_reject(u, line, NULL, "invalid_utf8", "the row is not valid UTF-8 text");
            return 0;
        }
        /* NUL is valid UTF-8 but no text: nothing a template could show */
        if (memchr(fields[i], 0, lens[i])) {
            ri_reject(u, line, NULL, "invalid_utf8", "the row holds a NUL byte, which is not text");
            return 0;
        }
    }
    if ((size_t)u->phone_idx >= n || lens[u->phone_idx] == 0) {
        ri_reject(u, line, NULL, "phone_missing", "the row has no phone number");
        return 0;
    }
    int err;
    struct pending_row *p = ri_take_phone(u, line, fields[u->phone_idx], lens[u->phone_idx], &err);
    if (!p)
        return err;
    int consent = 0;
    if (u->consent_idx >= 0 && (size_t)u->consent_idx < n) {
        consent = apival_consent(fields[u->consent_idx], lens[u->consent_idx]);
        if (consent == -1) {
            ri_reject(u, line, p->phone, "no_consent", "the consent column says no");
            return 0;
        }
    }
    for (size_t k = 0; k < u->nneeds; k++) {
        int idx = u->needs[k].idx;
        int empty = idx < 0 || (size_t)idx >= n || lens[idx] == 0;
        if (empty && !u->needs[k].fallback) {
            char msg[160];
            snprintf(msg, sizeof msg, "no value for the template parameter column '%s'",
                     u->needs[k].column);
            ri_reject_column(u, line, p->phone, "missing_param", msg, u->needs[k].column);
            return 0;
        }
    }
    p->consent = consent == 1;
    p->vars = vars_text(u, n, fields, lens);
    if (!p->vars)
        return ri_fail(u, 500, "internal", NULL, "out of memory");
    return ri_commit_row(u);
}

/* A row the CSV reader had to drop (a field over MAX_FIELD bytes, more than MAX_FIELDS
 * columns): rejected with its line like any other bad row, and the upload goes on. The header
 * names the columns, so without it nothing can be read: that stops the upload. */
static int on_skip(void *ctx, size_t line, int status, const char *what)
{
    struct recipients_import *u = ctx;
    char msg[160];
    if (!u->have_header) {
        snprintf(msg, sizeof msg, "line %zu: the header row is unusable (%s)", line, what);
        return ri_fail(u, 400, "invalid_csv", "body", msg);
    }
    u->rows++;
    snprintf(msg, sizeof msg, "the row is dropped: %s", what);
    ri_reject(u, line, NULL, status == CSVIN_ETOO_MANY ? "too_many_fields" : "field_too_long", msg);
    return 0;
}

/* Reads and parses the next chunk of the body. At its end, checks that the file had a header
 * and stores the last batch. Returns IN_MORE, IN_DONE, or IN_FAIL with the failure on u. */
int ri_csv_read_more(struct recipients_import *u)
{
    static char buf[1 << 16];
    int got = u->read(u->read_ctx, buf, sizeof buf);
    int rc;
    if (got > 0) {
        u->total += (size_t)got;
        if (u->total > u->body_limit) {
            ri_fail(u, 413, "body_too_large", "body", "the upload is too large");
            return IN_FAIL;
        }
        rc = csvin_feed(u->csv, buf, (size_t)got, on_row, u);
        if (u->failed_status)
            return IN_FAIL;
        if (rc == 0)
            return IN_MORE;
    } else {
        rc = csvin_finish(u->csv, on_row, u);
        if (u->failed_status)
            return IN_FAIL;
    }
    if (rc != 0) {
        ri_fail(u, 400, "invalid_csv", "body", csvin_error(u->csv));
        return IN_FAIL;
    }
    if (!u->have_header) {
        ri_fail(u, 400, "invalid_csv", "body",
                "line 1: the upload is empty: a header row is required");
        return IN_FAIL;
    }
    if (u->rows == 0) {
        ri_fail(u, 422, "no_rows", "body",
                "the file has a header row but no data rows: nothing to import");
        return IN_FAIL;
    }
    return ri_flush(u) < 0 ? IN_FAIL : IN_DONE;
}

int ri_csv_open(struct recipients_import *u)
{
    u->csv = csvin_new(MAX_FIELD, MAX_FIELDS);
    if (!u->csv)
        return -1;
    csvin_on_skip(u->csv, on_skip);
    return 0;
}

int recipients_import_csv(struct recipients_import *u, recipients_read_fn fn, void *ctx,
                          long long content_length, size_t body_limit)
{
    if (u->failed_status || !u->csv)
        return -1;
    u->read = fn;
    u->read_ctx = ctx;
    u->content_length = content_length;
    u->body_limit = body_limit;
    int st = ri_stream_choose(u);
    if (st < 0)
        return -1;
    if (st == 1 && ri_stream_upload(u) == 0)
        return u->failed_status ? -1 : 0;
    while (ri_csv_read_more(u) == IN_MORE)
        ;
    return u->failed_status ? -1 : 0;
}

json_object *recipients_import_csv_definition(const struct recipients_import *u)
{
    json_object *def = json_object_new_object();
    json_object_object_add(def, "bytes", json_object_new_int64((int64_t)u->total));
    char delim[2] = {u->csv ? csvin_delimiter(u->csv) : ',', 0};
    json_object_object_add(def, "delimiter", json_object_new_string(delim));
    json_object *cols = json_object_new_array();
    for (size_t i = 0; i < u->ncols; i++)
        json_object_array_add(cols, json_object_new_string(u->cols[i]));
    json_object_object_add(def, "columns", cols);
    return def;
}
