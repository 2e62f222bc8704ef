/* The applier: stored events applied in transactions of many (webhook_sweep for pregonctl,
 * webhook_drain for the FastCGI applier thread: server-wide lock, pacing while requests
 * arrive), and the statuses that came before their wamid (webhook_apply_pending). */
#include "webhook_batch.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "db.h"
#include "lease.h"
#include "log.h"

#define SWEEP_EVENTS 64 /* stored events per sweep transaction */
/* The applier's lease: renewed every third of its life while applying; a holder that died
 * holds it up to that long (stored events wait, nothing is lost). */
#define WEBHOOK_LEASE       "webhook_apply"
#define WEBHOOK_LEASE_TTL_S 10

static void stats_add(struct webhook_stats *a, const struct webhook_stats *b)
{
    a->statuses += b->statuses;
    a->applied += b->applied;
    a->duplicates += b->duplicates;
    a->ignored += b->ignored;
    a->unmatched += b->unmatched;
    a->messages += b->messages;
    a->replies += b->replies;
    a->optouts += b->optouts;
    a->lifts += b->lifts;
    a->unrouted += b->unrouted;
    a->other += b->other;
    a->events += b->events;
    for (int k = 0; k < WH_PHASES; k++)
        a->secs[k] += b->secs[k];
}

/* One transaction: claim, apply, mark. Returns events applied (0: none left) or a db_rc.
 * *oldest_s (may be NULL): how long the oldest event claimed had waited. */
static int sweep_once(struct db *db, const struct account_list *accounts, int older_than_s,
                      int include_failed, long long only, size_t batch, struct webhook_stats *st,
                      double *oldest_s)
{
    struct stored s;
    struct webhook_stats part; /* counted only once committed */
    memset(&s, 0, sizeof s);
    memset(&part, 0, sizeof part);
    double t0 = wh_mono(), t1, t2, t3;
    int rc = db_begin(db);
    if (rc != DB_OK)
        return rc;
    rc = wh_claim_events(db, accounts, older_than_s, include_failed, only, only ? 1 : batch, &s);
    size_t n = s.n;
    if (oldest_s)
        *oldest_s = s.oldest_s;
    t1 = wh_mono();
    if (rc == DB_OK && n)
        rc = wh_apply_events(db, s.evs, n, &part);
    t2 = wh_mono();
    if (rc == DB_OK)
        rc = wh_mark_applied(db, &s);
    t3 = wh_mono();
    if (rc == DB_OK)
        rc = db_commit(db);
    part.secs[WH_T_CLAIM] += t1 - t0;
    part.secs[WH_T_MARK] += t3 - t2;
    part.secs[WH_T_COMMIT] += wh_mono() - t3;
    if (rc != DB_OK) {
        db_rollback(db);
        if (rc != DB_ERR_RETRY && rc != DB_ERR_CONN && n > 0 && !only) {
            /* One bad event must not hold the others back: apply them one by one (a batch
             * of one too, so its failure is counted and it stops coming back first). */
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", db_error(db));
            log_warn("webhook sweep of %zu events failed (%s); applying them one by one", n, msg);
            int done = 0;
            for (size_t i = 0; i < n; i++) {
                int r1 = sweep_once(db, accounts, 0, 1, s.evs[i].id, 1, st, NULL);
                if (r1 > 0)
                    done += r1;
            }
            wh_stored_free(&s);
            return done;
        }
        if (only && rc != DB_ERR_RETRY && rc != DB_ERR_CONN) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", db_error(db));
            log_error("webhook event %lld not applied: %s", only, msg);
            wh_mark_failed(db, only, msg, 0);
        }
        wh_stored_free(&s);
        return rc;
    }
    stats_add(st, &part);
    st->events += (int)n;
    wh_stored_free(&s);
    return (int)n;
}

int webhook_sweep(struct db *db, const struct account_list *accounts, int older_than_s,
                  int include_failed, struct webhook_stats *st)
{
    struct account_list own;
    memset(&own, 0, sizeof own);
    memset(st, 0, sizeof *st);
    if (!accounts) {
        int rc = accounts_load(db, NULL, &own);
        if (rc != DB_OK)
            return rc;
        accounts = &own;
    }
    int total = 0, rc = DB_OK, retries = 0;
    for (;;) {
        int n = sweep_once(db, accounts, older_than_s, include_failed, 0, SWEEP_EVENTS, st, NULL);
        if (n == DB_ERR_RETRY && retries++ < 5)
            continue;
        if (n < 0) {
            rc = n;
            break;
        }
        if (n == 0)
            break;
        total += n;
    }
    if (rc == DB_OK) {
        /* Statuses that came before their wamid was known, which may be known by now. */
        rc = db_begin(db);
        if (rc == DB_OK) {
            rc = webhook_apply_pending(db, 0);
            rc = rc == DB_OK ? db_commit(db) : rc;
            if (rc != DB_OK)
                db_rollback(db);
        }
    }
    if (own.v)
        accounts_free(&own);
    return rc == DB_OK ? total : rc;
}

static int lock_query(struct db *db, const char *sql)
{
    struct db_rows r;
    int rc = db_query(db, sql, DB_NOARGS, &r);
    if (rc != DB_OK)
        return rc;
    int got = r.nrows && db_int(&r, 0, 0, 0) == 1;
    db_rows_free(&r);
    return got;
}

/* A pause of the applier while requests arrive, cut short as soon as an event that goes
 * ahead (an opt-out, an account event: WEBHOOK_PRIORITY_AHEAD) is stored by any process: one
 * look on the pick's index every WEBHOOK_PAUSE_LOOK_S. Returns the seconds it paused. */
static double drain_pause(struct db *db, double pause)
{
    double start = wh_mono(), left;
    while ((left = start + pause - wh_mono()) > 0) {
        double step = left < WEBHOOK_PAUSE_LOOK_S ? left : WEBHOOK_PAUSE_LOOK_S;
        struct timespec ts = {(time_t)step, (long)((step - (double)(time_t)step) * 1e9)};
        nanosleep(&ts, NULL);
        if (lock_query(db, "SELECT EXISTS (SELECT 1 FROM webhook_events WHERE "
                           "applied_at IS NULL AND priority > 0 AND apply_attempts < 5)") != 0)
            break; /* one waiting (or the database away: the next batch will say) */
    }
    return wh_mono() - start;
}

int webhook_drain(struct db *db, const struct account_list *accounts, size_t batch,
                  int (*busy)(void), int (*refresh)(void), struct webhook_stats *st)
{
    int total = 0;
    memset(st, 0, sizeof *st);
    if (batch < 1)
        batch = 1;
    for (;;) {
        /* A lease row, not GET_LOCK: a lock is per server, two Galera nodes would each
         * grant it (lib/lease.h). */
        int got = lease_take(db, WEBHOOK_LEASE, WEBHOOK_LEASE_TTL_S);
        double leased_at = wh_mono();
        if (got <= 0) {
            st->contended = got == 0;
            return got < 0 ? got : total; /* someone else is applying: they will take ours */
        }
        int rc = DB_OK, retries = 0;
        double behind_since = 0; /* since when every batch came back full */
        size_t size = batch;     /* grows while batches come back full (a backlog) */
        for (;;) {
            double t0 = wh_mono();
            if (t0 - leased_at > WEBHOOK_LEASE_TTL_S / 3) {
                if (lease_take(db, WEBHOOK_LEASE, WEBHOOK_LEASE_TTL_S) != 1)
                    break; /* lost (expired under a stall): the new holder goes on */
                leased_at = t0;
            }
            if (refresh && refresh() < 0) {
                rc = DB_ERR_CONN;
                break;
            }
            double oldest = 0;
            int n = sweep_once(db, accounts, 0, 0, 0, size, st, &oldest);
            if (n == DB_ERR_RETRY && retries++ < 5)
                continue;
            if (n <= 0) {
                rc = n;
                break;
            }
            total += n;
            int full = (size_t)n >= size;
            if (!full)
                behind_since = 0;
            else if (behind_since == 0)
                behind_since = t0;
            size = full ? (size * 2 < batch * WEBHOOK_BATCH_GROWTH ? size * 2
                                                                   : batch * WEBHOOK_BATCH_GROWTH)
                        : batch;
            int lagging = behind_since > 0 && wh_mono() - behind_since > WEBHOOK_MAX_LAG_S;
            if (busy && !lagging && busy()) {
                /* Requests keep coming: leave them most of the 2 cores (the lock held, so
                 * no other applier steps in), then take what gathered meanwhile in one
                 * batch; the longer the oldest event waited, the shorter the pause (none
                 * from WEBHOOK_TARGET_LAG_S on); full speed as soon as they stop. */
                double share = 1.0 - oldest / WEBHOOK_TARGET_LAG_S;
                double pause = share > 0 ? (wh_mono() - t0) * WEBHOOK_BUSY_PAUSE * share : 0;
                if (pause > 0)
                    st->secs[WH_T_PAUSE] += drain_pause(db, pause);
                continue;
            }
            if (!full)
                break; /* all taken (what came meanwhile: the look below) */
        }
        lease_release(db, WEBHOOK_LEASE);
        if (rc < 0)
            return rc;
        /* An event stored while we held the lock, by a process whose applier then found it
         * taken, is ours to apply: look once more after letting go. */
        got = lock_query(db, "SELECT EXISTS (SELECT 1 FROM webhook_events "
                             "WHERE applied_at IS NULL AND apply_attempts < 5)");
        if (got <= 0)
            return got < 0 ? got : total;
    }
}

static int apply_pending(struct db *db, long long campaign_id, struct webhook_stats *out);

int webhook_apply_pending(struct db *db, long long campaign_id)
{
    struct webhook_stats st;
    memset(&st, 0, sizeof st);
    return apply_pending(db, campaign_id, &st);
}

int webhook_apply_waiting(struct db *db, struct webhook_stats *st)
{
    struct webhook_stats part;
    memset(st, 0, sizeof *st);
    memset(&part, 0, sizeof part);
    int rc = db_begin(db);
    if (rc != DB_OK)
        return rc;
    rc = apply_pending(db, 0, &part);
    rc = rc == DB_OK ? db_commit(db) : rc;
    if (rc != DB_OK) {
        db_rollback(db);
        return rc;
    }
    *st = part;
    return part.applied;
}

static int apply_pending(struct db *db, long long campaign_id, struct webhook_stats *out)
{
    struct db_rows r;
    /* A plain read sees the caller's own uncommitted wamids. */
    int rc = db_query(db,
                      "SELECT ms.wamid, ms.status, UNIX_TIMESTAMP(ms.event_at), ms.account_id, "
                      "ms.callback, ms.error_code, ms.error_text, ms.event_id, "
                      "ms.pricing_model, ms.pricing_category, ms.pricing_billable, "
                      "ms.pricing_type, ms.conversation_id, ms.conversation_origin, "
                      "UNIX_TIMESTAMP(ms.conversation_expires_at) "
                      "FROM message_statuses ms JOIN recipients r ON r.wamid = ms.wamid "
                      "WHERE ms.applied_at IS NULL AND (? = 0 OR r.campaign_id = ?) "
                      "ORDER BY ms.wamid, ms.status LIMIT 1000",
                      DB_ARGS(DB_INT(campaign_id), DB_INT(campaign_id)), &r);
    if (rc != DB_OK || r.nrows == 0) {
        if (rc == DB_OK)
            db_rows_free(&r);
        return rc;
    }
    struct webhook_stats st;
    memset(&st, 0, sizeof st);
    struct batch b;
    memset(&b, 0, sizeof b);
    b.db = db;
    b.st = &st;
    if (wh_grow((void **)&b.items, &b.capitems, r.nrows, sizeof *b.items) < 0) {
        db_rows_free(&r);
        return DB_ERR;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        struct st_item *it = &b.items[b.nitems++];
        memset(it, 0, sizeof *it);
        it->wamid = db_val(&r, i, 0);
        it->raw = db_val(&r, i, 1);
        it->next = msg_status_parse(it->raw);
        it->t = db_int(&r, i, 2, 0);
        it->account = db_int(&r, i, 3, 0);
        it->cb = db_val(&r, i, 4);
        it->code = (int)db_int(&r, i, 5, 0);
        it->etext = db_val(&r, i, 6);
        it->event_id = db_int(&r, i, 7, 0);
        /* the pricing stored with the waiting status (sql/176) */
        wh_pricing_from_row(it, &r, i, 8);
        it->pending = 1;
        it->rec = -1;
    }
    rc = wh_apply_statuses(&b);
    if (rc == DB_OK)
        rc = wh_flush_camps(&b);
    if (rc == DB_OK && st.applied)
        log_info("%d statuses applied once their send was recorded", st.applied);
    if (rc == DB_OK)
        *out = st;
    wh_batch_free(&b);
    db_rows_free(&r);
    return rc;
}
