/* Liveness and recovery: the worker's registration and heartbeat (its own thread), the
 * claims of workers that died, claims whose commit answer was lost, lease renewal and the
 * one resend of an in-doubt recipient nothing settled. */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "campaign_state.h"
#include "campaign_store.h"
#include "counters.h"
#include "metrics.h"
#include "queue.h"
#include "sendlog.h"
#include "claimer.h"
#include "db.h"
#include "log.h"

/* ---- registration -------------------------------------------------------------------- */

int claim_register(struct worker *w, struct db *db)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    struct db_res res;
    int rc = db_exec(db, "INSERT INTO workers (host, pid) VALUES (?, ?)",
                     DB_ARGS(DB_STR(host), DB_INT(getpid())), &res);
    if (rc != DB_OK)
        return rc;
    pthread_mutex_lock(&w->mu);
    w->worker_id = (long long)res.insert_id;
    pthread_mutex_unlock(&w->mu);
    return DB_OK;
}

void claim_unregister(struct worker *w, struct db *db)
{
    db_exec(db, "UPDATE workers SET stopped_at = NOW(3) WHERE id = ?",
            DB_ARGS(DB_INT(w->worker_id)), NULL);
}

void claim_heartbeat(struct worker *w, struct db *db)
{
    struct db_res res;
    if (db_exec(db, "UPDATE workers SET heartbeat_at = NOW(3) WHERE id = ? AND stopped_at IS NULL",
                DB_ARGS(DB_INT(w->worker_id)), &res) != DB_OK) {
        log_warn("heartbeat: %s", db_error(db));
        return;
    }
    if (res.affected == 0) {
        /* Declared dead while the database was away: our claims are being recovered (an
         * arm or a record under their old tokens no longer matches). Start afresh. */
        long long old = w->worker_id;
        if (claim_register(w, db) == DB_OK)
            log_warn("worker %lld was declared dead by another; now worker %lld", old,
                     w->worker_id);
    }
    /* Our share of the queue, as workers come and go. */
    int part, nparts;
    if (queue_partition(db, w->worker_id, w->cfg.worker_dead_s, &part, &nparts) == DB_OK) {
        pthread_mutex_lock(&w->mu);
        if (nparts != w->nparts || part != w->part)
            log_info("queue partition %d of %d", part, nparts);
        w->part = part;
        w->nparts = nparts;
        pthread_mutex_unlock(&w->mu);
    }
}

/* ---- recovery ---------------------------------------------------------------------------- */

/* The campaigns that may have claims in flight ('sending' rows): ix_recipients_queue starts
 * with campaign_id, so the in-flight rows are found campaign by campaign (sql/091). The
 * counters move with the rows, in the same transactions; the running campaigns come too, in
 * case (lib/campaign_store.h). */

/* Claims of workers whose heartbeat stopped (or that stopped without releasing), and leases
 * that ran out: never armed -> pending again; armed -> unknown (the request may have reached
 * Meta: a status webhook or an operator settles it, never an automatic resend). */
void recover(struct worker *w, struct db *db)
{
    struct db_res res;
    if (db_exec(db,
                "UPDATE workers SET stopped_at = NOW(3) WHERE stopped_at IS NULL AND "
                "heartbeat_at < NOW(3) - INTERVAL ? SECOND AND id <> ?",
                DB_ARGS(DB_INT(w->cfg.worker_dead_s), DB_INT(w->worker_id)), &res) == DB_OK &&
        res.affected)
        log_warn("%llu worker(s) stopped sending heartbeats; recovering their claims",
                 res.affected);
    long long camps[INFLIGHT_CAMPS];
    int ncamps = campaign_store_inflight(db, camps, INFLIGHT_CAMPS);
    if (ncamps <= 0)
        return;
    /* Most rounds find nothing: they take no locks (lib/queue.c SQL_STALE_ANY). */
    int any = 0;
    if (queue_stale_any(db, camps, (size_t)ncamps, w->worker_id, &any) != DB_OK || !any)
        return;
    for (int round = 0; round < 20; round++) {
        if (db_begin(db) != DB_OK)
            return;
        struct db_rows r;
        int rc = queue_stale_claims(db, camps, (size_t)ncamps, w->worker_id, &r);
        if (rc != DB_OK || r.nrows == 0) {
            if (rc == DB_OK)
                db_rows_free(&r);
            db_rollback(db);
            return;
        }
        /* A few statements for the whole set: the transaction stays short, so the
         * campaign rows it updates are not held long. */
        long long armed[500], unarmed[500], armed_camp[500];
        size_t na = 0, nu = 0;
        long long camp_ids[64];
        struct msg_delta deltas[64];
        size_t nc = 0;
        memset(deltas, 0, sizeof deltas);
        for (size_t i = 0; i < r.nrows; i++) {
            struct queue_stale st;
            queue_stale_row(&r, i, &st);
            long long id = st.id, cid = st.campaign_id;
            int is_armed = st.armed;
            size_t k;
            for (k = 0; k < nc && camp_ids[k] != cid; k++)
                ;
            if (k == nc) {
                if (nc == 64)
                    continue; /* the next round takes it */
                camp_ids[nc++] = cid;
            }
            if (is_armed) {
                armed_camp[na] = cid;
                armed[na++] = id;
                msg_delta_move(&deltas[k], MSG_SENDING, MSG_UNKNOWN);
            } else {
                unarmed[nu++] = id;
                msg_delta_move(&deltas[k], MSG_SENDING, MSG_PENDING);
            }
        }
        db_rows_free(&r);
        if (nu)
            rc = queue_requeue(db, unarmed, nu);
        /* One statement per campaign: the rows it inserts count in its minute. */
        for (size_t k = 0; k < nc && rc == DB_OK && na; k++) {
            long long ids[500];
            size_t ni = 0;
            for (size_t i = 0; i < na; i++)
                if (armed_camp[i] == camp_ids[k])
                    ids[ni++] = armed[i];
            if (!ni)
                continue;
            rc = sendlog_unknown_stopped(db, camp_ids[k], ids, ni, w->worker_id);
        }
        if (rc == DB_OK && na)
            rc = queue_mark_unknown(db, armed, na);
        for (size_t k = 0; k < nc && rc == DB_OK; k++)
            rc = counters_apply(db, camp_ids[k], &deltas[k]);
        if (rc == DB_OK && db_commit(db) == DB_OK) {
            log_warn("recovered claims of stopped workers: %zu back to pending, %zu unknown", nu,
                     na);
        } else {
            db_rollback(db);
            return;
        }
    }
}

/* Reconciliation (issue 15): an in-doubt recipient (unknown) that no status webhook
 * settled within its account's in_doubt_resend_after_s (> 0; 0 = never, the default) is
 * resent once: pending again with a send_log row `retry` that says so. Once: only a
 * recipient with a single `unknown` row qualifies, so a resend in doubt again stays
 * unknown. A campaign completed meanwhile runs again for it. Runs with the recovery. */
void resend_in_doubt(struct worker *w, struct db *db)
{
    struct db_rows r;
    if (queue_in_doubt_due(db, &r) != DB_OK)
        return;
    size_t n = 0;
    for (size_t i = 0; i < r.nrows; i++) {
        struct queue_in_doubt due;
        queue_in_doubt_row(&r, i, &due);
        long long id = due.id, cid = due.campaign_id;
        char text[160];
        snprintf(text, sizeof text,
                 "in doubt for %lld s and nothing settled it: resent once "
                 "(in_doubt_resend_after_s)",
                 due.resend_after_s);
        unsigned long long resent = 0;
        struct msg_delta d = {0};
        /* recipient first, then the campaign (the lock order) */
        int rc = db_begin(db);
        if (rc == DB_OK)
            rc = queue_resend(db, id, text, &resent);
        if (rc == DB_OK && resent == 1) {
            rc = sendlog_retry(db, cid, id, text, w->worker_id);
            msg_delta_move(&d, MSG_UNKNOWN, MSG_PENDING);
            if (rc == DB_OK)
                rc = counters_apply(db, cid, &d);
            if (rc == DB_OK)
                rc =
                    campaign_state_apply_one(db, cid, CEV_RESEND_IN_DOUBT, CACT_WORKER, NULL, NULL);
            if (rc == DB_OK)
                n++;
        }
        if (rc == DB_OK)
            rc = db_commit(db);
        if (rc != DB_OK) {
            db_rollback(db);
            break;
        }
    }
    db_rows_free(&r);
    if (n)
        log_warn("resent %zu in-doubt recipient(s) that nothing settled in time", n);
}

/* Claims whose commit answer was lost: whatever of them exists goes back to pending. */
void release_orphans(struct worker *w, struct db *db)
{
    while (w->norphans) {
        struct orphan *o = &w->orphans[w->norphans - 1];
        unsigned long long released = 0;
        int rc = db_begin(db);
        if (rc == DB_OK)
            rc = queue_release_orphan(db, o->campaign_id, w->worker_id, o->token, &released);
        if (rc == DB_OK) {
            struct msg_delta d = {0};
            d.sending = -(int)released;
            d.pending = (int)released;
            rc = counters_apply(db, o->campaign_id, &d);
        }
        if (rc == DB_OK)
            rc = db_commit(db);
        if (rc != DB_OK) {
            db_rollback(db);
            return;
        }
        if (released)
            log_warn("released %llu claim(s) whose commit was in doubt", released);
        w->norphans--;
    }
}

void renew_leases(struct worker *w, struct db *db)
{
    long long camps[INFLIGHT_CAMPS];
    int ncamps = campaign_store_inflight(db, camps, INFLIGHT_CAMPS);
    if (ncamps > 0 &&
        queue_renew_leases(db, camps, (size_t)ncamps, w->worker_id, w->cfg.worker_lease_s) != DB_OK)
        log_warn("renewing leases: %s", db_error(db));
}

/* The heartbeat has its own thread and connection, so a busy or blocked claimer never looks
 * dead to the other workers. It beats until everything is recorded, then unregisters. */
/* ---- in flight, for /metrics ------------------------------------------------------------ */

#define INFLIGHT_ACCTS 64

static const char *bound_name(enum pace_inflight_cap b)
{
    return b == PACE_CAP_MEMORY ? "memory" : b == PACE_CAP_CEILING ? "ceiling" : NULL;
}

/* Each number's in-flight figures (the accounts this worker sends for) into worker_inflight,
 * and the slots lost to the worker's bound since the last report as a counter. */
static void inflight_report(struct worker *w, struct db *db)
{
    struct {
        long long id, latency_us, capped_n, capped_new, capped_us;
        int target, want, peak;
        enum pace_inflight_cap bound, capped_why;
    } v[INFLIGHT_ACCTS];
    size_t n = 0;
    pthread_mutex_lock(&w->mu);
    long long wid = w->worker_id, t = now_us();
    for (struct acct *a = w->accts; a && n < INFLIGHT_ACCTS; a = a->next) {
        if (!a->latency_us && !a->capped_n && !a->inflight_peak)
            continue; /* nothing sent for it yet */
        v[n].id = a->id;
        v[n].latency_us = a->latency_us;
        v[n].capped_n = a->capped_n;
        v[n].capped_new = a->capped_n - a->capped_reported;
        a->capped_reported = a->capped_n;
        v[n].capped_us = a->capped_us;
        v[n].target = a->inflight_target;
        v[n].want = a->inflight_want;
        v[n].peak = a->inflight > a->inflight_peak ? a->inflight : a->inflight_peak;
        a->inflight_peak = a->inflight;
        v[n].bound = a->bound;
        v[n].capped_why = a->capped_why;
        n++;
    }
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < n; i++) {
        int capped = v[i].capped_us && t - v[i].capped_us < 2000000;
        const char *bound = bound_name(capped ? v[i].capped_why : v[i].bound);
        if (db_exec(db,
                    "INSERT INTO worker_inflight (worker_id, account_id, inflight_target, "
                    "inflight_wanted, inflight_peak, latency_ms, bound, capped, capped_slots, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NOW(3)) ON DUPLICATE KEY "
                    "UPDATE inflight_target = VALUE(inflight_target), inflight_wanted = "
                    "VALUE(inflight_wanted), inflight_peak = VALUE(inflight_peak), latency_ms = "
                    "VALUE(latency_ms), bound = VALUE(bound), capped = VALUE(capped), "
                    "capped_slots = VALUE(capped_slots), updated_at = NOW(3)",
                    DB_ARGS(DB_INT(wid), DB_INT(v[i].id), DB_INT(v[i].target), DB_INT(v[i].want),
                            DB_INT(v[i].peak), DB_DBL((double)v[i].latency_us / 1000.0),
                            bound ? DB_STR(bound) : DB_NULL, DB_INT(capped), DB_INT(v[i].capped_n)),
                    NULL) != DB_OK)
            log_warn("in-flight figures for /metrics: %s", db_error(db));
        if (v[i].capped_new > 0 && bound_name(v[i].capped_why)) {
            char labels[96];
            snprintf(labels, sizeof labels, "account_id=\"%lld\",bound=\"%s\"", v[i].id,
                     bound_name(v[i].capped_why));
            metrics_add("pregon_inflight_capped_slots_total", labels, (double)v[i].capped_new);
        }
    }
}

void *heartbeat_main(void *arg)
{
    struct worker *w = arg;
    struct db *db = db_open(&w->cfg);
    if (!db)
        return NULL;
    double last = 0, last_inflight = 0;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        int done = w->recorder_done;
        pthread_mutex_unlock(&w->mu);
        if (done)
            break;
        double mono = now_monotonic();
        if (mono - last >= w->cfg.worker_heartbeat_s) {
            claim_heartbeat(w, db);
            last = mono;
        }
        if (mono - last_inflight >= 1.0) {
            inflight_report(w, db);
            last_inflight = mono;
        }
        /* The counts for /metrics ride on the heartbeat's connection too. */
        metrics_flush(db, 2.0);
        usleep(50000);
    }
    metrics_flush(db, 0);
    claim_unregister(w, db);
    db_close(db);
    return NULL;
}
