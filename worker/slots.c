/* Slots and arming: the account's waiting jobs get their slots up to the arm horizon, are
 * armed ("may have left") and handed to the sender; what will not be sent is released. */
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

#include "counters.h"
#include "queue.h"
#include "claimer.h"
#include "db.h"
#include "log.h"

/* ---- releasing ---------------------------------------------------------------------------- */

/* Puts never-started jobs back to pending without counting an attempt and frees them.
 * Best effort: what cannot be released stays claimed by us, and the other workers recover
 * it (to pending when it was never armed). */
static void release_jobs(struct worker *w, struct db *db, struct jobq *q, int tries)
{
    while (q->head) {
        /* One statement per claim token (one campaign each). */
        unsigned long long tok = q->head->token;
        struct camp *c = q->head->camp;
        long long ids[MAX_BATCH];
        struct queue_pace_undo und[MAX_BATCH];
        size_t n = 0, nu = 0;
        struct jobq rest = {0}, mine = {0};
        struct job *j;
        while ((j = jobq_pop(q))) {
            if (j->token == tok && n < MAX_BATCH) {
                ids[n++] = j->id;
                if (j->acct) /* never left: its pace note is taken back */
                    und[nu++] = (struct queue_pace_undo){j->acct->waba_id, j->phone, j->token};
                jobq_push(&mine, j);
            } else {
                jobq_push(&rest, j);
            }
        }
        *q = rest;
        int rc = DB_ERR;
        for (int t = 0; t < tries && rc != DB_OK; t++) {
            if (t)
                usleep(200000);
            unsigned long long released = 0;
            rc = db_begin(db);
            if (rc == DB_OK)
                rc = queue_release(db, ids, n, tok, &released);
            if (rc == DB_OK)
                rc = queue_pace_undo(db, und, nu);
            if (rc == DB_OK) {
                struct msg_delta d = {0};
                d.sending = -(int)released;
                d.pending = (int)released;
                rc = counters_apply(db, c->id, &d);
            }
            if (rc == DB_OK)
                rc = db_commit(db);
            if (rc != DB_OK)
                db_rollback(db);
        }
        if (rc != DB_OK)
            log_warn("releasing %zu claims failed (%s); another worker will recover them", n,
                     db_error(db));
        pthread_mutex_lock(&w->mu);
        while ((j = jobq_pop(&mine)))
            job_free(j);
        pthread_mutex_unlock(&w->mu);
    }
}

/* ---- arming and slots -------------------------------------------------------------------- */

/* Commits "may have left" for the unarmed jobs of v (one claim token each group); drops the
 * jobs whose claim was lost meanwhile. Returns DB_OK, or an error with nothing armed. */
static int arm_jobs(struct db *db, struct job **v, size_t n, size_t *kept)
{
    *kept = n;
    int rc = db_begin(db);
    if (rc != DB_OK)
        return rc;
    size_t i = 0;
    while (i < n && rc == DB_OK) {
        unsigned long long tok = v[i]->token;
        long long ids[MAX_BATCH];
        size_t k = 0, from = i;
        while (i < n && v[i]->token == tok && k < MAX_BATCH)
            ids[k++] = v[i++]->id;
        unsigned long long armed = 0;
        rc = queue_arm(db, ids, k, tok, &armed);
        if (rc != DB_OK || armed == k)
            continue;
        /* Some claims were recovered by another worker: those are not ours to send. */
        struct db_rows r;
        rc = queue_still_claimed(db, ids, k, tok, &r);
        if (rc != DB_OK)
            continue;
        for (size_t x = from; x < i; x++) {
            int found = 0;
            for (size_t y = 0; y < r.nrows; y++)
                if (db_int(&r, y, 0, 0) == v[x]->id)
                    found = 1;
            if (!found)
                v[x]->armed = -1;
        }
        db_rows_free(&r);
    }
    if (rc == DB_OK)
        rc = db_commit(db);
    if (rc != DB_OK) {
        db_rollback(db);
        for (size_t x = 0; x < n; x++)
            if (v[x]->armed < 0)
                v[x]->armed = 0;
        return rc;
    }
    size_t out = 0;
    for (size_t x = 0; x < n; x++) {
        if (v[x]->armed < 0) {
            log_warn("recipient %lld: claim recovered by another worker; not sending", v[x]->id);
            continue; /* the caller frees it */
        }
        v[x]->armed = 1;
        out++;
    }
    *kept = out;
    return DB_OK;
}

/* Gives slots to the account's waiting jobs up to the arm horizon, arms them and hands them
 * to the sender. Returns how many were handed over. */
int slot_account(struct worker *w, struct db *db, struct acct *a, size_t room)
{
    if (!a->waitq.n || room == 0)
        return 0;
    long long now = now_us(), horizon = now + w->arm_ahead_us;
    long long iv = acct_interval(a);
    if (iv != a->slot_iv) {
        a->slot_left = 0;
        a->slot_iv = iv;
    }
    long long tol = pace_tolerance_us(iv);
    size_t cap = a->waitq.n < room ? a->waitq.n : room;
    struct job **picked = calloc(cap + 1, sizeof *picked);
    struct job **unarmed = calloc(cap + 1, sizeof *unarmed);
    if (!picked || !unarmed) {
        free(picked);
        free(unarmed);
        return 0;
    }
    size_t np = 0, nu = 0;
    while (np < cap && a->waitq.n) {
        if (a->slot_left == 0) {
            int want = pace_chunk(iv, w->cfg.worker_pace_chunk_ms, (int)a->waitq.n);
            /* The lead covers arming before the first slot; jobs armed with their claim
             * need only the hand-over to the sender. */
            long long lead = a->waitq.head && a->waitq.head->armed ? LEAD_ARMED_US : LEAD_US;
            long long first = pace_take(db, a->pace_key, &a->pace_row, iv, want, now + lead);
            if (first < 0)
                break;
            a->slot_next = first;
            a->slot_left = want;
        }
        long long ta = a->slot_next;
        if (ta > horizon)
            break;
        if (ta + tol < now) { /* missed while we were busy: dropped, never bunched */
            a->slot_next += iv;
            a->slot_left--;
            continue;
        }
        /* The first waiting job whose campaign may send at ta. */
        struct job *prev = NULL, *j = a->waitq.head, *fit = NULL, *fprev = NULL;
        long long fit_at = ta;
        for (; j; prev = j, j = j->next) {
            struct camp *c = j->camp;
            if (!c->sendable)
                continue;
            if (c->cap_interval_us <= 0) {
                fit = j, fprev = prev, fit_at = ta;
                break;
            }
            while (c->cslot_left > 0 && c->cslot_next + c->cap_interval_us < ta) {
                c->cslot_next += c->cap_interval_us; /* stale campaign slots */
                c->cslot_left--;
            }
            if (c->cslot_left == 0) {
                int want = pace_chunk(c->cap_interval_us, w->cfg.worker_pace_chunk_ms, 0);
                char key[40];
                int row = 0;
                snprintf(key, sizeof key, "c:%lld", c->id);
                long long first = pace_take(db, key, &row, c->cap_interval_us, want, now + LEAD_US);
                if (first < 0)
                    continue;
                c->cslot_next = first;
                c->cslot_left = want;
            }
            if (c->cslot_next <= ta + tol) {
                fit = j, fprev = prev;
                fit_at = c->cslot_next > ta ? c->cslot_next : ta;
                break;
            }
        }
        a->slot_next += iv;
        a->slot_left--;
        if (!fit)
            continue; /* nobody may use this slot */
        if (fit->camp->cap_interval_us > 0) {
            fit->camp->cslot_next += fit->camp->cap_interval_us;
            fit->camp->cslot_left--;
        }
        /* unlink */
        if (fprev)
            fprev->next = fit->next;
        else
            a->waitq.head = fit->next;
        if (a->waitq.tail == fit)
            a->waitq.tail = fprev;
        a->waitq.n--;
        fit->next = NULL;
        fit->slot_us = fit_at;
        fit->tol_us = iv > 2 ? tol : 0;
        picked[np++] = fit;
        if (!fit->armed)
            unarmed[nu++] = fit;
    }
    if (nu) {
        size_t kept;
        if (arm_jobs(db, unarmed, nu, &kept) != DB_OK) {
            /* Not armed: they wait for new slots. */
            log_warn("arming: %s", db_error(db));
            for (size_t i = 0; i < np; i++)
                jobq_push(&a->waitq, picked[i]);
            free(picked);
            free(unarmed);
            return 0;
        }
    }
    int handed = 0;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < np; i++) {
        if (picked[i]->armed != 1) {
            job_free(picked[i]); /* its claim was recovered by another worker */
            continue;
        }
        if (heap_push(w, picked[i]) == 0)
            handed++;
        else
            jobq_push(&a->waitq, picked[i]);
    }
    pthread_mutex_unlock(&w->mu);
    if (handed)
        send_wakeup(w);
    free(picked);
    free(unarmed);
    return handed;
}

/* ---- the thread ---------------------------------------------------------------------------- */

/* Jobs of campaigns that stopped running or wait for template pacing, and everything when
 * stopping: out of the wait
 * queues and the heap (never started, so surely not sent) and back to pending. */
void release_stale(struct worker *w, struct db *db, int all, int tries)
{
    struct jobq rel = {0};
    pthread_mutex_lock(&w->mu);
    for (struct acct *a = w->accts; a; a = a->next) {
        struct jobq keep = {0};
        struct job *j;
        while ((j = jobq_pop(&a->waitq))) {
            if (all || !j->camp->running || j->camp->paced)
                jobq_push(&rel, j);
            else
                jobq_push(&keep, j);
        }
        a->waitq = keep;
    }
    for (size_t i = 0; i < w->nheap;) {
        struct job *j = w->heap[i];
        if (all || !j->camp->running || j->camp->paced) {
            heap_remove(w, j);
            jobq_push(&rel, j);
            i = 0;
            continue;
        }
        i++;
    }
    struct job *j;
    while ((j = jobq_pop(&w->reslot))) {
        if (all || !j->camp->running || j->camp->paced)
            jobq_push(&rel, j);
        else if (j->acct)
            jobq_push(&j->acct->waitq, j);
    }
    pthread_mutex_unlock(&w->mu);
    if (rel.n)
        log_info("releasing %zu claimed recipient(s) that were not started", rel.n);
    release_jobs(w, db, &rel, tries);
}
