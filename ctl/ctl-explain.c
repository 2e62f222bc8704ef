/* sql-explain NAME ARGS-JSON: prints the query plan (EXPLAIN) of a named statement of the
 * domain layer, with the given arguments, as a JSON array of row objects keyed by EXPLAIN's
 * column names. The query-plan tests (tests/integration/test_audience.py) call it so they
 * check the statement the code runs, not a copy of it.
 *
 * The statements come from ctl_explain_table: one entry per statement, the text being the
 * lib module's named constant. Other modules extend it by adding their rows (name, text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "ctl.h"
#include "db.h"
#include "recipients_read.h"

struct ctl_explain_entry {
    const char *name; /* what the tests call it */
    const char *sql;  /* the lib module's statement */
};

static const struct ctl_explain_entry ctl_explain_table[] = {
    /* lib/recipients_read.c: GET /api/campaigns/{id}/recipients */
    {"recipients_page_by_status", RECIPIENTS_PAGE_BY_STATUS_SQL},
    {"recipients_page", RECIPIENTS_PAGE_SQL},
};

#define MAX_ARGS 32

/* ARGS-JSON: an array of strings, integers and nulls, one per placeholder. */
static int parse_args(json_object *arr, db_arg *args, size_t *n)
{
    if (!arr || !json_object_is_type(arr, json_type_array) ||
        json_object_array_length(arr) > MAX_ARGS)
        return -1;
    *n = json_object_array_length(arr);
    for (size_t i = 0; i < *n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (!v)
            args[i] = DB_NULL;
        else if (json_object_is_type(v, json_type_int))
            args[i] = DB_INT(json_object_get_int64(v));
        else if (json_object_is_type(v, json_type_string))
            args[i] = DB_STR(json_object_get_string(v));
        else
            return -1;
    }
    return 0;
}

static json_object *rows_json(const struct db_rows *r)
{
    json_object *out = json_object_new_array();
    for (size_t i = 0; i < r->nrows; i++) {
        json_object *o = json_object_new_object();
        for (size_t c = 0; c < r->ncols; c++) {
            const char *v = db_val(r, i, c);
            json_object_object_add(o, r->names[c], v ? json_object_new_string(v) : NULL);
        }
        json_object_array_add(out, o);
    }
    return out;
}

int ctl_sql_explain(const struct config *cfg, int argc, char **argv)
{
    const struct ctl_explain_entry *e = NULL;
    for (size_t i = 0; argc == 3 && i < sizeof ctl_explain_table / sizeof ctl_explain_table[0]; i++)
        if (strcmp(ctl_explain_table[i].name, argv[1]) == 0)
            e = &ctl_explain_table[i];
    json_object *in = argc == 3 ? json_tokener_parse(argv[2]) : NULL;
    db_arg args[MAX_ARGS];
    size_t nargs = 0;
    if (!e || parse_args(in, args, &nargs) < 0) {
        fprintf(stderr, "usage: pregonctl sql-explain NAME ARGS-JSON (names:");
        for (size_t i = 0; i < sizeof ctl_explain_table / sizeof ctl_explain_table[0]; i++)
            fprintf(stderr, " %s", ctl_explain_table[i].name);
        fprintf(stderr, ")\n");
        json_object_put(in);
        return 2;
    }
    struct db *db = db_open(cfg);
    size_t len = strlen(e->sql) + 9;
    char *sql = malloc(len);
    struct db_rows r;
    int rc = 1;
    if (!db || !sql || db_ensure(db) != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db ? db_error(db) : "out of memory");
    } else {
        snprintf(sql, len, "EXPLAIN %s", e->sql);
        if (db_query(db, sql, args, nargs, &r) != DB_OK) {
            fprintf(stderr, "pregonctl: %s: %s\n", e->name, db_error(db));
        } else {
            json_object *o = rows_json(&r);
            printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
            json_object_put(o);
            db_rows_free(&r);
            rc = 0;
        }
    }
    free(sql);
    db_close(db);
    json_object_put(in);
    return rc;
}
