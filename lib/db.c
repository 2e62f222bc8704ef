#include "db.h"

#include <stdatomic.h>
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "db_infile.h"
#include "dbhosts.h"
#include "log.h"

#define DB_CACHE 96

struct db_cached {
    char *sql;
    unsigned long hash;
    MYSQL_STMT *st;
    unsigned long long last_use;
};

struct db {
    const struct config *cfg;
    MYSQL *conn;
    int in_tx;
    unsigned int errnum;
    char err[512];
    unsigned long long tick, reconnects;
    size_t host_ix;    /* db_host's entry connected last: tried first next time */
    int wsrep;         /* the server is a Galera node (wsrep_on): db_sync_wait means something */
    int sync_wait;     /* the session's wsrep_sync_wait as we last set it */
    int node_index;    /* the Galera node's wsrep_local_index (node_index_read) */
    time_t index_read; /* when it was read */
    int guarded;       /* this transaction runs with autocommit off and TX_SAVEPOINT (db_begin) */
    char tx_first[72]; /* the transaction's first statement, for a deadlock's log */
    struct db_cached cache[DB_CACHE];
    struct db_infile stream; /* what LOAD DATA LOCAL may read, only during db_load_stream */
};

static unsigned long sql_hash(const char *s)
{
    unsigned long h = 5381;
    for (; *s; s++)
        h = h * 33 ^ (unsigned char)*s;
    return h;
}

static void cache_clear(struct db *db)
{
    for (int i = 0; i < DB_CACHE; i++) {
        if (db->cache[i].st)
            mysql_stmt_close(db->cache[i].st);
        free(db->cache[i].sql);
        memset(&db->cache[i], 0, sizeof db->cache[i]);
    }
}

static void set_err(struct db *db, unsigned int num, const char *msg)
{
    db->errnum = num;
    snprintf(db->err, sizeof db->err, "%s", msg ? msg : "unknown database error");
}

static int classify(unsigned int num, const char *sqlstate)
{
    switch (num) {
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_CONN_HOST_ERROR:
    case CR_CONNECTION_ERROR:
    case ER_CONNECTION_KILLED:
    case ER_SERVER_SHUTDOWN:
    case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT */
    case 1047: /* ER_UNKNOWN_COM_ERROR: a Galera node out of the primary component */
        return DB_ERR_CONN;
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
        return DB_ERR_RETRY;
    case ER_DUP_ENTRY:
        return DB_ERR_DUP;
    case ER_TABLEACCESS_DENIED_ERROR:
    case ER_COLUMNACCESS_DENIED_ERROR:
        return DB_ERR_DENIED;
    }
    if (sqlstate && strcmp(sqlstate, "45000") == 0)
        return DB_ERR_DENIED;
    return DB_ERR;
}

static void disconnect(struct db *db)
{
    cache_clear(db);
    if (db->conn)
        mysql_close(db->conn);
    db->conn = NULL;
    db->in_tx = 0;
    db->guarded = 0; /* a new connection starts with autocommit on */
}

/* The value of a one-row SHOW (VARIABLES or STATUS) into buf ("" when absent). */
static void show_value(MYSQL *m, const char *sql, char *buf, size_t len)
{
    buf[0] = '\0';
    if (mysql_query(m, sql) != 0)
        return;
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (row && row[1])
        snprintf(buf, len, "%s", row[1]);
    mysql_free_result(res);
}

/* The node's wsrep_local_index: its rank in the cluster's current membership, which a node
 * joining or leaving renumbers. db_ensure reads it again every 5 s: read once at connect, a
 * process connected before the others joined kept its old rank and wrote another node's slot
 * rows (db_writer_slot), a certification conflict at each of their commits. */
static int node_index_read(MYSQL *m)
{
    char v[32];
    show_value(m, "SHOW STATUS LIKE 'wsrep_local_index'", v, sizeof v);
    return v[0] >= '0' && v[0] <= '9' ? atoi(v) : -1;
}

/* A Galera node (wsrep_on) that is not synced with its cluster answers every query with
 * 1047: it is skipped like a host that is down. Returns 1 when the server has wsrep on, 0
 * when not (or not a Galera build), -1 when the node is not ready; *node_index gets the
 * node's wsrep_local_index (-1 when not a node). */
static int wsrep_state(MYSQL *m, int *node_index)
{
    char v[32];
    *node_index = -1;
    show_value(m, "SHOW VARIABLES LIKE 'wsrep_on'", v, sizeof v);
    if (strcmp(v, "ON") != 0)
        return 0;
    show_value(m, "SHOW STATUS LIKE 'wsrep_ready'", v, sizeof v);
    if (strcmp(v, "ON") != 0)
        return -1;
    *node_index = node_index_read(m);
    return 1;
}

/* One server of the list. */
static int connect_host(struct db *db, const char *host, int port, MYSQL **out)
{
    const struct config *c = db->cfg;
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        set_err(db, 0, "out of memory");
        return DB_ERR_CONN;
    }
    unsigned int timeout = 5;
    unsigned int rw_timeout = 60;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    /* LOCAL INFILE only through our callbacks, which serve nothing outside db_load_stream. */
    unsigned int local_infile = 1;
    if (mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &local_infile) != 0)
        log_warn("database: LOCAL INFILE not available (imports use INSERT)");
    db_infile_install(m, &db->stream);
    /* Every session works in UTC and READ COMMITTED: claims use SKIP LOCKED and must not keep
     * gap locks; times are stored in UTC and shown in the account's zone by the UI. */
    mysql_options(m, MYSQL_INIT_COMMAND,
                  "SET time_zone = '+00:00', tx_isolation = 'READ-COMMITTED'");
    const char *sock = c->db_socket && *c->db_socket ? c->db_socket : NULL;
    if (!mysql_real_connect(m, sock ? NULL : host, c->db_user, c->db_password, c->db_name,
                            sock ? 0 : (unsigned)port, sock, CLIENT_FOUND_ROWS)) {
        set_err(db, mysql_errno(m), mysql_error(m));
        mysql_close(m);
        return DB_ERR_CONN;
    }
    char why[256];
    if (db_server_supported(mysql_get_server_info(m), mysql_get_server_version(m), why,
                            sizeof why) != 0) {
        set_err(db, 0, why);
        mysql_close(m);
        return DB_ERR_CONN;
    }
    int node = -1, ws = wsrep_state(m, &node);
    if (ws < 0) {
        set_err(db, 1047, "the Galera node is not synced with its cluster (wsrep_ready OFF)");
        mysql_close(m);
        return DB_ERR_CONN;
    }
    db->wsrep = ws;
    db->node_index = node;
    db->index_read = time(NULL);
    db->sync_wait = 0;
    *out = m;
    return DB_OK;
}

/* db_host is a list: the entry that answered last first, then the others in order, so a
 * process stays on its node and moves on only when that node is down or out of its cluster. */
static int connect_now(struct db *db)
{
    const struct config *c = db->cfg;
    struct db_hostport hosts[DB_HOSTS_MAX];
    int n = 1;
    if (c->db_socket && *c->db_socket) /* the socket: one local server, db_host unused */
        hosts[0] = (struct db_hostport){.host = "", .port = 0};
    else if ((n = db_hosts_parse(c->db_host, c->db_port, hosts, DB_HOSTS_MAX)) < 0) {
        set_err(db, 0, "db_host: not a list of host[:port] entries");
        return DB_ERR_CONN;
    }
    if (db->host_ix >= (size_t)n)
        db->host_ix = 0;
    for (int k = 0; k < n; k++) {
        size_t i = (db->host_ix + (size_t)k) % (size_t)n;
        MYSQL *m = NULL;
        if (connect_host(db, hosts[i].host, hosts[i].port, &m) == DB_OK) {
            if (i != db->host_ix || db->reconnects)
                log_info("database: connected to %s:%d", hosts[i].host, hosts[i].port);
            db->host_ix = i;
            db->conn = m;
            return DB_OK;
        }
        if (n > 1)
            log_warn("database: %s:%d: %s", hosts[i].host, hosts[i].port, db->err);
    }
    return DB_ERR_CONN;
}

int db_sync_wait(struct db *db, int on)
{
    on = on ? 1 : 0;
    if (db_ensure(db) != DB_OK)
        return DB_ERR_CONN;
    if (!db->wsrep || db->sync_wait == on)
        return DB_OK;
    int rc =
        db_simple(db, on ? "SET SESSION wsrep_sync_wait = 1" : "SET SESSION wsrep_sync_wait = 0");
    if (rc == DB_OK)
        db->sync_wait = on;
    return rc;
}

int db_writer_slot(const struct db *db)
{
    /* On a cluster, one slot per node: writers on one node only ever wait for each other's
     * row locks, writers on two nodes never write one row (no certification conflict). */
    if (db && db->conn && db->wsrep && db->node_index >= 0)
        return db->node_index % DB_WRITER_SLOTS;
    static atomic_int slot = -1;
    int s = atomic_load(&slot);
    if (s < 0) {
        int mine = (int)((unsigned)getpid() * 2654435761u >> 7) % DB_WRITER_SLOTS;
        atomic_compare_exchange_strong(&slot, &s, mine);
        s = atomic_load(&slot);
    }
    return s;
}

int db_is_cluster(const struct db *db)
{
    return db->conn && db->wsrep;
}

struct db *db_open(const struct config *cfg)
{
    struct db *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    db->cfg = cfg;
    if (connect_now(db) != DB_OK)
        log_warn("database: %s", db->err);
    return db;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    disconnect(db);
    free(db);
}

const char *db_error(const struct db *db)
{
    return db->err;
}

unsigned int db_errno(const struct db *db)
{
    return db->errnum;
}

unsigned long long db_reconnects(const struct db *db)
{
    return db->reconnects;
}

/* Counted from every thread's connection: relaxed atomics, read now and then. */
static atomic_ullong count_reconnects, count_err_conn, count_err_retry, count_err_other,
    count_deadlocks;

void db_counts_get(struct db_counts *out)
{
    out->reconnects = atomic_load_explicit(&count_reconnects, memory_order_relaxed);
    out->err_connection = atomic_load_explicit(&count_err_conn, memory_order_relaxed);
    out->err_retry = atomic_load_explicit(&count_err_retry, memory_order_relaxed);
    out->err_other = atomic_load_explicit(&count_err_other, memory_order_relaxed);
    out->deadlocks = atomic_load_explicit(&count_deadlocks, memory_order_relaxed);
}

int db_ensure(struct db *db)
{
    if (db->conn) {
        if (db->wsrep && time(NULL) - db->index_read >= 5) {
            db->node_index = node_index_read(db->conn);
            db->index_read = time(NULL);
        }
        return DB_OK;
    }
    int rc = connect_now(db);
    if (rc == DB_OK) {
        db->reconnects++;
        atomic_fetch_add_explicit(&count_reconnects, 1, memory_order_relaxed);
    }
    return rc;
}

int db_ping(struct db *db)
{
    if (db_ensure(db) != DB_OK)
        return DB_ERR_CONN;
    if (mysql_ping(db->conn) != 0) {
        set_err(db, mysql_errno(db->conn), mysql_error(db->conn));
        disconnect(db);
        return DB_ERR_CONN;
    }
    return DB_OK;
}

/* Handles a failure of what (the statement's text, or COMMIT / ROLLBACK) on the connection:
 * lost connections are dropped so the next call reconnects. Returns the classified code. */
static int fail_conn(struct db *db, const char *what, unsigned int num, const char *msg,
                     const char *state)
{
    set_err(db, num, msg);
    int rc = classify(num, state);
    /* Duplicates and refusals are answers, not database trouble. */
    if (rc == DB_ERR_CONN || rc == DB_ERR_RETRY || rc == DB_ERR)
        atomic_fetch_add_explicit(rc == DB_ERR_CONN    ? &count_err_conn
                                  : rc == DB_ERR_RETRY ? &count_err_retry
                                                       : &count_err_other,
                                  1, memory_order_relaxed);
    /* Every caller does a deadlock's transaction again: /metrics counts them (issue 15:
     * fewer than 1 per 10,000 messages). */
    if (num == ER_LOCK_DEADLOCK)
        atomic_fetch_add_explicit(&count_deadlocks, 1, memory_order_relaxed);
    /* The log says which statement drew a deadlock or lock wait timeout (COMMIT: a Galera
     * cluster's certification), so a rate above the target can be traced to its rows. The
     * text is the prepared statement's: it holds no user data. */
    if (num == ER_LOCK_DEADLOCK || num == ER_LOCK_WAIT_TIMEOUT)
        log_info("%s, done again: %.160s (transaction: %s)",
                 num == ER_LOCK_DEADLOCK ? "deadlock" : "lock wait timeout", what,
                 db->tx_first[0] ? db->tx_first : "none");
    if (rc == DB_ERR_CONN)
        disconnect(db);
    return rc;
}

int db_simple(struct db *db, const char *sql)
{
    int rc = db_ensure(db);
    if (rc != DB_OK)
        return rc;
    if (mysql_real_query(db->conn, sql, strlen(sql)) != 0)
        return fail_conn(db, sql, mysql_errno(db->conn), mysql_error(db->conn),
                         mysql_sqlstate(db->conn));
    MYSQL_RES *r = mysql_store_result(db->conn);
    if (r)
        mysql_free_result(r);
    return DB_OK;
}

/* A Galera node may roll a transaction back under its client (a brute-force abort) without
 * telling the next statement (MDEV-23872); with autocommit on, what follows would commit as
 * half a transaction (test_galera: a claim's counters kept, its rows gone). There a
 * transaction runs with autocommit off under a savepoint: the commit, finding it gone, rolls
 * back what followed and asks for the transaction again (DB_ERR_RETRY). */
#define TX_SAVEPOINT "pregon_tx"

static void tx_unguard(struct db *db)
{
    if (db->guarded && db->conn && mysql_autocommit(db->conn, 1) != 0)
        disconnect(db); /* a fresh connection starts with autocommit on */
    db->guarded = 0;
    db->tx_first[0] = 0;
}

int db_begin(struct db *db)
{
    int rc = db_ensure(db);
    if (rc != DB_OK)
        return rc;
    if (!db->wsrep) {
        rc = db_simple(db, "START TRANSACTION");
    } else {
        db->guarded = 1;
        rc = db_simple(db, "SET autocommit = 0");
        if (rc == DB_OK)
            rc = db_simple(db, "SAVEPOINT " TX_SAVEPOINT);
        if (rc != DB_OK) {
            if (db->conn)
                mysql_rollback(db->conn);
            tx_unguard(db);
        }
    }
    if (rc == DB_OK)
        db->in_tx = 1;
    db->tx_first[0] = 0;
    return rc;
}

int db_commit(struct db *db)
{
    if (!db->conn) {
        set_err(db, CR_SERVER_LOST, "connection lost before commit");
        return DB_ERR_CONN;
    }
    db->in_tx = 0;
    if (db->guarded && mysql_query(db->conn, "RELEASE SAVEPOINT " TX_SAVEPOINT) != 0) {
        unsigned int num = mysql_errno(db->conn);
        char msg[512], state[8];
        snprintf(msg, sizeof msg, "%s", mysql_error(db->conn));
        snprintf(state, sizeof state, "%s", mysql_sqlstate(db->conn));
        if (num == ER_SP_DOES_NOT_EXIST) {
            /* rolled back under us: whatever ran since is not the transaction */
            mysql_rollback(db->conn);
            int rc = fail_conn(db, "COMMIT (the cluster had rolled the transaction back)",
                               ER_LOCK_DEADLOCK, "the transaction was rolled back by the cluster",
                               "40001");
            tx_unguard(db); /* after the log, which names the transaction */
            return rc;
        }
        int rc = fail_conn(db, "RELEASE SAVEPOINT", num, msg, state);
        if (db->conn)
            mysql_rollback(db->conn);
        tx_unguard(db);
        return rc;
    }
    int rc = DB_OK;
    if (mysql_commit(db->conn) != 0)
        rc = fail_conn(db, "COMMIT", mysql_errno(db->conn), mysql_error(db->conn),
                       mysql_sqlstate(db->conn));
    tx_unguard(db);
    return rc;
}

int db_rollback(struct db *db)
{
    db->in_tx = 0;
    if (!db->conn)
        return DB_OK; /* the server rolled back when the connection went */
    int rc = DB_OK;
    if (mysql_rollback(db->conn) != 0)
        rc = fail_conn(db, "ROLLBACK", mysql_errno(db->conn), mysql_error(db->conn),
                       mysql_sqlstate(db->conn));
    tx_unguard(db);
    return rc;
}

static MYSQL_STMT *stmt_get(struct db *db, const char *sql, int *rc)
{
    unsigned long h = sql_hash(sql);
    int victim = 0;
    db->tick++;
    if (db->in_tx && !db->tx_first[0])
        snprintf(db->tx_first, sizeof db->tx_first, "%s", sql);
    for (int i = 0; i < DB_CACHE; i++) {
        struct db_cached *c = &db->cache[i];
        if (c->st && c->hash == h && strcmp(c->sql, sql) == 0) {
            c->last_use = db->tick;
            return c->st;
        }
        if (!db->cache[i].st || c->last_use < db->cache[victim].last_use)
            victim = i;
        if (!db->cache[i].st)
            break;
    }
    struct db_cached *c = &db->cache[victim];
    if (c->st) {
        mysql_stmt_close(c->st);
        free(c->sql);
        memset(c, 0, sizeof *c);
    }
    MYSQL_STMT *st = mysql_stmt_init(db->conn);
    if (!st) {
        set_err(db, 0, "out of memory");
        *rc = DB_ERR;
        return NULL;
    }
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
        unsigned int num = mysql_stmt_errno(st);
        char msg[512], state[8];
        snprintf(msg, sizeof msg, "%s", mysql_stmt_error(st));
        snprintf(state, sizeof state, "%s", mysql_stmt_sqlstate(st));
        mysql_stmt_close(st);
        *rc = fail_conn(db, sql, num, msg, state);
        return NULL;
    }
    c->sql = strdup(sql);
    if (!c->sql) {
        mysql_stmt_close(st);
        set_err(db, 0, "out of memory");
        *rc = DB_ERR;
        return NULL;
    }
    c->hash = h;
    c->st = st;
    c->last_use = db->tick;
    return st;
}

/* Drops a statement from the cache (after an error left it in an unknown state). */
static void stmt_forget(struct db *db, MYSQL_STMT *st)
{
    for (int i = 0; i < DB_CACHE; i++) {
        if (db->cache[i].st == st) {
            mysql_stmt_close(st);
            free(db->cache[i].sql);
            memset(&db->cache[i], 0, sizeof db->cache[i]);
            return;
        }
    }
}

static int bind_args(struct db *db, MYSQL_STMT *st, const db_arg *args, size_t nargs)
{
    unsigned long want = mysql_stmt_param_count(st);
    if (want != nargs) {
        snprintf(db->err, sizeof db->err, "statement wants %lu parameters, got %zu", want, nargs);
        db->errnum = 0;
        return DB_ERR;
    }
    if (nargs == 0)
        return DB_OK;
    MYSQL_BIND *b = calloc(nargs, sizeof *b);
    if (!b) {
        set_err(db, 0, "out of memory");
        return DB_ERR;
    }
    for (size_t i = 0; i < nargs; i++) {
        switch (args[i].t) {
        case DB_T_NULL:
            b[i].buffer_type = MYSQL_TYPE_NULL;
            break;
        case DB_T_INT:
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = (void *)&args[i].i;
            break;
        case DB_T_DOUBLE:
            b[i].buffer_type = MYSQL_TYPE_DOUBLE;
            b[i].buffer = (void *)&args[i].d;
            break;
        case DB_T_STR:
            b[i].buffer_type = MYSQL_TYPE_STRING;
            b[i].buffer = (void *)args[i].s;
            b[i].buffer_length = (unsigned long)args[i].n;
            break;
        }
    }
    /* Connector/C copies what it needs from the bind array at bind time. */
    int bad = mysql_stmt_bind_param(st, b);
    free(b);
    if (bad) {
        set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
        return DB_ERR;
    }
    return DB_OK;
}

/* Prepares (or reuses), binds and executes; retries once on a lost connection outside a
 * transaction, since nothing of the statement can have been applied. */
static MYSQL_STMT *run(struct db *db, const char *sql, const db_arg *args, size_t nargs, int *rcp)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = db_ensure(db);
        if (rc != DB_OK) {
            *rcp = rc;
            return NULL;
        }
        MYSQL_STMT *st = stmt_get(db, sql, &rc);
        if (!st) {
            if (rc == DB_ERR_CONN && !db->in_tx && attempt == 0)
                continue;
            *rcp = rc;
            return NULL;
        }
        rc = bind_args(db, st, args, nargs);
        if (rc != DB_OK) {
            *rcp = rc;
            return NULL;
        }
        if (mysql_stmt_execute(st) != 0) {
            unsigned int num = mysql_stmt_errno(st);
            char msg[512], state[8];
            snprintf(msg, sizeof msg, "%s", mysql_stmt_error(st));
            snprintf(state, sizeof state, "%s", mysql_stmt_sqlstate(st));
            int was_tx = db->in_tx;
            rc = fail_conn(db, sql, num, msg, state);
            if (rc != DB_ERR_CONN)
                mysql_stmt_reset(st);
            if (rc == DB_ERR_CONN && !was_tx && attempt == 0) {
                log_warn("database connection lost, reconnecting: %s", msg);
                continue;
            }
            *rcp = rc;
            return NULL;
        }
        *rcp = DB_OK;
        return st;
    }
    *rcp = DB_ERR_CONN;
    return NULL;
}

int db_exec(struct db *db, const char *sql, const db_arg *args, size_t nargs, struct db_res *res)
{
    int rc;
    MYSQL_STMT *st = run(db, sql, args, nargs, &rc);
    if (!st)
        return rc;
    if (res) {
        res->affected = mysql_stmt_affected_rows(st);
        res->insert_id = mysql_stmt_insert_id(st);
    }
    /* A statement that returns rows through db_exec: drain them. */
    if (mysql_stmt_field_count(st) > 0)
        mysql_stmt_free_result(st);
    return DB_OK;
}

int db_query(struct db *db, const char *sql, const db_arg *args, size_t nargs, struct db_rows *rows)
{
    memset(rows, 0, sizeof *rows);
    int rc;
    MYSQL_STMT *st = run(db, sql, args, nargs, &rc);
    if (!st)
        return rc;

    MYSQL_RES *meta = NULL;
    MYSQL_BIND *b = NULL;
    unsigned long *lens = NULL;
    my_bool *nulls = NULL;
    char **bufs = NULL;
    size_t ncols = mysql_stmt_field_count(st);
    rc = DB_ERR;

    my_bool update_max = 1;
    mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max);
    if (mysql_stmt_store_result(st) != 0) {
        rc =
            fail_conn(db, sql, mysql_stmt_errno(st), mysql_stmt_error(st), mysql_stmt_sqlstate(st));
        goto out;
    }
    meta = mysql_stmt_result_metadata(st);
    if (!meta) {
        set_err(db, 0, "statement returned no result set");
        goto out;
    }
    size_t nrows = (size_t)mysql_stmt_num_rows(st);
    MYSQL_FIELD *fields = mysql_fetch_fields(meta);

    /* One arena holds every value and name: its size is known from max_length. */
    size_t rowbytes = 0, namebytes = 0;
    for (size_t c = 0; c < ncols; c++) {
        rowbytes += fields[c].max_length + 1;
        namebytes += strlen(fields[c].name) + 1;
    }
    rows->ncols = ncols;
    rows->nrows = nrows;
    rows->arena = malloc(rowbytes * nrows + namebytes + 1);
    rows->v = calloc(nrows * ncols + 1, sizeof *rows->v);
    rows->len = calloc(nrows * ncols + 1, sizeof *rows->len);
    rows->names = calloc(ncols + 1, sizeof *rows->names);
    b = calloc(ncols + 1, sizeof *b);
    lens = calloc(ncols + 1, sizeof *lens);
    nulls = calloc(ncols + 1, sizeof *nulls);
    bufs = calloc(ncols + 1, sizeof *bufs);
    if (!rows->arena || !rows->v || !rows->len || !rows->names || !b || !lens || !nulls || !bufs) {
        set_err(db, 0, "out of memory");
        goto out;
    }
    char *p = rows->arena;
    for (size_t c = 0; c < ncols; c++) {
        size_t n = strlen(fields[c].name) + 1;
        memcpy(p, fields[c].name, n);
        rows->names[c] = p;
        p += n;
    }
    for (size_t c = 0; c < ncols; c++) {
        bufs[c] = malloc(fields[c].max_length + 1);
        if (!bufs[c]) {
            set_err(db, 0, "out of memory");
            goto out;
        }
        b[c].buffer_type = MYSQL_TYPE_STRING;
        b[c].buffer = bufs[c];
        b[c].buffer_length = fields[c].max_length + 1;
        b[c].length = &lens[c];
        b[c].is_null = &nulls[c];
    }
    if (ncols && mysql_stmt_bind_result(st, b) != 0) {
        set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
        goto out;
    }
    for (size_t r = 0; r < nrows; r++) {
        int f = mysql_stmt_fetch(st);
        if (f == 1 || f == MYSQL_NO_DATA) {
            set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
            goto out;
        }
        for (size_t c = 0; c < ncols; c++) {
            size_t i = r * ncols + c;
            if (nulls[c]) {
                rows->v[i] = NULL;
                rows->len[i] = 0;
                continue;
            }
            memcpy(p, bufs[c], lens[c]);
            p[lens[c]] = '\0';
            rows->v[i] = p;
            rows->len[i] = lens[c];
            p += lens[c] + 1;
        }
    }
    rc = DB_OK;
out:
    if (bufs)
        for (size_t c = 0; c < ncols; c++)
            free(bufs[c]);
    free(bufs);
    free(b);
    free(lens);
    free(nulls);
    if (meta)
        mysql_free_result(meta);
    if (db->conn) {
        mysql_stmt_free_result(st);
        if (rc != DB_OK && rc != DB_ERR_CONN)
            stmt_forget(db, st);
    }
    if (rc != DB_OK)
        db_rows_free(rows);
    return rc;
}

/* ---- bulk execution (array binding) -------------------------------------------------------- */

/* Binds nrows parameter sets column-wise. The column arrays live in *mem (the caller frees it
 * after the execution: Connector/C reads them then). */
static int bind_bulk(struct db *db, MYSQL_STMT *st, const db_arg *rows, size_t ncols, size_t nrows,
                     void **mem)
{
    *mem = NULL;
    unsigned long want = mysql_stmt_param_count(st);
    if (want != ncols) {
        snprintf(db->err, sizeof db->err, "statement wants %lu parameters, got %zu", want, ncols);
        db->errnum = 0;
        return DB_ERR;
    }
    /* Per column: one 8-byte value or pointer, one length and one indicator per row. */
    size_t per_col = nrows * (sizeof(long long) + sizeof(unsigned long) + 1);
    per_col = (per_col + 15) & ~(size_t)15; /* every column's arrays stay aligned */
    MYSQL_BIND *b = calloc(ncols + 1, sizeof *b);
    char *block = malloc(ncols * per_col + 1);
    if (!b || !block) {
        free(b);
        free(block);
        set_err(db, 0, "out of memory");
        return DB_ERR;
    }
    for (size_t c = 0; c < ncols; c++) {
        char *base = block + c * per_col;
        long long *iv = (long long *)(void *)base;
        double *dv = (double *)(void *)base;
        const char **sv = (const char **)(void *)base;
        unsigned long *lens = (unsigned long *)(void *)(base + nrows * sizeof(long long));
        char *ind = base + nrows * (sizeof(long long) + sizeof(unsigned long));
        enum db_type t = DB_T_NULL;
        for (size_t r = 0; r < nrows && t == DB_T_NULL; r++)
            t = rows[r * ncols + c].t;
        for (size_t r = 0; r < nrows; r++) {
            const db_arg *a = &rows[r * ncols + c];
            ind[r] = a->t == DB_T_NULL ? STMT_INDICATOR_NULL : STMT_INDICATOR_NONE;
            lens[r] = 0;
            if (a->t != DB_T_NULL && a->t != t) {
                free(b);
                free(block);
                snprintf(db->err, sizeof db->err, "bulk parameter %zu changes type at row %zu", c,
                         r);
                db->errnum = 0;
                return DB_ERR;
            }
            if (t == DB_T_INT)
                iv[r] = a->t == DB_T_NULL ? 0 : a->i;
            else if (t == DB_T_DOUBLE)
                dv[r] = a->t == DB_T_NULL ? 0 : a->d;
            else if (t == DB_T_STR) {
                sv[r] = a->t == DB_T_NULL ? "" : a->s;
                lens[r] = a->t == DB_T_NULL ? 0 : (unsigned long)a->n;
            }
        }
        b[c].u.indicator = ind;
        switch (t) {
        case DB_T_NULL:
            b[c].buffer_type = MYSQL_TYPE_NULL;
            break;
        case DB_T_INT:
            b[c].buffer_type = MYSQL_TYPE_LONGLONG;
            b[c].buffer = iv;
            break;
        case DB_T_DOUBLE:
            b[c].buffer_type = MYSQL_TYPE_DOUBLE;
            b[c].buffer = dv;
            break;
        case DB_T_STR:
            b[c].buffer_type = MYSQL_TYPE_STRING;
            b[c].buffer = (void *)sv;
            b[c].length = lens;
            break;
        }
    }
    unsigned int size = (unsigned int)nrows;
    int bad = mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &size) || mysql_stmt_bind_param(st, b);
    free(b);
    if (bad) {
        set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
        free(block);
        return DB_ERR;
    }
    *mem = block;
    return DB_OK;
}

/* MariaDB 10.2+ takes parameter arrays (COM_STMT_BULK_EXECUTE); MySQL does not.
 * PREGON_DB_NO_BULK=1 takes the row-by-row path anyway (the tests run both). */
static int bulk_supported(MYSQL *conn)
{
    const char *off = getenv("PREGON_DB_NO_BULK");
    if (off && *off && strcmp(off, "0") != 0)
        return 0;
    unsigned long caps = 0, ext = 0;
    if (mariadb_get_infov(conn, MARIADB_CONNECTION_SERVER_CAPABILITIES, &caps) != 0 ||
        mariadb_get_infov(conn, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &ext) != 0)
        return 0;
    return !(caps & CLIENT_MYSQL) && (ext & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32));
}

/* The statement goes back to single executions (it stays in the cache). */
static void bulk_reset(MYSQL_STMT *st)
{
    unsigned int zero = 0;
    mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &zero);
}

int db_exec_bulk(struct db *db, const char *sql, const db_arg *rows, size_t ncols, size_t nrows,
                 struct db_res *res)
{
    if (res)
        memset(res, 0, sizeof *res);
    if (nrows == 0)
        return DB_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = db_ensure(db);
        if (rc != DB_OK)
            return rc;
        MYSQL_STMT *st = stmt_get(db, sql, &rc);
        if (!st) {
            if (rc == DB_ERR_CONN && !db->in_tx && attempt == 0)
                continue;
            return rc;
        }
        unsigned long long affected = 0;
        int failed = 0;
        if (bulk_supported(db->conn)) {
            void *mem;
            rc = bind_bulk(db, st, rows, ncols, nrows, &mem);
            if (rc != DB_OK)
                return rc;
            failed = mysql_stmt_execute(st) != 0;
            if (!failed)
                affected = mysql_stmt_affected_rows(st);
            free(mem);
        } else {
            /* A server without array binding (MySQL): one execution per row, same result. */
            for (size_t r = 0; r < nrows && !failed; r++) {
                rc = bind_args(db, st, rows + r * ncols, ncols);
                if (rc != DB_OK)
                    return rc;
                failed = mysql_stmt_execute(st) != 0;
                if (!failed)
                    affected += mysql_stmt_affected_rows(st);
            }
        }
        if (failed) {
            unsigned int num = mysql_stmt_errno(st);
            char msg[512], state[8];
            snprintf(msg, sizeof msg, "%s", mysql_stmt_error(st));
            snprintf(state, sizeof state, "%s", mysql_stmt_sqlstate(st));
            int was_tx = db->in_tx;
            rc = fail_conn(db, sql, num, msg, state);
            if (rc != DB_ERR_CONN) {
                bulk_reset(st);
                mysql_stmt_reset(st);
            }
            if (rc == DB_ERR_CONN && !was_tx && attempt == 0) {
                log_warn("database connection lost, reconnecting: %s", msg);
                continue;
            }
            return rc;
        }
        bulk_reset(st);
        if (res)
            res->affected = affected;
        return DB_OK;
    }
    return DB_ERR_CONN;
}

int db_local_infile(struct db *db)
{
    struct db_rows r;
    int rc = db_query(db, "SELECT @@local_infile", DB_NOARGS, &r);
    if (rc != DB_OK)
        return rc;
    int on = db_int(&r, 0, 0, 0) != 0;
    db_rows_free(&r);
    return on;
}

int db_load_stream(struct db *db, const char *sql, const char *name, db_stream_fn fn, void *ctx,
                   struct db_res *res, unsigned int *warnings, int *started)
{
    if (started)
        *started = 0;
    int rc = db_ensure(db);
    if (rc != DB_OK)
        return rc;
    db->stream = (struct db_infile){.name = name, .fn = fn, .ctx = ctx};
    int bad = mysql_real_query(db->conn, sql, strlen(sql));
    int was_started = db->stream.started, aborted = db->stream.aborted;
    db->stream = (struct db_infile){0};
    if (started)
        *started = was_started;
    /* The producer's own stop is its answer, not database trouble (the protocol is in step:
     * the client ended the stream and read the server's reply). */
    if (bad && aborted && mysql_errno(db->conn) == CR_UNKNOWN_ERROR) {
        set_err(db, CR_UNKNOWN_ERROR, mysql_error(db->conn));
        return DB_ERR;
    }
    if (bad)
        return fail_conn(db, sql, mysql_errno(db->conn), mysql_error(db->conn),
                         mysql_sqlstate(db->conn));
    if (res) {
        res->affected = mysql_affected_rows(db->conn);
        res->insert_id = mysql_insert_id(db->conn);
    }
    if (warnings)
        *warnings = mysql_warning_count(db->conn);
    return DB_OK;
}
