#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"

#define MAX_SERIES 256

struct series {
    char name[64];
    char labels[256];
    double value;
};

/* The worker counts from several threads; the lock is only ever held for a few
 * microseconds (never across the database write). */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct series reg[MAX_SERIES];
static int nreg;
static double last_flush;
static struct db_counts db_seen; /* the database's counts already taken into reg */

/* Histogram buckets (upper bounds); latencies in seconds, sizes in items. */
static const double latency_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const double size_buckets[] = {1, 5, 10, 25, 50, 100, 200, 500, 1000};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add_locked(const char *name, const char *labels, double delta);

/* The database layer counts its own trouble (db_counts_get); what is new since the last look
 * becomes counts here, so db.c does not call into metrics (no db <-> metrics cycle). */
static void db_counts_take_locked(void)
{
    struct db_counts now;
    db_counts_get(&now);
    if (now.reconnects > db_seen.reconnects)
        add_locked("pregon_database_reconnects_total", "",
                   (double)(now.reconnects - db_seen.reconnects));
    if (now.err_connection > db_seen.err_connection)
        add_locked("pregon_database_errors_total", "kind=\"connection\"",
                   (double)(now.err_connection - db_seen.err_connection));
    if (now.err_retry > db_seen.err_retry)
        add_locked("pregon_database_errors_total", "kind=\"deadlock_or_timeout\"",
                   (double)(now.err_retry - db_seen.err_retry));
    if (now.err_other > db_seen.err_other)
        add_locked("pregon_database_errors_total", "kind=\"other\"",
                   (double)(now.err_other - db_seen.err_other));
    /* Shown from the start, 0 included (issue 15 measures it). */
    add_locked("pregon_deadlock_retries_total", "", (double)(now.deadlocks - db_seen.deadlocks));
    db_seen = now;
}

void metrics_add(const char *name, const char *labels, double delta)
{
    pthread_mutex_lock(&mu);
    add_locked(name, labels, delta);
    pthread_mutex_unlock(&mu);
}

static void add_locked(const char *name, const char *labels, double delta)
{
    if (!labels)
        labels = "";
    for (int i = 0; i < nreg; i++) {
        if (strcmp(reg[i].name, name) == 0 && strcmp(reg[i].labels, labels) == 0) {
            reg[i].value += delta;
            return;
        }
    }
    if (nreg == MAX_SERIES || strlen(name) >= sizeof reg[0].name ||
        strlen(labels) >= sizeof reg[0].labels)
        return; /* a bounded registry: an unexpected label explosion never eats memory */
    snprintf(reg[nreg].name, sizeof reg[nreg].name, "%s", name);
    snprintf(reg[nreg].labels, sizeof reg[nreg].labels, "%s", labels);
    reg[nreg].value = delta;
    nreg++;
}

void metrics_observe(const char *name, double value)
{
    int is_size = strstr(name, "size") != NULL;
    const double *b = is_size ? size_buckets : latency_buckets;
    size_t nb = is_size ? sizeof size_buckets / sizeof size_buckets[0]
                        : sizeof latency_buckets / sizeof latency_buckets[0];
    char metric[80], labels[64];
    snprintf(metric, sizeof metric, "%s_bucket", name);
    for (size_t i = 0; i < nb; i++) {
        if (value <= b[i]) {
            /* Stored per bucket, not cumulative: /metrics adds them up when it prints. */
            snprintf(labels, sizeof labels, "le=\"%g\"", b[i]);
            metrics_add(metric, labels, 1);
            break;
        }
        if (i == nb - 1)
            metrics_add(metric, "le=\"+Inf\"", 1);
    }
    snprintf(metric, sizeof metric, "%s_sum", name);
    metrics_add(metric, "", value);
    snprintf(metric, sizeof metric, "%s_count", name);
    metrics_add(metric, "", 1);
}

static int series_cmp(const void *a, const void *b)
{
    const struct series *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->labels, y->labels);
}

int metrics_flush(struct db *db, double min_interval_s)
{
    double now = now_s();
    /* Take the counts out under the lock; write them without it. (A process may flush from
     * more than one thread, each with its own connection: the FastCGI applier.) */
    pthread_mutex_lock(&mu);
    db_counts_take_locked();
    if (nreg == 0 || (min_interval_s > 0 && now - last_flush < min_interval_s)) {
        pthread_mutex_unlock(&mu);
        return DB_OK;
    }
    last_flush = now;
    int n = nreg;
    struct series *snap = malloc(sizeof *snap * (size_t)(n ? n : 1));
    if (snap) {
        memcpy(snap, reg, sizeof *snap * (size_t)n);
        nreg = 0;
    }
    pthread_mutex_unlock(&mu);
    if (!snap)
        return DB_ERR;
    /* Every process writes the rows in the same order, so concurrent flushes never deadlock. */
    qsort(snap, (size_t)n, sizeof snap[0], series_cmp);
    char *sql = malloc((size_t)n * 16 + 160);
    db_arg *args = calloc((size_t)n * 3 + 1, sizeof *args);
    int rc = DB_ERR;
    if (sql && args) {
        size_t o =
            (size_t)sprintf(sql, "INSERT INTO metric_counters (name, labels, slot, value) VALUES ");
        size_t a = 0;
        for (int i = 0; i < n; i++) {
            /* this process's own rows (db_writer_slot): GET /metrics sums the slots */
            o += (size_t)sprintf(sql + o, "%s(?,?,%d,?)", i ? "," : "", db_writer_slot(db));
            args[a++] = DB_STR(snap[i].name);
            args[a++] = DB_STR(snap[i].labels);
            args[a++] = DB_DBL(snap[i].value);
        }
        sprintf(sql + o, " ON DUPLICATE KEY UPDATE value = value + VALUES(value)");
        rc = db_exec(db, sql, args, a, NULL);
    }
    free(sql);
    free(args);
    if (rc != DB_OK) {
        /* Not written: the counts go with the next flush. */
        log_warn("metrics flush: %s", db_error(db));
        pthread_mutex_lock(&mu);
        for (int i = 0; i < n; i++)
            add_locked(snap[i].name, snap[i].labels, snap[i].value);
        pthread_mutex_unlock(&mu);
    }
    free(snap);
    return rc;
}

int metrics_pending(void)
{
    pthread_mutex_lock(&mu);
    db_counts_take_locked();
    int n = nreg;
    pthread_mutex_unlock(&mu);
    return n > 0;
}

void metrics_reset(void)
{
    pthread_mutex_lock(&mu);
    nreg = 0;
    db_counts_get(&db_seen);
    pthread_mutex_unlock(&mu);
}
