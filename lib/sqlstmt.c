/* Named statements and their EXPLAIN (lib/sqlstmt.h). */
#include "sqlstmt.h"

#include <stdlib.h>
#include <string.h>

#include "campaign_store.h"
#include "db.h"
#include "idlist.h"
#include "person.h"
#include "queue.h"
#include "recipients_read.h"
#include "sendlog.h"

/* Statements other modules own: the worker's opt-out check, the API's recipient lists. */
static const struct sql_statement borrowed[] = {
    {"person.blocked", person_sql_blocked, "s"},
    {"recipients_page_by_status", RECIPIENTS_PAGE_BY_STATUS_SQL, "issssssi"},
    {"recipients_page", RECIPIENTS_PAGE_SQL, "isssi"},
    {NULL, NULL, NULL},
};

static const struct sql_statement *const modules[] = {
    borrowed,
    queue_statements,
    sendlog_statements,
    campaign_store_worker_statements,
};

void sql_statement_each(void (*fn)(const struct sql_statement *st, void *ctx), void *ctx)
{
    for (size_t m = 0; m < sizeof modules / sizeof modules[0]; m++)
        for (const struct sql_statement *st = modules[m]; st->name; st++)
            fn(st, ctx);
}

const struct sql_statement *sql_statement_find(const char *name)
{
    for (size_t m = 0; m < sizeof modules / sizeof modules[0]; m++)
        for (const struct sql_statement *st = modules[m]; st->name; st++)
            if (strcmp(st->name, name) == 0)
                return st;
    return NULL;
}

/* One argument of the shape from a JSON value (strings stay owned by args). */
static int explain_arg(char kind, json_object *v, db_arg *out)
{
    if (kind == 'i' && json_object_is_type(v, json_type_int)) {
        *out = DB_INT(json_object_get_int64(v));
        return 0;
    }
    if (kind == 's' && json_object_is_type(v, json_type_string)) {
        *out = DB_STRN(json_object_get_string(v), (size_t)json_object_get_string_len(v));
        return 0;
    }
    if (json_object_is_type(v, json_type_null)) {
        *out = DB_NULL;
        return 0;
    }
    return -1;
}

/* The plan's rows as objects by column name. */
static json_object *explain_rows(const struct db_rows *r)
{
    json_object *out = json_object_new_array();
    for (size_t i = 0; out && i < r->nrows; i++) {
        json_object *o = json_object_new_object();
        if (!o || json_object_array_add(out, o) != 0) {
            json_object_put(o);
            json_object_put(out);
            return NULL;
        }
        for (size_t c = 0; c < r->ncols; c++) {
            const char *v = db_val(r, i, c);
            json_object_object_add(o, r->names[c], v ? json_object_new_string(v) : NULL);
        }
    }
    return out;
}

int sql_explain(struct db *db, const struct sql_statement *st, json_object *args, json_object **out)
{
    *out = NULL;
    size_t nshape = strlen(st->shape);
    if (!json_object_is_type(args, json_type_array) || json_object_array_length(args) != nshape)
        return DB_ERR;
    /* The list, when the shape has one, becomes the "?,?,..." of the statement. */
    size_t nlist = 0, total = 0;
    for (size_t i = 0; i < nshape; i++) {
        json_object *v = json_object_array_get_idx(args, i);
        if (st->shape[i] == 'L') {
            if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
                return DB_ERR;
            nlist = json_object_array_length(v);
        }
    }
    char *body = nlist ? idlist_sql(st->sql, nlist) : strdup(st->sql);
    size_t padded = 1;
    while (padded < nlist)
        padded <<= 1;
    total = nshape + (nlist ? padded : 0);
    db_arg *a = calloc(total + 1, sizeof *a);
    char *sql = body ? malloc(strlen(body) + 9) : NULL;
    int rc = body && a && sql ? DB_OK : DB_ERR;
    size_t k = 0;
    for (size_t i = 0; i < nshape && rc == DB_OK; i++) {
        json_object *v = json_object_array_get_idx(args, i);
        if (st->shape[i] != 'L') {
            rc = explain_arg(st->shape[i], v, &a[k++]) == 0 ? DB_OK : DB_ERR;
            continue;
        }
        for (size_t x = 0; x < padded && rc == DB_OK; x++) {
            json_object *e = json_object_array_get_idx(v, x < nlist ? x : nlist - 1);
            rc = explain_arg('i', e, &a[k++]) == 0 ? DB_OK : DB_ERR;
        }
    }
    if (rc == DB_OK) {
        strcpy(sql, "EXPLAIN ");
        strcat(sql, body);
        struct db_rows r;
        rc = db_query(db, sql, a, k, &r);
        if (rc == DB_OK) {
            *out = explain_rows(&r);
            db_rows_free(&r);
            if (!*out)
                rc = DB_ERR;
        }
    }
    free(body);
    free(sql);
    free(a);
    return rc;
}
