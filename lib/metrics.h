/* Prometheus counters and histograms shared by every process through the database.
 *
 * A process counts in memory (metrics_add, metrics_observe) and now and then adds its counts
 * to the table metric_counters with one statement (metrics_flush); GET /metrics reads the
 * table. One registry per process, shared by its threads (a mutex guards it). The database
 * layer's own counts (db_counts_get: reconnections, errors) are taken in at each flush. */
#ifndef PREGON_METRICS_H
#define PREGON_METRICS_H

struct db;

/* Adds delta to counter name{labels}. labels is Prometheus label text without braces, e.g.
 * "outcome=\"sent\",code=\"0\"" (callers pass only values they produced themselves). */
void metrics_add(const char *name, const char *labels, double delta);
/* Records one observation of histogram name (seconds for latencies); buckets are fixed per
 * histogram family: see metrics.c. */
void metrics_observe(const char *name, double value);
/* Writes the accumulated counts when at least min_interval_s passed since the last flush
 * (0: now). Returns a db_rc; on failure the counts stay and go with the next flush. */
int metrics_flush(struct db *db, double min_interval_s);
/* Whether there are counts not flushed yet. */
int metrics_pending(void);
/* Drops what was not flushed (tests). */
void metrics_reset(void);

#endif
