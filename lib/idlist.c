/* Statements over a padded list of ids (lib/idlist.h). */
#include "idlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rounds n up to a power of two so IN lists reuse a few statements. */
static size_t pad_n(size_t n)
{
    size_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

char *idlist_sql(const char *fmt, size_t n)
{
    size_t pn = pad_n(n);
    char *q = malloc(pn * 2 + 1);
    if (!q)
        return NULL;
    for (size_t i = 0; i < pn; i++) {
        q[2 * i] = '?';
        q[2 * i + 1] = ',';
    }
    q[pn * 2 - 1] = '\0';
    char *sql = malloc(strlen(fmt) + strlen(q) + 1);
    if (sql)
        sprintf(sql, fmt, q);
    free(q);
    return sql;
}

int idlist_exec(struct db *db, const char *fmt, const db_arg *pre, size_t npre,
                const long long *ids, size_t n, const db_arg *post, size_t npost,
                struct db_res *res, struct db_rows *rows)
{
    if (rows)
        memset(rows, 0, sizeof *rows);
    if (n == 0)
        return DB_ERR;
    size_t pn = pad_n(n);
    char *sql = idlist_sql(fmt, n);
    db_arg *args = calloc(npre + pn + npost + 1, sizeof *args);
    int rc = DB_ERR;
    if (!sql || !args)
        goto out;
    size_t a = 0;
    for (size_t i = 0; i < npre; i++)
        args[a++] = pre[i];
    for (size_t i = 0; i < pn; i++)
        args[a++] = DB_INT(ids[i < n ? i : n - 1]);
    for (size_t i = 0; i < npost; i++)
        args[a++] = post[i];
    rc = rows ? db_query(db, sql, args, a, rows) : db_exec(db, sql, args, a, res);
out:
    free(sql);
    free(args);
    return rc;
}
