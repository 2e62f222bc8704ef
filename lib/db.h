/* MariaDB access for every Pregón program: one connection per process, prepared statements
 * only (cached per connection), reconnection after the server went away. */
#ifndef PREGON_DB_H
#define PREGON_DB_H

#include <stddef.h>
#include <string.h>

struct config;
struct db;

enum db_rc {
    DB_OK = 0,
    DB_ERR = -1,       /* anything else; message in db_error() */
    DB_ERR_CONN = -2,  /* connection lost (inside a transaction: redo the transaction) */
    DB_ERR_RETRY = -3, /* deadlock or lock wait timeout: redo the transaction */
    DB_ERR_DUP = -4,   /* duplicate key */
    DB_ERR_DENIED = -5 /* refused by a trigger (SQLSTATE 45000) or a missing grant */
};

enum db_type { DB_T_NULL, DB_T_INT, DB_T_STR, DB_T_DOUBLE };

typedef struct {
    enum db_type t;
    long long i;
    double d;
    const char *s;
    size_t n;
} db_arg;

#define DB_NULL         ((db_arg){.t = DB_T_NULL})
#define DB_INT(x)       ((db_arg){.t = DB_T_INT, .i = (long long)(x)})
#define DB_DBL(x)       ((db_arg){.t = DB_T_DOUBLE, .d = (double)(x)})
#define DB_STRN(x, len) db_arg_str((x), (len))
#define DB_STR(x)       db_arg_str((x), (size_t)-1)
/* For a statement with parameters: db_exec(db, sql, DB_ARGS(DB_INT(1), DB_STR(s)), &res). */
#define DB_ARGS(...) (db_arg[]){__VA_ARGS__}, sizeof((db_arg[]){__VA_ARGS__}) / sizeof(db_arg)
#define DB_NOARGS    NULL, 0

/* A string argument; NULL becomes SQL NULL; len (size_t)-1 means strlen. */
static inline db_arg db_arg_str(const char *s, size_t len)
{
    db_arg a = {.t = s ? DB_T_STR : DB_T_NULL, .s = s, .n = 0};
    if (s)
        a.n = len == (size_t)-1 ? strlen(s) : len;
    return a;
}

struct db_res {
    unsigned long long affected;
    unsigned long long insert_id;
};

/* A fetched result: every value as text (NULL for SQL NULL). Free with db_rows_free(). */
struct db_rows {
    size_t nrows, ncols;
    char **v;           /* nrows * ncols */
    unsigned long *len; /* lengths, same layout */
    char **names;       /* ncols column names */
    char *arena;
};

/* Connects with the settings in cfg (the struct must outlive the handle). db_host may list
 * several servers ("db1:3306, db2, db3"): the one that answered last is tried first, then
 * the others in order, at every connect and reconnect; a Galera node out of its cluster
 * (wsrep_ready OFF) counts as down.
 * Returns NULL only when out of memory; check db_connected() / db_error(). */
struct db *db_open(const struct config *cfg);
void db_close(struct db *db);
const char *db_error(const struct db *db);
unsigned int db_errno(const struct db *db);
/* Makes sure the connection is up, reconnecting if needed. Returns DB_OK or DB_ERR_CONN. */
int db_ensure(struct db *db);
int db_ping(struct db *db);
unsigned long long db_reconnects(const struct db *db);

/* What went wrong with the database in this process, every connection together, since it
 * started: reconnections and failures by kind (duplicates and refusals are answers, not
 * trouble). Only ever grows. lib/metrics.c reads it at each flush for /metrics; the database
 * layer itself knows nothing of metrics. */
struct db_counts {
    unsigned long long reconnects;
    unsigned long long err_connection; /* DB_ERR_CONN */
    unsigned long long err_retry;      /* DB_ERR_RETRY */
    unsigned long long err_other;      /* DB_ERR */
    unsigned long long deadlocks;      /* ER_LOCK_DEADLOCK (the caller retries) */
};
void db_counts_get(struct db_counts *out);

int db_begin(struct db *db);
int db_commit(struct db *db);
int db_rollback(struct db *db);

/* res may be NULL. */
int db_exec(struct db *db, const char *sql, const db_arg *args, size_t nargs, struct db_res *res);
/* One statement for many parameter sets (MariaDB array binding, one round trip): rows holds
 * nrows * ncols arguments, row after row; a column keeps one type (NULLs aside). The text
 * stays the same whatever nrows, so the prepared statement is reused. res->affected is the
 * total. On a server without array binding, the rows are executed one by one. */
int db_exec_bulk(struct db *db, const char *sql, const db_arg *rows, size_t ncols, size_t nrows,
                 struct db_res *res);
/* rows is always initialised, also on error. */
int db_query(struct db *db, const char *sql, const db_arg *args, size_t nargs,
             struct db_rows *rows);
void db_rows_free(struct db_rows *rows);

const char *db_val(const struct db_rows *rows, size_t r, size_t c);
long long db_int(const struct db_rows *rows, size_t r, size_t c, long long dflt);
int db_col(const struct db_rows *rows, const char *name); /* -1 if absent */

/* On a Galera node (wsrep_on), on = 1 makes the session's next reads wait until the node has
 * applied everything the cluster committed before them (wsrep_sync_wait = 1): for the reads
 * that decide (campaign status, opt-outs, the tier's budget); on = 0 goes back to plain
 * reads. Nothing (no statement) on a server without wsrep. Returns a db_rc. */
int db_sync_wait(struct db *db, int on);
/* The writer's slot (0..DB_WRITER_SLOTS-1) in tables whose hot rows are split per writer
 * (campaign_counts, send_minutes, metric_counters): writers add to their own row, readers sum
 * the slots. On a Galera node, the node's own slot (its wsrep_local_index), so writers on
 * different nodes never share one; else this process's (random, fixed for its life), which
 * spreads the row-lock waits of one server's processes. */
#define DB_WRITER_SLOTS 16
int db_writer_slot(const struct db *db);
/* 1 when connected to a Galera node with wsrep on. */
int db_is_cluster(const struct db *db);

/* Runs a statement without parameters and outside data (session settings, DDL). */
int db_simple(struct db *db, const char *sql);

/* ---- LOAD DATA LOCAL INFILE from an in-memory stream ---------------------------------------
 * Every connection offers LOCAL INFILE to the server but serves only a stream registered by
 * db_load_stream for the duration of that call, and only under the name given there: any other
 * request (a file name, a request outside the call, a second request) is refused, so a hostile
 * server can never read a local file. */

/* Fills buf with up to len bytes of the stream. Returns the bytes written, 0 at the end of the
 * stream, or -1 to abort it (the statement then fails; what was sent stays in the transaction,
 * roll it back). */
typedef int (*db_stream_fn)(void *ctx, char *buf, unsigned int len);

/* 1 when the server accepts LOAD DATA LOCAL (@@local_infile), 0 when not, negative on error. */
int db_local_infile(struct db *db);

/* Runs sql, a constant LOAD DATA LOCAL INFILE 'name' ... statement, feeding it from fn. On
 * success *res (may be NULL) holds the rows stored and *warnings the server's warning count
 * (a truncated or skipped row shows up there). *started (may be NULL) tells whether fn was
 * ever called: when it was not and the call failed, nothing of the stream was consumed (the
 * server refused LOAD DATA LOCAL) and the caller can take another way. Never retried. */
int db_load_stream(struct db *db, const char *sql, const char *name, db_stream_fn fn, void *ctx,
                   struct db_res *res, unsigned int *warnings, int *started);

/* Whether the server (mysql_get_server_info, mysql_get_server_version) is one Pregon runs on:
 * MariaDB 10.6 or later. Every connection checks it. Returns 0, or -1 with why (naming the
 * server, its version and what is missing) filled. */
int db_server_supported(const char *info, unsigned long version, char *why, size_t len);

#endif
