/* LOAD DATA LOCAL for lib/db.c's db_load_stream: the client serves one named stream, only
 * while the statement that asked for it runs, and refuses any other file the server asks for.
 * Private to lib/db*.c. */
#ifndef PREGON_DB_INFILE_H
#define PREGON_DB_INFILE_H

#include <mysql.h>

#include "db.h"

struct db_infile {
    const char *name; /* the stream's name in the statement; NULL: none served */
    db_stream_fn fn;
    void *ctx;
    int started, aborted;
    char err[256];
};

/* Connector/C's LOCAL INFILE handler on m, reading s (which must outlive m). */
void db_infile_install(MYSQL *m, struct db_infile *s);

#endif
