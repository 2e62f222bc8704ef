/* The claimer thread: its loop, which calls the rest in turn (schedule.c, accounts.c,
 * claim.c, slots.c, recover.c), and the configuration reload on SIGHUP. */
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

#include "metrics.h"
#include "claimer.h"
#include "db.h"
#include "log.h"
#include "queue.h"

/* SIGHUP: the pace, progressive start, breaker and timeouts follow the file again. */
static void reload_config(struct worker *w)
{
    struct config n;
    char err[512];
    if (config_load(&n, w->config_path, err, sizeof err) < 0) {
        log_error("reloading the configuration: %s (keeping the old one)", err);
        return;
    }
    int steps[PACE_RAMP_MAX];
    int ns = pace_ramp_parse(n.worker_ramp_steps, steps, PACE_RAMP_MAX);
    if (ns < 0) {
        log_error("reloading: bad worker_ramp_steps %s (keeping the old configuration)",
                  n.worker_ramp_steps);
        config_free(&n);
        return;
    }
    pthread_mutex_lock(&w->mu);
    memcpy(w->ramp_steps, steps, sizeof steps);
    w->nramp = ns;
    w->cfg.worker_batch = n.worker_batch;
    w->cfg.worker_poll_ms = n.worker_poll_ms;
    w->cfg.http_connect_timeout_ms = n.http_connect_timeout_ms;
    w->cfg.http_timeout_ms = n.http_timeout_ms;
    w->cfg.worker_pace_chunk_ms = n.worker_pace_chunk_ms;
    w->cfg.worker_arm_ahead_ms = n.worker_arm_ahead_ms;
    w->cfg.worker_max_attempts = n.worker_max_attempts;
    w->cfg.worker_ramp_every = n.worker_ramp_every;
    w->cfg.worker_ramp_max_error_pct = n.worker_ramp_max_error_pct;
    w->cfg.worker_breaker_min = n.worker_breaker_min;
    w->cfg.worker_breaker_pct = n.worker_breaker_pct;
    w->cfg.worker_param_pause = n.worker_param_pause;
    w->cfg.worker_pair_gap_s = n.worker_pair_gap_s;
    w->cfg.worker_throttle_pause_ms = n.worker_throttle_pause_ms;
    w->cfg.worker_schedule_margin_s = n.worker_schedule_margin_s;
    w->reload = 1;
    pthread_mutex_unlock(&w->mu);
    config_free(&n);
    log_info("configuration reloaded");
}

/* When the claimer last did each periodic job (monotonic seconds). */
struct claimer_clock {
    double recover, renew, refresh, accounts, freq_purge;
};

/* How often the frequency cap's history loses the rows older than the longest window. */
#define FREQ_PURGE_S 300.0

/* contact_sends rows older than any account's window count for nobody (lib/queue.h). A
 * slice per call, more next time while there is more. */
static void freq_purge(struct db *db)
{
    unsigned long long n = 0;
    if (queue_freq_purge(db, QUEUE_FREQ_CAP_MAX_WINDOW_S, &n) != DB_OK)
        log_warn("purging the frequency cap's history: %s", db_error(db));
}

/* The periodic jobs: accounts, campaigns (and what stopped running), recovery, orphans,
 * leases. */
static void claimer_periodic(struct worker *w, struct db *db, double mono, struct claimer_clock *t)
{
    if (mono - t->accounts >= ACCOUNTS_S || w->reload) {
        accounts_refresh(w, db);
        t->accounts = mono;
    }
    if (mono - t->refresh >= REFRESH_S || w->reload) {
        w->reload = 0;
        tier_refresh(w, db, mono); /* before the campaigns: their wait reasons read it */
        campaigns_refresh(w, db);
        release_stale(w, db, 0, 1);
        t->refresh = mono;
    }
    if (mono - t->recover >= w->cfg.worker_heartbeat_s) {
        recover(w, db);
        resend_in_doubt(w, db);
        t->recover = mono;
    }
    release_orphans(w, db);
    if (mono - t->freq_purge >= FREQ_PURGE_S) {
        freq_purge(db);
        t->freq_purge = mono;
    }
    if (mono - t->renew >= w->cfg.worker_lease_s / 3.0) {
        renew_leases(w, db);
        t->renew = mono;
    }
}

/* Held numbers (130429 seen by the recorder) and the slow recovery of their pace. Returns
 * how many jobs the heap holds. */
static size_t claimer_throttle(struct worker *w, struct db *db)
{
    pthread_mutex_lock(&w->mu);
    struct job *rj;
    while ((rj = jobq_pop(&w->reslot)))
        jobq_push(&rj->acct->waitq, rj);
    size_t inheap = w->nheap;
    pthread_mutex_unlock(&w->mu);
    for (struct acct *a = w->accts; a; a = a->next) {
        acct_size_inflight(w, a);
        /* 130429s: a real limit (a share of the window's answers) holds and cuts at
         * once; a clean or sporadic window adds a step back (lib/pace.h). */
        long long tnow = now_us();
        if (!a->thr_window_us)
            a->thr_window_us = tnow;
        pthread_mutex_lock(&w->mu);
        int over = tnow - a->thr_window_us >= PACE_THROTTLE_WINDOW_US;
        int expected = over ? 0 : (int)((a->mps > 0 ? a->mps : 80) * a->factor);
        enum pace_throttle th = pace_throttle_judge(a->thr_answers, a->thr_hits, expected);
        int closed = th == PACE_THR_LIMIT || over;
        double limit = pace_throttle_limit(a->factor, a->thr_answers, a->thr_hits);
        if (closed)
            a->thr_answers = a->thr_hits = 0;
        pthread_mutex_unlock(&w->mu);
        if (closed) {
            a->thr_window_us = tnow;
            if (th == PACE_THR_LIMIT)
                pace_hold(w, db, a, limit);
            else
                a->factor = pace_throttle_adjust(a->factor, th, a->thr_limit);
            /* Full speed again, or not found again for a while (a real limit is found at
             * every overshoot; a window of sporadic 130429s may pass for one): forgotten. */
            if (a->factor >= 1.0 || tnow - a->thr_limit_us > PACE_THROTTLE_FORGET_US)
                a->thr_limit = 0;
        }
    }
    return inheap;
}

/* Slots for every account while the heap has room; *waiting (may be NULL) gets the jobs
 * still waiting. Returns 1 when something was handed to the sender. */
static int claimer_top_up(struct worker *w, struct db *db, size_t cap_heap, size_t *inheap,
                          size_t *waiting)
{
    int worked = 0;
    for (struct acct *a = w->accts; a; a = a->next) {
        if (*inheap < cap_heap) {
            int h = slot_account(w, db, a, cap_heap - *inheap);
            *inheap += (size_t)(h > 0 ? h : 0);
            if (h > 0)
                worked = 1;
        } else if (!waiting) {
            break;
        }
        if (waiting)
            *waiting += a->waitq.n;
    }
    return worked;
}

/* Claims where the queue runs low: about a second of sending per account, campaigns in
 * turn from rr. Returns 1 when something was claimed. */
static int claimer_claim_round(struct worker *w, struct db *db, size_t rr)
{
    int worked = 0;
    size_t ncamps = 0;
    pthread_mutex_lock(&w->mu);
    for (struct camp *c = w->camps; c; c = c->next)
        ncamps++;
    pthread_mutex_unlock(&w->mu);
    for (size_t k = 0; k < ncamps && !w->stopping; k++) {
        pthread_mutex_lock(&w->mu);
        struct camp *c = w->camps;
        for (size_t x = 0; c && x < (rr + k) % ncamps; x++)
            c = c->next;
        int ok = c && (c->claimable || c->retries_claimable);
        struct acct *a = c ? acct_find(w, c->account_id) : NULL;
        pthread_mutex_unlock(&w->mu);
        if (!ok || !a || !a->ep)
            continue;
        long long iv = acct_interval(a);
        long long per_s = iv > 0 ? 1000000 / iv : 100000;
        long long target = per_s + w->cfg.worker_batch;
        if (target > 4 * (long long)w->cfg.worker_batch + w->cfg.worker_inflight)
            target = 4 * (long long)w->cfg.worker_batch + w->cfg.worker_inflight;
        if ((long long)a->waitq.n >= target)
            continue;
        int limit = c->batch_size < w->cfg.worker_batch ? c->batch_size : w->cfg.worker_batch;
        if (limit < 1)
            limit = w->cfg.worker_batch;
        int got = claim_batch(w, db, c, a, limit);
        if (got > 0) {
            worked = 1;
            metrics_observe("pregon_claim_batch_size", got);
        } else if (got < 0)
            log_warn("claiming for campaign %lld: %s", c->id, db_error(db));
    }
    return worked;
}

/* The arm horizon (lib/pace.h pace_arm_ahead_us) from the slowest claimer pass of this
 * window of ARM_STALL_WINDOW_S and the one before: a stall is remembered 15 to 30 s. */
#define ARM_STALL_WINDOW_S 15.0
static void claimer_arm_ahead(struct worker *w, double mono, long long pass_us)
{
    if (mono - w->stall_since >= ARM_STALL_WINDOW_S) {
        w->stall_us[1] = w->stall_us[0];
        w->stall_us[0] = 0;
        w->stall_since = mono;
    }
    if (pass_us > w->stall_us[0])
        w->stall_us[0] = pass_us;
    long long stall = w->stall_us[0] > w->stall_us[1] ? w->stall_us[0] : w->stall_us[1];
    long long least = (long long)w->cfg.worker_arm_ahead_ms * 1000;
    long long arm = pace_arm_ahead_us(least, stall);
    if (arm > least && arm >= w->arm_ahead_us * 3 / 2)
        log_info("arming %lld ms ahead: a pass of the claimer took %lld ms (a slow database)",
                 arm / 1000, pass_us / 1000);
    else if (arm == least && w->arm_ahead_us > least)
        log_info("arming %lld ms ahead again", arm / 1000);
    w->arm_ahead_us = arm;
}

/* Signals, the drain deadline and SIGHUP: 1 when the claimer is to stop. */
static int claimer_should_stop(struct worker *w)
{
    if (worker_sig_stop)
        w->stopping = 1;
    if (w->drain_deadline_us && (now_us() >= w->drain_deadline_us || w->idle_passes > 60)) {
        if (w->idle_passes > 60)
            log_info("drain: nothing left to do");
        w->stopping = 1;
    }
    if (worker_sig_hup) {
        worker_sig_hup = 0;
        reload_config(w);
    }
    return w->stopping;
}

void *claimer_main(void *arg)
{
    struct worker *w = arg;
    struct db *db = db_open(&w->cfg);
    if (!db) {
        log_error("out of memory");
        pthread_mutex_lock(&w->mu);
        w->claimer_done = 1;
        pthread_mutex_unlock(&w->mu);
        return NULL;
    }
    struct claimer_clock t = {.renew = now_monotonic(), .accounts = -1e9};
    w->arm_ahead_us = (long long)w->cfg.worker_arm_ahead_ms * 1000;
    w->stall_since = now_monotonic();
    int backoff_ms = 100;
    size_t rr = 0; /* round robin over campaigns */
    while (!claimer_should_stop(w)) {
        double mono = now_monotonic();
        if (db_ensure(db) != DB_OK) {
            log_warn("database not reachable (%s); retrying in %d ms", db_error(db), backoff_ms);
            usleep((useconds_t)backoff_ms * 1000);
            if (backoff_ms < 5000)
                backoff_ms *= 2;
            continue;
        }
        backoff_ms = 100;
        /* The claimer's reads decide (campaign status, opt-outs, the tier): on a Galera node
         * they wait for what other nodes committed (lib/db.h; no statement elsewhere). */
        if (db_sync_wait(db, 1) != DB_OK)
            log_warn("wsrep_sync_wait: %s", db_error(db));
        long long pass_t0 = now_us();
        claimer_periodic(w, db, mono, &t);
        size_t inheap = claimer_throttle(w, db);
        /* Top the sender up first: a claim of a big batch takes tens of milliseconds, and a
         * fast number empties the heap meanwhile. */
        size_t cap_heap = (size_t)(2 * w->cfg.worker_inflight);
        if (cap_heap < (size_t)w->cfg.worker_batch)
            cap_heap = (size_t)w->cfg.worker_batch;
        int worked = claimer_top_up(w, db, cap_heap, &inheap, NULL);
        worked |= claimer_claim_round(w, db, rr);
        rr++;
        /* Slots and arming: keep the sender fed up to the arm horizon. */
        pthread_mutex_lock(&w->mu);
        inheap = w->nheap;
        pthread_mutex_unlock(&w->mu);
        size_t waiting = 0;
        worked |= claimer_top_up(w, db, cap_heap, &inheap, &waiting);
        claimer_arm_ahead(w, mono, now_us() - pass_t0);
        pthread_mutex_lock(&w->mu);
        inheap = w->nheap;
        int busy = w->inflight > 0 || w->nheap > 0 || w->done.n > 0;
        pthread_mutex_unlock(&w->mu);
        if (w->drain_deadline_us) {
            if (!busy && !waiting && !worked)
                w->idle_passes++;
            else
                w->idle_passes = 0;
        }
        if (worked || (waiting && inheap < cap_heap / 2))
            usleep(1000);
        else if (waiting || busy)
            usleep(5000);
        else
            usleep((useconds_t)(w->cfg.worker_poll_ms > 50 ? 50 : w->cfg.worker_poll_ms) * 1000);
    }
    /* Stopping: nothing new starts; what never started goes back to pending. */
    release_stale(w, db, 1, 25);
    pthread_mutex_lock(&w->mu);
    w->claimer_done = 1;
    pthread_mutex_unlock(&w->mu);
    send_wakeup(w);
    db_close(db);
    return NULL;
}
