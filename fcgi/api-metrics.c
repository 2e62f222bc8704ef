/* GET /metrics: Prometheus text format, for the addresses in metrics_allow only.
 *
 * Counters and histograms come from metric_counters (every process adds its counts there);
 * gauges are read from state the database keeps anyway (campaign counters, worker heartbeats,
 * unapplied webhook events), never by counting recipients. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "campaign_read.h"
#include "db.h"
#include "log.h"

static int address_allowed(const char *list, const char *addr)
{
    if (!addr || !list)
        return 0;
    size_t n = strlen(addr);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (len == n && len > 0 && strncmp(p, addr, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

struct out {
    char *buf;
    size_t len, cap;
    int oom;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
    if (o->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = 1;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t ncap = (o->cap + (size_t)n + 1) * 2;
        char *nb = realloc(o->buf, ncap);
        if (!nb) {
            o->oom = 1;
            return;
        }
        o->buf = nb;
        o->cap = ncap;
    }
}

static const char *family_of(const char *name, char *buf, size_t len)
{
    static const char *suffixes[] = {"_bucket", "_sum", "_count"};
    size_t n = strlen(name);
    for (size_t i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]);
        if (n > sl && strcmp(name + n - sl, suffixes[i]) == 0) {
            snprintf(buf, len, "%.*s", (int)(n - sl), name);
            return buf;
        }
    }
    return NULL;
}

/* Counters as stored; histogram buckets are stored per bucket and printed cumulatively. */
static void print_counters(struct out *o, const struct db_rows *r)
{
    char family[80], last_type[80] = "";
    double cumulative = 0;
    for (size_t i = 0; i < r->nrows; i++) {
        const char *name = db_val(r, i, 0), *labels = db_val(r, i, 1);
        double v = atof(db_val(r, i, 2));
        const char *fam = family_of(name, family, sizeof family);
        const char *typed = fam ? fam : name;
        if (strcmp(typed, last_type) != 0) {
            outf(o, "# TYPE %s %s\n", typed, fam ? "histogram" : "counter");
            snprintf(last_type, sizeof last_type, "%s", typed);
        }
        if (fam && strstr(name, "_bucket")) {
            if (i == 0 || strcmp(db_val(r, i - 1, 0), name) != 0)
                cumulative = 0;
            cumulative += v;
            outf(o, "%s{%s} %.17g\n", name, labels, cumulative);
        } else if (labels && *labels) {
            outf(o, "%s{%s} %.17g\n", name, labels, v);
        } else {
            outf(o, "%s %.17g\n", name, v);
        }
    }
}

/* Each live worker's requests in flight per number (sql/140: the worker sizes them from the
 * number's rate and the latency it measures, within worker_inflight and its memory budget). */
static void print_inflight(struct out *o, struct db *db)
{
    struct db_rows r;
    if (db_query(db,
                 "SELECT i.worker_id, i.account_id, i.inflight_target, i.inflight_wanted, "
                 "i.inflight_peak, i.latency_ms / 1000, IFNULL(i.bound, ''), i.capped "
                 "FROM worker_inflight i JOIN workers w ON w.id = i.worker_id "
                 "WHERE w.stopped_at IS NULL AND w.heartbeat_at > NOW(3) - INTERVAL 1 DAY "
                 "ORDER BY i.worker_id, i.account_id",
                 DB_NOARGS, &r) != DB_OK)
        return;
    static const struct {
        const char *name, *help;
        size_t col;
    } g[] = {
        {"pregon_worker_inflight_target", "Requests in flight the worker allows the number.", 2},
        {"pregon_worker_inflight_wanted",
         "Requests in flight the number's rate and latency ask for (with headroom).", 3},
        {"pregon_worker_inflight_peak", "Most requests in flight to the number lately.", 4},
        {"pregon_worker_latency_seconds", "The answer time the worker sizes by.", 5},
    };
    for (size_t k = 0; k < sizeof g / sizeof g[0]; k++) {
        outf(o, "# HELP %s %s\n# TYPE %s gauge\n", g[k].name, g[k].help, g[k].name);
        for (size_t i = 0; i < r.nrows; i++)
            outf(o, "%s{worker_id=\"%s\",account_id=\"%s\"} %s\n", g[k].name, db_val(&r, i, 0),
                 db_val(&r, i, 1), db_val(&r, i, g[k].col));
    }
    outf(o, "# HELP pregon_worker_inflight_capped 1 when the worker's own bound (worker_inflight "
            "or worker_inflight_memory_mb) cost the number slots in the last seconds.\n"
            "# TYPE pregon_worker_inflight_capped gauge\n");
    for (size_t i = 0; i < r.nrows; i++) {
        const char *b = db_val(&r, i, 6);
        outf(o,
             "pregon_worker_inflight_capped{worker_id=\"%s\",account_id=\"%s\",bound=\"%s\"} "
             "%s\n",
             db_val(&r, i, 0), db_val(&r, i, 1), b && *b ? b : "none", db_val(&r, i, 7));
    }
    db_rows_free(&r);
}

void api_metrics(struct request *req)
{
    if (!address_allowed(req->app->cfg.metrics_allow, req->remote_addr)) {
        http_error(req, 403, "forbidden", "metrics are not available from this address", NULL);
        return;
    }
    struct out o = {0};
    struct db *db = req->app->db;
    int up = db_ping(db) == DB_OK;
    outf(&o, "# HELP pregon_database_up Whether this FastCGI process reaches the database.\n");
    outf(&o, "# TYPE pregon_database_up gauge\npregon_database_up %d\n", up);
    if (!up) {
        http_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", o.buf, o.len);
        free(o.buf);
        return;
    }
    struct db_rows r;
    /* Buckets sort by their upper bound so the cumulative sums come out in order. */
    if (db_query(db,
                 "SELECT name, labels, SUM(value) AS value FROM metric_counters "
                 "GROUP BY name, labels ORDER BY name, IF(labels LIKE 'le=%', "
                 "CAST(IF(labels = 'le=\"+Inf\"', '1e308', SUBSTRING(labels, 5, "
                 "CHAR_LENGTH(labels) - 5)) AS DOUBLE), 0), labels",
                 DB_NOARGS, &r) == DB_OK) {
        print_counters(&o, &r);
        db_rows_free(&r);
    }
    struct campaign_queue_depth *q;
    size_t nq;
    if (campaign_read_queue_depths(db, &q, &nq) == DB_OK) {
        outf(&o, "# HELP pregon_queue_depth Recipients not yet answered by Meta, per campaign.\n"
                 "# TYPE pregon_queue_depth gauge\n");
        for (size_t i = 0; i < nq; i++)
            outf(&o, "pregon_queue_depth{campaign_id=\"%lld\",status=\"%s\"} %lld\n",
                 q[i].campaign_id, q[i].status, q[i].queued);
        free(q);
    }
    if (db_query(db,
                 "SELECT id, host, TIMESTAMPDIFF(MICROSECOND, heartbeat_at, NOW(3)) / 1e6 "
                 "FROM workers WHERE stopped_at IS NULL AND heartbeat_at > NOW(3) - INTERVAL 1 DAY",
                 DB_NOARGS, &r) == DB_OK) {
        outf(&o, "# HELP pregon_worker_heartbeat_age_seconds Seconds since each worker's last "
                 "heartbeat.\n# TYPE pregon_worker_heartbeat_age_seconds gauge\n");
        for (size_t i = 0; i < r.nrows; i++) {
            char host[256];
            /* Host names are ours, but keep the label value well-formed whatever it holds. */
            snprintf(host, sizeof host, "%s", db_val(&r, i, 1));
            for (char *c = host; *c; c++)
                if (*c == '"' || *c == '\\' || *c == '\n')
                    *c = '_';
            outf(&o, "pregon_worker_heartbeat_age_seconds{worker_id=\"%s\",host=\"%s\"} %s\n",
                 db_val(&r, i, 0), host, db_val(&r, i, 2));
        }
        db_rows_free(&r);
    }
    print_inflight(&o, db);
    if (db_query(db, "SELECT COUNT(*) FROM webhook_events WHERE applied_at IS NULL", DB_NOARGS,
                 &r) == DB_OK) {
        outf(&o,
             "# HELP pregon_webhook_backlog Stored webhook events not applied yet.\n"
             "# TYPE pregon_webhook_backlog gauge\npregon_webhook_backlog %s\n",
             db_val(&r, 0, 0));
        db_rows_free(&r);
    }
    if (o.oom) {
        free(o.buf);
        http_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    http_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", o.buf, o.len);
    free(o.buf);
}
