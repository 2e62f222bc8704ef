/* The accounts as the claimer paces them: their endpoints, their local time, the rate
 * budget taken from the shared timelines (pace_timelines), the 130429 hold and the tier
 * count. */
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

#include "account_health.h"
#include "claimer.h"
#include "db.h"
#include "log.h"

/* ---- accounts ---------------------------------------------------------------------------- */

struct acct *acct_find(struct worker *w, long long id)
{
    for (struct acct *a = w->accts; a; a = a->next)
        if (a->id == id)
            return a;
    return NULL;
}

static struct endpoint *endpoint_new(const struct worker *w, const struct account *acc)
{
    struct endpoint *ep = calloc(1, sizeof *ep);
    if (!ep)
        return NULL;
    if (!(ep->url = accounts_messages_url(acc, w->cfg.graph_base_url))) {
        free(ep);
        return NULL;
    }
    ep->tls = strncasecmp(ep->url, "https:", 6) == 0;
    ep->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    char *auth = NULL;
    if (acc->access_token && asprintf(&auth, "Authorization: Bearer %s", acc->access_token) > 0) {
        ep->hdrs = curl_slist_append(ep->hdrs, auth);
        sodium_memzero(auth, strlen(auth));
        free(auth);
    }
    ep->refs = 1;
    return ep;
}

void accounts_refresh(struct worker *w, struct db *db)
{
    struct account_list list;
    if (accounts_load(db, w->key, &list) != DB_OK) {
        log_warn("loading accounts: %s", db_error(db));
        return;
    }
    struct db_rows r;
    if (db_query(db,
                 "SELECT id, waba_id, timezone, messaging_tier, throughput_mps FROM wa_accounts",
                 DB_NOARGS, &r) != DB_OK) {
        accounts_free(&list);
        return;
    }
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < r.nrows; i++) {
        long long id = db_int(&r, i, 0, 0);
        struct acct *a = acct_find(w, id);
        if (!a) {
            a = calloc(1, sizeof *a);
            if (!a)
                continue;
            a->id = id;
            a->factor = 1.0;
            a->tier_checked = -1e9;
            snprintf(a->pace_key, sizeof a->pace_key, "a:%lld", id);
            a->next = w->accts;
            w->accts = a;
        }
        snprintf(a->waba_id, sizeof a->waba_id, "%s", db_val(&r, i, 1) ? db_val(&r, i, 1) : "");
        snprintf(a->timezone, sizeof a->timezone, "%s", db_val(&r, i, 2) ? db_val(&r, i, 2) : "");
        snprintf(a->tier, sizeof a->tier, "%s", db_val(&r, i, 3) ? db_val(&r, i, 3) : "");
        a->mps = (int)db_int(&r, i, 4, 80);
        const struct account *acc = accounts_find(&list, id);
        struct endpoint *ep = acc ? endpoint_new(w, acc) : NULL;
        if (ep) {
            endpoint_put(a->ep);
            a->ep = ep;
        }
    }
    pthread_mutex_unlock(&w->mu);
    db_rows_free(&r);
    accounts_free(&list);
}

/* ---- the rate budget: shared timelines ----------------------------------------------------- */

/* Reserves n slots interval_us apart on timeline key, none before earliest (local clock).
 * Returns the first slot on the local clock, or -1 when the database is away. */
long long pace_take(struct db *db, const char *key, int *row_exists, long long interval_us, int n,
                    long long earliest)
{
    if (!*row_exists) {
        if (db_exec(db, "INSERT IGNORE INTO pace_timelines (pace_key) VALUES (?)",
                    DB_ARGS(DB_STR(key)), NULL) != DB_OK)
            return -1;
        *row_exists = 1;
    }
    if (db_begin(db) != DB_OK)
        return -1;
    long long t0 = now_us();
    struct db_rows r;
    if (db_query(db,
                 "SELECT next_slot_us, CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED) "
                 "FROM pace_timelines WHERE pace_key = ? FOR UPDATE",
                 DB_ARGS(DB_STR(key)), &r) != DB_OK) {
        db_rollback(db);
        return -1;
    }
    long long t1 = now_us();
    if (r.nrows == 0) {
        db_rows_free(&r);
        db_rollback(db);
        *row_exists = 0;
        return -1;
    }
    long long next = db_int(&r, 0, 0, 0), dbnow = db_int(&r, 0, 1, 0);
    db_rows_free(&r);
    /* The database's clock orders every worker's slots; ours only converts. */
    long long offset = dbnow - (t0 + t1) / 2;
    long long first = pace_reserve(&next, earliest + offset, interval_us, n);
    if (db_exec(db, "UPDATE pace_timelines SET next_slot_us = ? WHERE pace_key = ?",
                DB_ARGS(DB_INT(next), DB_STR(key)), NULL) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        return -1;
    }
    return first - offset;
}

/* A 130429: hold the number's timeline for every worker and slow it down. A burst of
 * 130429s answers one excess: one hold and one cut per worker_throttle_pause_ms, not one
 * per answer (holding again for each answer that trickles in kept the number silent for
 * seconds and halved the realistic run). */
void pace_hold(struct worker *w, struct db *db, struct acct *a, double limit)
{
    long long pause_us = (long long)w->cfg.worker_throttle_pause_ms * 1000;
    if (a->throttled_us && now_us() - a->throttled_us < pause_us)
        return;
    if (limit > 0) {
        a->thr_limit = limit; /* where the far side refused: go on just below it */
        a->thr_limit_us = now_us();
    }
    if (a->factor < 1.0) {
        /* Already backing off from a limit: a further cut finds it without the silence of
         * another hold (a hold at every window halved the pace under a real limit). */
        a->slot_left = 0;
        a->factor = pace_throttle_adjust(a->factor, PACE_THR_LIMIT, a->thr_limit);
        a->throttled_us = now_us();
        log_warn("account %lld: throughput limit hit (130429); pace now %.0f%%", a->id,
                 a->factor * 100);
        return;
    }
    /* The timeline is on the database's clock, like every slot. */
    db_exec(db,
            "UPDATE pace_timelines SET next_slot_us = GREATEST(next_slot_us, "
            "CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED) + ?) WHERE pace_key = ?",
            DB_ARGS(DB_INT(pause_us), DB_STR(a->pace_key)), NULL);
    a->slot_left = 0;
    a->factor = pace_throttle_adjust(a->factor, PACE_THR_LIMIT, a->thr_limit);
    a->throttled_us = now_us();
    log_warn("account %lld: throughput limit hit (130429); holding %d ms, pace now %.0f%%", a->id,
             w->cfg.worker_throttle_pause_ms, a->factor * 100);
}

long long acct_interval(const struct acct *a)
{
    long long iv = pace_interval_us(a->mps > 0 ? a->mps : 80);
    return (long long)((double)iv / a->factor + 0.5);
}

void tier_refresh(struct worker *w, struct db *db, double mono)
{
    for (struct acct *a = w->accts; a; a = a->next) {
        if (account_tier_limit(a->tier) < 0 || mono - a->tier_checked < TIER_CHECK_S)
            continue;
        long long used;
        if (account_tier_used(db, a->waba_id, 0, &used) == DB_OK) {
            a->tier_used = used;
            a->tier_checked = mono;
        }
    }
}

/* The number's in-flight target from its pace and the latency the sender measures
 * (lib/pace.h); logged when it moves by a quarter or more. */
void acct_size_inflight(struct worker *w, struct acct *a)
{
    long long iv = acct_interval(a);
    double per_s = iv > 0 ? 1e6 / (double)iv : 1e6;
    pthread_mutex_lock(&w->mu);
    int old = a->inflight_target, want;
    enum pace_inflight_cap why;
    int n =
        pace_inflight_target(per_s, a->latency_us, w->inflight_limit, w->inflight_why, &want, &why);
    a->inflight_target = n;
    a->inflight_want = want;
    a->bound = why;
    long long lat = a->latency_us;
    pthread_mutex_unlock(&w->mu);
    if (a->ep && (old == 0 || n * 4 >= old * 5 || n * 5 <= old * 4))
        log_info("account %lld: up to %d requests in flight (%.0f msg/s, answers in %lld ms%s%s)",
                 a->id, n, per_s, ((lat > 0 ? lat : PACE_LATENCY_START_US) + 500) / 1000,
                 lat > 0 ? "" : " assumed until the first answer",
                 why == PACE_CAP_NONE     ? ""
                 : why == PACE_CAP_MEMORY ? "; cut by worker_inflight_memory_mb"
                                          : "; cut by worker_inflight");
}
