/* The LOAD DATA LOCAL stream (lib/db_infile.h). */
#include "db_infile.h"

#include <errmsg.h>
#include <stdio.h>
#include <string.h>

/* Connector/C's LOCAL INFILE callbacks: userdata is the struct db_infile. */
static int infile_init(void **ptr, const char *filename, void *userdata)
{
    struct db_infile *s = userdata;
    *ptr = s;
    if (!s->fn || s->started || !filename || strcmp(filename, s->name) != 0) {
        snprintf(s->err, sizeof s->err,
                 "LOAD DATA LOCAL refused: the server asked for a file this client does not serve");
        return 1;
    }
    s->started = 1;
    return 0;
}

static int infile_read(void *ptr, char *buf, unsigned int len)
{
    struct db_infile *s = ptr;
    if (!s->fn)
        return -1;
    int n = s->fn(s->ctx, buf, len);
    if (n < 0) {
        s->aborted = 1;
        snprintf(s->err, sizeof s->err, "the stream was aborted by its producer");
        return -1;
    }
    return n > (int)len ? -1 : n;
}

static void infile_end(void *ptr)
{
    (void)ptr;
}

static int infile_error(void *ptr, char *msg, unsigned int len)
{
    struct db_infile *s = ptr;
    snprintf(msg, len, "%s", s && s->err[0] ? s->err : "LOAD DATA LOCAL failed");
    return CR_UNKNOWN_ERROR;
}

void db_infile_install(MYSQL *m, struct db_infile *s)
{
    mysql_set_local_infile_handler(m, infile_init, infile_read, infile_end, infile_error, s);
}
