/* pregonctl sql-explain: the query plans of the statements the programs really run (the
 * named statements of lib/, lib/sqlstmt.h), for the query-plan tests and for a person
 * looking at a slow query. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ctl.h"
#include "db.h"
#include "sqlstmt.h"

static void list_one(const struct sql_statement *st, void *ctx)
{
    (void)ctx;
    printf("%s\t%s\t%s\n", st->name, st->shape, st->sql);
}

int ctl_sql_explain(const struct config *cfg, int argc, char **argv)
{
    if (argc == 1) {
        sql_statement_each(list_one, NULL);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: pregonctl sql-explain [NAME ARGS-JSON]\n");
        return 2;
    }
    const struct sql_statement *st = sql_statement_find(argv[1]);
    if (!st) {
        fprintf(stderr, "pregonctl: no statement %s (pregonctl sql-explain lists them)\n", argv[1]);
        return 2;
    }
    json_object *args = json_tokener_parse(argv[2]);
    if (!args) {
        fprintf(stderr, "pregonctl: ARGS-JSON is not JSON\n");
        return 2;
    }
    struct db *db = db_open(cfg);
    if (!db || db_ensure(db) != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db ? db_error(db) : "out of memory");
        db_close(db);
        json_object_put(args);
        return 1;
    }
    json_object *plan = NULL;
    int rc = sql_explain(db, st, args, &plan);
    if (rc != DB_OK)
        fprintf(stderr, "pregonctl: explain %s (arguments %s): %s\n", st->name, st->shape,
                db_error(db));
    else
        printf("%s\n", json_object_to_json_string_ext(plan, JSON_C_TO_STRING_PLAIN));
    json_object_put(plan);
    json_object_put(args);
    db_close(db);
    return rc == DB_OK ? 0 : 1;
}
