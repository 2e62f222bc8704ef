/* A fetched result's accessors (lib/db.h): they read struct db_rows only, never the
 * connection, so they live apart from lib/db.c's connection, statement and transaction code. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

void db_rows_free(struct db_rows *rows)
{
    if (!rows)
        return;
    free(rows->v);
    free(rows->len);
    free(rows->names);
    free(rows->arena);
    memset(rows, 0, sizeof *rows);
}

const char *db_val(const struct db_rows *rows, size_t r, size_t c)
{
    if (r >= rows->nrows || c >= rows->ncols)
        return NULL;
    return rows->v[r * rows->ncols + c];
}

long long db_int(const struct db_rows *rows, size_t r, size_t c, long long dflt)
{
    const char *v = db_val(rows, r, c);
    if (!v)
        return dflt;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v)
        return dflt;
    return x;
}

int db_col(const struct db_rows *rows, const char *name)
{
    for (size_t c = 0; c < rows->ncols; c++)
        if (strcmp(rows->names[c], name) == 0)
            return (int)c;
    return -1;
}
