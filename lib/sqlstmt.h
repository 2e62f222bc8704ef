/* The statements of a domain module, by name, so tools and tests can EXPLAIN exactly what
 * the program runs (pregonctl sql-explain; tests/integration/test_worker.py). */
#ifndef PREGON_SQLSTMT_H
#define PREGON_SQLSTMT_H

#include <json-c/json.h>

struct db;

/* shape: one letter per parameter, in order: 'i' integer, 's' string, 'L' the id list of an
 * idlist statement (its "%s"; lib/idlist.h). */
struct sql_statement {
    const char *name;
    const char *sql;
    const char *shape;
};

/* Every module's statements (queue, sendlog, campaign_store), NULL-terminated by name. */
const struct sql_statement *sql_statement_find(const char *name);
/* Calls fn for each known statement. */
void sql_statement_each(void (*fn)(const struct sql_statement *st, void *ctx), void *ctx);

/* Runs EXPLAIN for st with args (a JSON array following st->shape; an 'L' takes an array of
 * integers) and sets *out to an array of the plan's rows (objects by column name; caller
 * puts it). Returns a db_rc; on a bad argument list DB_ERR with *out NULL. */
int sql_explain(struct db *db, const struct sql_statement *st, json_object *args,
                json_object **out);

#endif
