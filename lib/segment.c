/* Segments: one definition, checked once, one condition on contacts (lib/segment.h). */
#include "segment.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "apival.h"

static int fail(struct segment_error *err, const char *field, const char *fmt, ...)
{
    va_list ap;
    snprintf(err->field, sizeof err->field, "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_tags(json_object *arr, const char *field, const char **out, size_t *n,
                      struct segment_error *err)
{
    *n = 0;
    if (!arr)
        return 0;
    if (!json_object_is_type(arr, json_type_array) ||
        json_object_array_length(arr) > SEGMENT_MAX_TAGS)
        return fail(err, field, "%s is an array of at most %d tags", field, SEGMENT_MAX_TAGS);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *t = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(t, json_type_string) || json_object_get_string_len(t) == 0 ||
            json_object_get_string_len(t) > 64)
            return fail(err, field, "%s[%zu] is a tag of 1 to 64 characters", field, i);
        out[(*n)++] = json_object_get_string(t);
    }
    return 0;
}

/* A key becomes the path $."key": no character that would end or escape the quoted name. */
static int key_ok(const char *k, size_t len)
{
    if (len == 0 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (k[i] == '"' || k[i] == '\\' || (unsigned char)k[i] < 0x20)
            return 0;
    return 1;
}

static int parse_attrs(json_object *arr, struct segment *s, struct segment_error *err)
{
    static const char *const ops[] = {"equals", "contains", "empty"};
    if (!arr)
        return 0;
    if (!json_object_is_type(arr, json_type_array) ||
        json_object_array_length(arr) > SEGMENT_MAX_ATTRS)
        return fail(err, "attributes", "attributes is an array of at most %d conditions",
                    SEGMENT_MAX_ATTRS);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *a = json_object_array_get_idx(arr, i), *k, *op, *v = NULL;
        char f[48];
        snprintf(f, sizeof f, "attributes[%zu]", i);
        if (!json_object_is_type(a, json_type_object))
            return fail(err, f, "%s is an object with key, op and value", f);
        json_object_object_foreach(a, name, val)
        {
            (void)val;
            if (strcmp(name, "key") && strcmp(name, "op") && strcmp(name, "value"))
                return fail(err, f, "%s has key, op and value, not %.40s", f, name);
        }
        struct segment_attr *x = &s->attrs[s->nattrs];
        snprintf(f, sizeof f, "attributes[%zu].key", i);
        if (!json_object_object_get_ex(a, "key", &k) || !json_object_is_type(k, json_type_string) ||
            !key_ok(json_object_get_string(k), (size_t)json_object_get_string_len(k)))
            return fail(err, f, "%s is 1 to 64 bytes without quotes or backslashes", f);
        snprintf(x->path, sizeof x->path, "$.\"%s\"", json_object_get_string(k));
        snprintf(f, sizeof f, "attributes[%zu].op", i);
        size_t o = 0;
        const char *ops_in =
            json_object_object_get_ex(a, "op", &op) && json_object_is_type(op, json_type_string)
                ? json_object_get_string(op)
                : "";
        while (o < 3 && strcmp(ops_in, ops[o]))
            o++;
        if (o == 3)
            return fail(err, f, "%s is equals, contains or empty", f);
        x->op = (enum segment_op)o;
        snprintf(f, sizeof f, "attributes[%zu].value", i);
        json_object_object_get_ex(a, "value", &v);
        if (x->op == SEGMENT_EMPTY) {
            if (v)
                return fail(err, f, "%s is not given with empty", f);
            x->value = NULL;
        } else {
            if (!v || !json_object_is_type(v, json_type_string) ||
                json_object_get_string_len(v) > 256 ||
                (x->op == SEGMENT_CONTAINS && json_object_get_string_len(v) == 0))
                return fail(err, f, "%s is text of up to 256 bytes (not empty with contains)", f);
            x->value = json_object_get_string(v);
        }
        s->nattrs++;
    }
    return 0;
}

static int parse_campaigns(json_object *arr, struct segment *s, struct segment_error *err)
{
    if (!arr)
        return 0;
    if (!json_object_is_type(arr, json_type_array) ||
        json_object_array_length(arr) > SEGMENT_MAX_CAMPAIGNS)
        return fail(err, "not_in_campaigns", "not_in_campaigns is an array of at most %d ids",
                    SEGMENT_MAX_CAMPAIGNS);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *c = json_object_array_get_idx(arr, i);
        long long id = json_object_is_type(c, json_type_int) ? json_object_get_int64(c) : 0;
        if (id <= 0) {
            char f[48];
            snprintf(f, sizeof f, "not_in_campaigns[%zu]", i);
            return fail(err, f, "%s is a campaign id", f);
        }
        s->not_in[s->nnot_in++] = id;
    }
    return 0;
}

int segment_parse(json_object *def, struct segment *s, struct segment_error *err)
{
    static const char *const known[] = {"include_tags", "exclude_tags",  "match",
                                        "attributes",   "consent_since", "not_in_campaigns"};
    memset(s, 0, sizeof *s);
    memset(err, 0, sizeof *err);
    if (!def || !json_object_is_type(def, json_type_object))
        return fail(err, "definition", "the definition is a JSON object");
    json_object_object_foreach(def, name, val)
    {
        (void)val;
        size_t k = 0;
        while (k < sizeof known / sizeof known[0] && strcmp(name, known[k]))
            k++;
        if (k == sizeof known / sizeof known[0])
            return fail(err, "definition", "%.40s is not part of a segment", name);
    }
    json_object *v;
    if (parse_tags(json_object_object_get_ex(def, "include_tags", &v) ? v : NULL, "include_tags",
                   s->include, &s->ninclude, err) < 0 ||
        parse_tags(json_object_object_get_ex(def, "exclude_tags", &v) ? v : NULL, "exclude_tags",
                   s->exclude, &s->nexclude, err) < 0)
        return -1;
    if (json_object_object_get_ex(def, "match", &v)) {
        const char *m = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        if (strcmp(m, "any") && strcmp(m, "all"))
            return fail(err, "match", "match is any or all");
        s->all = strcmp(m, "all") == 0;
    }
    if (parse_attrs(json_object_object_get_ex(def, "attributes", &v) ? v : NULL, s, err) < 0 ||
        parse_campaigns(json_object_object_get_ex(def, "not_in_campaigns", &v) ? v : NULL, s, err) <
            0)
        return -1;
    if (json_object_object_get_ex(def, "consent_since", &v) &&
        (!json_object_is_type(v, json_type_string) ||
         apival_parse_time(json_object_get_string(v), s->consent_since, NULL) < 0))
        return fail(err, "consent_since",
                    "consent_since is a time with its offset, like 2026-03-01T00:00:00-03:00");
    s->def = json_object_get(def);
    return 0;
}

void segment_free(struct segment *s)
{
    json_object_put(s->def);
    s->def = NULL;
}

/* Appends text to sql at *at; -1 when it does not fit. */
static int put(char *sql, size_t len, size_t *at, const char *text)
{
    size_t n = strlen(text);
    if (*at + n >= len)
        return -1;
    memcpy(sql + *at, text, n + 1);
    *at += n;
    return 0;
}

/* " (?,?,?)" for n values */
static int put_list(char *sql, size_t len, size_t *at, size_t n)
{
    int rc = put(sql, len, at, "(");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put(sql, len, at, i ? ",?" : "?");
    return rc == 0 ? put(sql, len, at, ")") : -1;
}

int segment_where(const struct segment *s, char *sql, size_t len, db_arg *args, size_t *na)
{
    size_t at = strlen(sql);
    int rc = 0;
    if (s->ninclude) {
        rc |= put(sql, len, &at,
                  s->all ? " AND (SELECT COUNT(DISTINCT t.tag) FROM contact_tags t WHERE "
                           "t.contact_id = c.id AND t.tag IN "
                         : " AND EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = "
                           "c.id AND t.tag IN ");
        rc |= put_list(sql, len, &at, s->ninclude);
        rc |= put(sql, len, &at, s->all ? ") = ?" : ")");
        for (size_t i = 0; i < s->ninclude; i++)
            args[(*na)++] = DB_STR(s->include[i]);
        if (s->all)
            args[(*na)++] = DB_INT((long long)s->ninclude);
    }
    if (s->nexclude) {
        rc |= put(sql, len, &at,
                  " AND NOT EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id "
                  "AND t.tag IN ");
        rc |= put_list(sql, len, &at, s->nexclude);
        rc |= put(sql, len, &at, ")");
        for (size_t i = 0; i < s->nexclude; i++)
            args[(*na)++] = DB_STR(s->exclude[i]);
    }
    for (size_t i = 0; i < s->nattrs; i++) {
        const struct segment_attr *x = &s->attrs[i];
        /* a JSON null, a missing key and "" are all empty; numbers compare as their text */
        switch (x->op) {
        case SEGMENT_EQUALS:
            rc |= put(sql, len, &at, " AND JSON_UNQUOTE(JSON_EXTRACT(c.attributes, ?)) = ?");
            args[(*na)++] = DB_STR(x->path);
            args[(*na)++] = DB_STR(x->value);
            break;
        case SEGMENT_CONTAINS:
            rc |= put(sql, len, &at,
                      " AND LOCATE(LOWER(?), LOWER(JSON_UNQUOTE(JSON_EXTRACT(c.attributes, ?)))) "
                      "> 0");
            args[(*na)++] = DB_STR(x->value);
            args[(*na)++] = DB_STR(x->path);
            break;
        case SEGMENT_EMPTY:
            rc |= put(sql, len, &at,
                      " AND (JSON_EXTRACT(c.attributes, ?) IS NULL OR "
                      "JSON_TYPE(JSON_EXTRACT(c.attributes, ?)) = 'NULL' OR "
                      "JSON_UNQUOTE(JSON_EXTRACT(c.attributes, ?)) = '')");
            for (int k = 0; k < 3; k++)
                args[(*na)++] = DB_STR(x->path);
            break;
        }
    }
    if (s->consent_since[0]) {
        rc |= put(sql, len, &at, " AND c.consent_at >= ?");
        args[(*na)++] = DB_STR(s->consent_since);
    }
    if (s->nnot_in) {
        rc |= put(sql, len, &at,
                  " AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.phone = c.phone AND "
                  "r.campaign_id IN ");
        rc |= put_list(sql, len, &at, s->nnot_in);
        rc |= put(sql, len, &at, ")");
        for (size_t i = 0; i < s->nnot_in; i++)
            args[(*na)++] = DB_INT(s->not_in[i]);
    }
    return rc ? -1 : 0;
}

int segment_count(struct db *db, const struct segment *s, long long *total, long long *consented)
{
    char sql[8192] = "SELECT COUNT(*), COALESCE(SUM(c.consent_at IS NOT NULL), 0) FROM contacts c "
                     "WHERE 1 = 1";
    db_arg args[SEGMENT_MAX_ARGS];
    size_t na = 0;
    struct db_rows r;
    *total = *consented = 0;
    if (segment_where(s, sql, sizeof sql, args, &na) < 0)
        return DB_ERR;
    int rc = db_query(db, sql, args, na, &r);
    if (rc != DB_OK)
        return rc;
    *total = db_int(&r, 0, 0, 0);
    *consented = db_int(&r, 0, 1, 0);
    db_rows_free(&r);
    return DB_OK;
}

/* ---- saved segments ----------------------------------------------------------------------- */

int segment_store_list(struct db *db, struct db_rows *rows)
{
    return db_query(db, "SELECT " SEGMENT_COLUMNS " FROM segments ORDER BY name", DB_NOARGS, rows);
}

int segment_store_get(struct db *db, long long id, struct db_rows *rows, int *found)
{
    int rc = db_query(db, "SELECT " SEGMENT_COLUMNS " FROM segments WHERE id = ?",
                      DB_ARGS(DB_INT(id)), rows);
    *found = rc == DB_OK && rows->nrows > 0;
    return rc;
}

/* A name another segment has: the unique key says so at the write. */
static int name_taken(struct db *db, const char *name, long long except, int *dup)
{
    struct db_rows r;
    int rc = db_query(db, "SELECT 1 FROM segments WHERE name = ? AND id <> ?",
                      DB_ARGS(DB_STR(name), DB_INT(except)), &r);
    if (rc != DB_OK)
        return rc;
    *dup = r.nrows > 0;
    db_rows_free(&r);
    return DB_OK;
}

int segment_store_insert(struct db *db, const char *name, const char *def, const char *user,
                         long long *id, int *dup)
{
    struct db_res res;
    *id = 0;
    int rc = name_taken(db, name, 0, dup);
    if (rc != DB_OK || *dup)
        return rc;
    rc = db_exec(db, "INSERT INTO segments (name, definition, created_by) VALUES (?, ?, ?)",
                 DB_ARGS(DB_STR(name), DB_STR(def), DB_STR(user)), &res);
    if (rc == DB_OK)
        *id = (long long)res.insert_id;
    return rc;
}

int segment_store_update(struct db *db, long long id, const char *name, const char *def, int *found,
                         int *dup)
{
    struct db_res res;
    *dup = 0;
    int rc = name ? name_taken(db, name, id, dup) : DB_OK;
    if (rc != DB_OK || *dup)
        return rc;
    rc = db_exec(db,
                 "UPDATE segments SET name = COALESCE(?, name), definition = COALESCE(?, "
                 "definition), updated_at = NOW(3) WHERE id = ?",
                 DB_ARGS(DB_STR(name), DB_STR(def), DB_INT(id)), &res);
    *found = rc == DB_OK && res.affected > 0;
    return rc;
}

int segment_store_delete(struct db *db, long long id, int *found)
{
    struct db_res res;
    int rc = db_exec(db, "DELETE FROM segments WHERE id = ?", DB_ARGS(DB_INT(id)), &res);
    *found = rc == DB_OK && res.affected > 0;
    return rc;
}
