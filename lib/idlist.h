/* Statements over a list of ids ("WHERE id IN (...)"): the list is padded to a power of two
 * by repeating its last id, so a few statement texts serve every length and each is prepared
 * once per connection (lib/db.h). Used by the domain modules (lib/queue.c, lib/sendlog.c). */
#ifndef PREGON_IDLIST_H
#define PREGON_IDLIST_H

#include <stddef.h>

#include "db.h"

#define IDLIST_MAX 1000 /* the longest list one statement takes */

/* Runs fmt (with one "%s" where the "?,?,..." list goes) over ids[0..n-1] (n >= 1): pre
 * arguments come before the list, post after it. With rows it queries, else it executes
 * (res may be NULL). Returns a db_rc; rows, when given, is always initialised. */
int idlist_exec(struct db *db, const char *fmt, const db_arg *pre, size_t npre,
                const long long *ids, size_t n, const db_arg *post, size_t npost,
                struct db_res *res, struct db_rows *rows);

/* The statement text idlist_exec runs for n ids, malloc'd (for EXPLAIN); NULL when out of
 * memory. */
char *idlist_sql(const char *fmt, size_t n);

#endif
