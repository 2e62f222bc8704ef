/* Claiming: a batch of a campaign's due recipients under the business's lock row, checked
 * right before sending (opt-outs, the frequency cap, the pair rate, the messaging tier, the
 * daily cap), taken under a claim token and a lease, their requests built and queued for a
 * slot. */
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
#include "counters.h"
#include "metrics.h"
#include "person.h"
#include "queue.h"
#include "sendlog.h"
#include "claimer.h"
#include "tier_grant.h"
#include "db.h"
#include "log.h"
#include "pace.h"

/* A claim's numbers, sorted, to find a row's job without a quadratic scan (one recipient per
 * number per campaign: a batch holds each number once). */
struct phone_ix {
    const char *phone;
    size_t i;
};

static int phone_ix_cmp(const void *a, const void *b)
{
    return strcmp(((const struct phone_ix *)a)->phone, ((const struct phone_ix *)b)->phone);
}

static long phone_ix_find(const struct phone_ix *ix, size_t n, const char *phone)
{
    if (!phone)
        return -1;
    struct phone_ix key = {phone, 0};
    const struct phone_ix *f = bsearch(&key, ix, n, sizeof *ix, phone_ix_cmp);
    return f ? (long)f->i : -1;
}

/* The numbers of ix as a JSON array, for statements that join them as a table (JSON_TABLE):
 * one statement text whatever the count, and each number found by its key with no range
 * analysis of a thousand-item IN list. Caller puts the result; NULL when out of memory. */
static json_object *phones_json(const struct phone_ix *ix, size_t n)
{
    json_object *a = json_object_new_array_ext((int)n);
    for (size_t i = 0; a && i < n; i++)
        if (json_object_array_add(a, json_object_new_string(ix[i].phone)) != 0) {
            json_object_put(a);
            a = NULL;
        }
    return a;
}
/* ---- claiming --------------------------------------------------------------------------- */

/* How long our share of a campaign's queue has nothing due before we take from the others'. */
#define SHARE_WAIT_S 2.0
/* How often the claimer reads its share of the queue again (the heartbeat does too). */
#define PART_CHECK_S 0.25

/* What the checks right before sending decide for each claimed row. */
enum claim_fate { GO, BLOCK, LATER_PAIR, LATER_TIER, LATER_FREQ, SKIP_FREQ, HOLDOUT };

/* One claim in the making. */
struct claim {
    struct camp *c;
    struct acct *a;
    unsigned long long token;
    char date[16];  /* the account's local day (daily cap) */
    long lim;       /* the tier's limit, -1 none */
    int locked;     /* the business's lock row is written in this claim */
    int nworkers;   /* live workers (the queue's partitions) */
    long long fcap; /* the account's frequency cap (sql/175), read under the lock; 0 none */
    int fwin;       /* its window, seconds */
    struct job **v;
    unsigned char *fate;
    int *fwait; /* LATER_FREQ: seconds until the person fits under the cap */
    size_t n, ngo;
    long long nnew; /* the tier's new users among the rows that go */
    int arm_now;
    struct msg_delta d;
};

/* Rows blocked at the claim (opted out, skipped by the frequency cap) in the send log,
 * outcome blocked, with text saying why. */
static int claim_log_blocked(struct worker *w, struct db *db, const struct claim *k, struct job **v,
                             size_t n, const char *text)
{
    struct sendlog_row *rows = calloc(n + 1, sizeof *rows);
    if (!rows)
        return DB_ERR;
    for (size_t i = 0; i < n; i++) {
        const char *tname, *tlang;
        send_job_template(k->c, v[i]->variant, &tname, &tlang);
        rows[i] = (struct sendlog_row){
            .campaign_id = k->c->id,
            .recipient_id = v[i]->id,
            .lead_id = v[i]->contact_id,
            .phone = v[i]->phone,
            .template_name = tname,
            .template_language = tlang,
            .attempt = v[i]->attempt,
            .error_text = text,
            .worker_id = w->worker_id,
            .claim_token = k->token,
            .variant = v[i]->variant,
        };
    }
    int rc = sendlog_insert_blocked(db, rows, n);
    free(rows);
    return rc;
}

/* Whether a claim on a Galera node needs the business's lock row: when what it decides
 * needs the other workers' claims to wait. The frequency cap does (its rows are per
 * campaign: two campaigns' claims never meet). The messaging tier does only to take a new
 * grant (claim_tier_room). The pair rate does not: two claims of one number both write its
 * contact_pace row, and the cluster lets only one of them commit. On one server the lock is
 * a row lock held for the claim; on a cluster every claim writing the same row made the
 * claims' certification conflicts. */
static int claim_lock_needed(const struct claim *k)
{
    return k->fcap > 0;
}

static int claim_take_lock(struct db *db, struct claim *k)
{
    char lock_key[40];
    snprintf(lock_key, sizeof lock_key, "w:%s", k->a->waba_id);
    int found;
    int rc = queue_business_lock(db, lock_key, &found); /* written: serializes across nodes */
    if (rc != DB_OK)
        return rc;
    if (!found)
        k->a->lock_row = 0; /* deleted meanwhile: created again next time */
    k->locked = 1;
    return DB_OK;
}

/* In the transaction: the business's lock row (on a cluster only when claim_lock_needed),
 * the tier's exact count and the day's cap. *limit may shrink (0: nothing to claim today).
 * Returns a db_rc. */
static int claim_lock(struct db *db, struct claim *k, int *limit)
{
    struct acct *a = k->a;
    struct camp *c = k->c;
    struct db_rows r;
    /* The frequency cap as it is now (an edit counts from the next claim, on every worker). */
    int rc = db_query(db, "SELECT freq_cap_count, freq_cap_window_s FROM wa_accounts WHERE id = ?",
                      DB_ARGS(DB_INT(a->id)), &r);
    if (rc != DB_OK)
        return rc;
    k->fcap = r.nrows ? db_int(&r, 0, 0, 0) : 0;
    k->fwin = r.nrows ? (int)db_int(&r, 0, 1, 0) : 0;
    db_rows_free(&r);
    if (k->fwin <= 0)
        k->fcap = 0;
    if (!db_is_cluster(db) || claim_lock_needed(k)) {
        if ((rc = claim_take_lock(db, k)) != DB_OK)
            return rc;
    }
    if (k->lim >= 0 && !db_is_cluster(db)) {
        /* Under the lock the count is exact: every other claim has committed its users. */
        long long used;
        if ((rc = account_tier_used(db, a->waba_id, 0, &used)) != DB_OK)
            return rc;
        a->tier_used = used;
        a->tier_checked = now_monotonic();
    }
    if (c->daily_cap > 0) {
        /* The day's row serializes the claims of every worker for this campaign. */
        rc = db_exec(db, "INSERT IGNORE INTO campaign_days (campaign_id, day) VALUES (?, ?)",
                     DB_ARGS(DB_INT(c->id), DB_STR(k->date)), NULL);
        if (rc == DB_OK)
            rc = db_query(db,
                          "SELECT used FROM campaign_days WHERE campaign_id = ? AND day = ? "
                          "FOR UPDATE",
                          DB_ARGS(DB_INT(c->id), DB_STR(k->date)), &r);
        if (rc != DB_OK)
            return rc;
        long long left = c->daily_cap - db_int(&r, 0, 0, 0);
        db_rows_free(&r);
        if (left < *limit)
            *limit = (int)(left > 0 ? left : 0);
    }
    return DB_OK;
}

/* The due rows, locked, as jobs in k->v (lib/queue.h: on ix_recipients_queue, no filesort).
 * After a full claim the next starts where it ended: the entries before it are mostly
 * claimed rows whose old 'pending' entries wait, delete-marked, for the purge, and a scan
 * from the start would step over all of them every time. A short claim (the end of what is
 * due) starts again from the beginning, so rows put back behind the cursor (released,
 * skipped while another worker held them) are found then. retries_only: the rows that were
 * tried before, which alone have a next attempt time past the column's default (a row never
 * tried keeps it): the start is there instead. */
static int claim_read(struct db *db, struct claim *k, int limit, int part, int nparts,
                      int retries_only)
{
    struct camp *c = k->c;
    struct db_rows r;
    /* where a retries-only claim starts: after every number of the never-tried time */
    const char *floor_at = retries_only ? QUEUE_NEVER_TRIED_AT : NULL;
    const char *floor_phone = retries_only ? "~" : NULL;
    const char *after_at = c->claim_after_at, *after_phone = c->claim_after_phone;
    if (floor_at && !after_at[0]) {
        after_at = floor_at;
        after_phone = floor_phone;
    }
    /* Our share of the queue first (lib/queue.h queue_partition); when it has had nothing
     * due for SHARE_WAIT_S (its owners had their turn), from the start of the whole queue
     * (the tail, a dead worker's share): no cursor then. */
    int rc = queue_claim_part_rows(db, c->id, part, nparts, after_at, after_phone, limit, &r);
    int whole = 0;
    if (rc == DB_OK && r.nrows > 0)
        c->share_empty_since = 0;
    if (rc == DB_OK && r.nrows == 0 && nparts > 1 && !c->claim_after_at[0]) {
        double now = now_monotonic();
        if (c->share_empty_since == 0)
            c->share_empty_since = now;
        if (now - c->share_empty_since >= SHARE_WAIT_S) {
            db_rows_free(&r);
            rc = queue_claim_rows(db, c->id, floor_at, floor_phone, limit, &r);
            whole = 1;
        }
    }
    if (rc != DB_OK)
        return rc;
    size_t n = r.nrows;
    struct queue_claimed row;
    if ((int)n < limit || whole) {
        c->claim_after_at[0] = 0;
    } else {
        queue_claimed_row(&r, n - 1, &row);
        snprintf(c->claim_after_at, sizeof c->claim_after_at, "%s", row.next_attempt_at);
        snprintf(c->claim_after_phone, sizeof c->claim_after_phone, "%s", row.phone);
    }
    if (n == 0) {
        db_rows_free(&r);
        return DB_OK;
    }
    k->v = calloc(n, sizeof *k->v);
    if (!k->v) {
        db_rows_free(&r);
        return DB_ERR;
    }
    k->n = n;
    if (job_alloc(k->v, n) != 0) {
        db_rows_free(&r);
        return DB_ERR;
    }
    for (size_t i = 0; i < n; i++) {
        struct job *j = k->v[i];
        queue_claimed_row(&r, i, &row);
        j->heap_idx = -1;
        j->id = row.id;
        snprintf(j->phone, sizeof j->phone, "%s", row.phone);
        j->resp = row.vars ? strdup(row.vars) : NULL;
        j->attempt = row.attempts + 1;
        j->contact_id = row.contact_id;
        j->was_sent = row.was_sent;
        j->token = k->token;
    }
    db_rows_free(&r);
    return DB_OK;
}

/* A grant lasts 2 to 3 s at the account's pace: the workers' grants, taken at different
 * sizes, run out at different moments (two takes at once conflict on the lock row). */
static long long claim_tier_chunk(const struct acct *a)
{
    long long mps = a->mps > 0 ? a->mps : 80;
    return 2 * mps + mps * (long long)randombytes_uniform(1000) / 1000;
}

/* On a cluster, this worker's tier grant topped up before it runs low, in a short
 * transaction of its own: the claims that spend it then write no shared row, and the lock
 * row is held for a few milliseconds instead of a whole claim. A failure is left to the
 * claim, which takes a grant itself when it must. */
static void claim_tier_refill(struct worker *w, struct db *db, struct acct *a, long lim,
                              int nworkers)
{
    double mono = now_monotonic();
    long long chunk = claim_tier_chunk(a);
    if ((a->grant_room >= chunk / 3 && mono < a->grant_until) || mono < a->grant_retry)
        return;
    struct claim k = {.a = a};
    struct tier_grant_want want = {.limit = lim, .chunk = chunk, .nworkers = nworkers};
    long long g = 0;
    int rc = db_begin(db);
    if (rc == DB_OK && (rc = claim_take_lock(db, &k)) == DB_OK &&
        (rc = tier_grant_take(db, a->waba_id, w->worker_id, &want, &g)) == DB_OK)
        rc = db_commit(db);
    if (rc != DB_OK) {
        db_rollback(db);
        return;
    }
    a->grant_room = g;
    a->grant_until = mono + TIER_GRANT_TTL_S - 5;
    a->grant_retry = g > 0 ? 0 : mono + 1; /* the tier is full: not a take at every claim */
}

/* On a cluster, how many of the claim's need new users may go: spent from this worker's tier
 * grant, or from a new grant taken under the business's lock row when the grant has too
 * little (lib/tier_grant.h). The grant in memory may be behind its row after a claim rolled
 * back: a spend the row refuses takes a new grant. */
static int claim_tier_room(struct worker *w, struct db *db, struct claim *k, long long need,
                           long long *room)
{
    struct acct *a = k->a;
    double mono = now_monotonic();
    int ok = 0, rc;
    *room = 0;
    if (need == 0)
        return DB_OK;
    if (a->grant_room >= need && mono < a->grant_until) {
        if ((rc = tier_grant_spend(db, a->waba_id, w->worker_id, need, &ok)) != DB_OK)
            return rc;
        if (ok) {
            a->grant_room -= need;
            *room = need;
            return DB_OK;
        }
    }
    if (!k->locked && (rc = claim_take_lock(db, k)) != DB_OK)
        return rc;
    struct tier_grant_want want = {
        .limit = k->lim, .need = need, .chunk = claim_tier_chunk(a), .nworkers = k->nworkers};
    long long g;
    if ((rc = tier_grant_take(db, a->waba_id, w->worker_id, &want, &g)) != DB_OK)
        return rc;
    a->grant_room = g;
    a->grant_until = mono + TIER_GRANT_TTL_S - 5;
    long long spend = g < need ? g : need;
    if (spend > 0) {
        if ((rc = tier_grant_spend(db, a->waba_id, w->worker_id, spend, &ok)) != DB_OK)
            return rc;
        if (!ok)
            return DB_ERR_RETRY; /* its own new grant: only if it expired already */
        a->grant_room -= spend;
    }
    *room = spend;
    return DB_OK;
}

/* The pair rate and the 24 h window of the rows' numbers (contact_pace, by key); the tier's
 * new users (the numbers without a message in 24 h) within its room. */
static int claim_pace_check(struct worker *w, struct db *db, struct claim *k,
                            const struct phone_ix *pix, const char *pjs, size_t pjl)
{
    struct db_rows r;
    int rc = queue_pair_pace(db, w->cfg.worker_pair_gap_s + 2, pjs, pjl, k->a->waba_id, &r);
    if (rc != DB_OK)
        return rc;
    long long tier_room = k->lim < 0 ? -1 : k->lim - k->a->tier_used;
    unsigned char *seen24 = calloc(k->n, 1);
    if (!seen24) {
        db_rows_free(&r);
        return DB_ERR;
    }
    for (size_t x = 0; x < r.nrows; x++) {
        long i = phone_ix_find(pix, k->n, db_val(&r, x, 0));
        if (i < 0)
            continue;
        if (k->fate[i] == GO && db_int(&r, x, 1, 0))
            k->fate[i] = LATER_PAIR;
        if (db_int(&r, x, 2, 0))
            seen24[i] = 1;
    }
    db_rows_free(&r);
    if (tier_room >= 0 && db_is_cluster(db)) {
        long long need = 0;
        for (size_t i = 0; i < k->n; i++)
            need += k->fate[i] == GO && !seen24[i];
        if ((rc = claim_tier_room(w, db, k, need, &tier_room)) != DB_OK) {
            free(seen24);
            return rc;
        }
    }
    for (size_t i = 0; i < k->n; i++) {
        if (k->fate[i] != GO || tier_room < 0 || seen24[i])
            continue;
        if (tier_room > 0) {
            tier_room--;
            k->nnew++;
        } else {
            k->fate[i] = LATER_TIER;
        }
    }
    free(seen24);
    return DB_OK;
}

/* The frequency cap: the rows still going whose person had fcap messages from the business's
 * other campaigns within the window wait (LATER_FREQ, until the oldest leaves it) or are
 * skipped (SKIP_FREQ), as the campaign says. One statement on the key of contact_sends for
 * the claim's numbers; pix is sorted, so rows of one number (never two in one campaign, but
 * counted right anyway) are adjacent and each one that goes counts for the next. */
static int claim_freq_check(struct db *db, struct claim *k, const struct phone_ix *pix,
                            const char *pjs, size_t pjl)
{
    if (k->fcap <= 0)
        return DB_OK;
    struct db_rows r;
    int rc = queue_freq_count(db, pjs, pjl, k->a->waba_id, k->c->id, k->fwin, &r);
    if (rc != DB_OK)
        return rc;
    long long *cnt = calloc(k->n, sizeof *cnt);
    k->fwait = calloc(k->n, sizeof *k->fwait);
    if (!cnt || !k->fwait) {
        free(cnt);
        db_rows_free(&r);
        return DB_ERR;
    }
    for (size_t x = 0; x < r.nrows; x++) {
        long i = phone_ix_find(pix, k->n, db_val(&r, x, 0));
        if (i < 0)
            continue;
        cnt[i] = db_int(&r, x, 1, 0);
        long long wait = db_int(&r, x, 2, 1);
        k->fwait[i] = (int)(wait < 1 ? 1 : wait > k->fwin ? k->fwin : wait);
    }
    db_rows_free(&r);
    long long run = 0;
    int run_wait = 0;
    for (size_t x = 0; x < k->n; x++) {
        size_t i = pix[x].i;
        if (x == 0 || strcmp(pix[x].phone, pix[x - 1].phone) != 0) {
            long i0 = phone_ix_find(pix, k->n, pix[x].phone); /* the row the count went to */
            run = i0 >= 0 ? cnt[i0] : 0;
            run_wait = i0 >= 0 ? k->fwait[i0] : 0;
        }
        if (k->fate[i] != GO)
            continue;
        if (run < k->fcap) {
            run++;
            if (!run_wait)
                run_wait = k->fwin; /* this claim's own send is then the oldest */
            continue;
        }
        k->fate[i] = k->c->freq_skip ? SKIP_FREQ : LATER_FREQ;
        k->fwait[i] = run_wait > 0 ? run_wait : 1;
    }
    free(cnt);
    return DB_OK;
}

/* Opt-outs, the frequency cap, the pair rate and the tier, checked right before sending:
 * k->fate. By number, straight on the keys of opt_outs, contact_sends and contact_pace. */
static int claim_check(struct worker *w, struct db *db, struct claim *k)
{
    size_t n = k->n;
    k->fate = calloc(n, 1);
    struct phone_ix *pix = calloc(n, sizeof *pix);
    if (!k->fate || !pix) {
        free(pix);
        return DB_ERR;
    }
    for (size_t i = 0; i < n; i++)
        pix[i] = (struct phone_ix){k->v[i]->phone, i};
    qsort(pix, n, sizeof *pix, phone_ix_cmp);
    /* An A/B campaign's split first: the holdout is never sent, whatever else holds. */
    for (size_t i = 0; k->c->ab.n && i < n; i++) {
        k->v[i]->variant = abvar_assign(&k->c->ab, k->v[i]->phone);
        if (k->v[i]->variant == ABVAR_HOLDOUT)
            k->fate[i] = HOLDOUT;
    }
    json_object *pj = phones_json(pix, n);
    size_t pjl = 0;
    const char *pjs =
        pj ? json_object_to_json_string_length(pj, JSON_C_TO_STRING_PLAIN, &pjl) : NULL;
    struct db_rows r;
    memset(&r, 0, sizeof r);
    int rc = pjs ? person_blocked_query(db, pjs, pjl, &r) : DB_ERR; /* the one blocked rule */
    if (rc == DB_OK) {
        for (size_t x = 0; x < r.nrows; x++) {
            long i = phone_ix_find(pix, n, db_val(&r, x, 0));
            if (i >= 0 && k->fate[i] == GO)
                k->fate[i] = BLOCK;
        }
        db_rows_free(&r);
        rc = claim_freq_check(db, k, pix, pjs, pjl);
    }
    if (rc == DB_OK) {
        rc = claim_pace_check(w, db, k, pix, pjs, pjl);
    }
    json_object_put(pj);
    free(pix);
    return rc;
}

/* The rows waiting for the frequency cap, deferred by their own time: a claim's waits come
 * from a few moments (the other campaigns' claims), so a statement per distinct wait. */
static int claim_defer_freq(struct db *db, const struct claim *k, long long *grp)
{
    unsigned char *done = calloc(k->n, 1);
    if (!done)
        return DB_ERR;
    int rc = DB_OK;
    for (size_t i = 0; i < k->n && rc == DB_OK; i++) {
        if (k->fate[i] != LATER_FREQ || done[i])
            continue;
        size_t m = 0;
        for (size_t j = i; j < k->n; j++)
            if (k->fate[j] == LATER_FREQ && !done[j] && k->fwait[j] == k->fwait[i]) {
                grp[m++] = k->v[j]->id;
                done[j] = 1;
            }
        rc = queue_defer(db, grp, m, k->fwait[i]);
    }
    free(done);
    return rc;
}

/* An A/B campaign's rows: the holdout's final (never sent, no send_log row: nothing was
 * attempted), the variant of each row that goes noted on it (its stats, its send log). */
static int claim_split(struct db *db, struct claim *k, long long *grp)
{
    if (!k->c->ab.n)
        return DB_OK;
    int rc = DB_OK;
    for (int v = ABVAR_HOLDOUT; v <= ABVAR_MAX && rc == DB_OK; v++) {
        size_t m = 0;
        for (size_t i = 0; i < k->n; i++)
            if ((v == ABVAR_HOLDOUT ? k->fate[i] == HOLDOUT : k->fate[i] == GO) &&
                k->v[i]->variant == v)
                grp[m++] = k->v[i]->id;
        if (!m)
            continue;
        struct abvar_counts vc = {0};
        if (v == ABVAR_HOLDOUT) {
            rc = queue_holdout(db, grp, m);
            k->d.pending -= (int)m;
            k->d.holdout += (int)m;
            vc.assigned = (int)m;
        } else {
            unsigned long long got = 0;
            rc = queue_set_variant(db, grp, m, v, &got);
            vc.assigned = (int)got;
        }
        if (rc == DB_OK)
            rc = abvar_counts_add(db, k->c->id, v, &vc);
    }
    return rc;
}

/* The rows that do not go now: opted-out ones and those the frequency cap skips blocked (and
 * logged), the others deferred. */
static int claim_set_aside(struct worker *w, struct db *db, struct claim *k, long long *grp,
                           struct job **bl)
{
    int rc = DB_OK;
    for (int f = BLOCK; f <= SKIP_FREQ && rc == DB_OK; f++) {
        if (f == LATER_FREQ) {
            rc = claim_defer_freq(db, k, grp);
            continue;
        }
        size_t m = 0, nbl = 0;
        int blocks = f == BLOCK || f == SKIP_FREQ;
        for (size_t i = 0; i < k->n; i++)
            if (k->fate[i] == f) {
                grp[m++] = k->v[i]->id;
                if (blocks)
                    bl[nbl++] = k->v[i];
            }
        if (!m)
            continue;
        if (blocks) {
            rc = f == BLOCK ? queue_block(db, grp, m) : queue_freq_skip(db, grp, m);
            k->d.pending -= (int)m;
            k->d.blocked += (int)m;
            if (rc == DB_OK)
                rc = claim_log_blocked(w, db, k, bl, nbl,
                                       f == BLOCK ? "opted out: not sent" : QUEUE_FREQ_CAP_TEXT);
        } else {
            rc = queue_defer(db, grp, m, f == LATER_PAIR ? w->cfg.worker_pair_gap_s + 2 : 60);
        }
    }
    return rc;
}

/* The pair rate and the tier read contact_pace: one row per user, the last message. When
 * it will really leave: after the jobs already waiting for the number's slots. The
 * pair-rate check allows 2 s beyond the gap; a queue of several seconds (a slow number, a
 * big batch) would eat it. */
static int claim_note_pace(struct db *db, const struct claim *k, const char *const *ph)
{
    long long iv = acct_interval(k->a);
    long long ahead_ms = (long long)(k->a->waitq.n + k->ngo) * iv / 1000;
    if (ahead_ms > 3600000)
        ahead_ms = 3600000;
    return queue_pace_note(db, k->a->waba_id, ph, k->ngo, ahead_ms, k->token);
}

/* The rows that go: taken under the token (armed at once when k->arm_now), their numbers'
 * pace noted, the day's count raised. */
static int claim_take(struct worker *w, struct db *db, struct claim *k, const long long *grp)
{
    int rc = queue_take(db, grp, k->ngo, k->token, w->worker_id, w->cfg.worker_lease_s, k->arm_now);
    k->d.pending -= (int)k->ngo;
    k->d.sending += (int)k->ngo;
    /* the numbers that go: the pair rate's and tier's note, and the frequency cap's, written
     * whether or not the account has a cap so a cap set later counts the sends before it */
    const char **ph = rc == DB_OK ? calloc(k->ngo + 1, sizeof *ph) : NULL;
    if (rc == DB_OK && !ph)
        rc = DB_ERR;
    for (size_t i = 0, m = 0; rc == DB_OK && i < k->n; i++)
        if (k->fate[i] == GO)
            ph[m++] = k->v[i]->phone;
    if (rc == DB_OK)
        rc = claim_note_pace(db, k, ph);
    if (rc == DB_OK)
        rc = queue_freq_note(db, k->a->waba_id, k->c->id, ph, k->ngo);
    free(ph);
    if (rc == DB_OK && k->c->daily_cap > 0)
        rc = db_exec(db,
                     "UPDATE campaign_days SET used = used + ? WHERE campaign_id = ? AND day = ?",
                     DB_ARGS(DB_INT((long long)k->ngo), DB_INT(k->c->id), DB_STR(k->date)), NULL);
    return rc;
}

/* Applies the fates, takes what goes and commits. */
static int claim_commit(struct worker *w, struct db *db, struct claim *k)
{
    long long *grp = calloc(k->n, sizeof *grp);
    struct job **bl = calloc(k->n, sizeof *bl);
    if (!grp || !bl) {
        free(grp);
        free(bl);
        return DB_ERR;
    }
    int rc = claim_set_aside(w, db, k, grp, bl);
    if (rc == DB_OK)
        rc = claim_split(db, k, grp);
    size_t m = 0;
    for (size_t i = 0; i < k->n; i++)
        if (k->fate[i] == GO)
            grp[m++] = k->v[i]->id;
    k->ngo = m;
    /* Armed with the claim when every one of them will have its slot within the arm horizon
     * anyway (a fast number with a short queue, no campaign cap): what arm_jobs would commit
     * a few milliseconds later, without its own statement and commit. */
    if (k->ngo && k->c->cap_interval_us <= 0 && k->a->factor >= 1.0) {
        long long iv = acct_interval(k->a);
        long long last_us = (long long)(k->a->waitq.n + k->ngo) * (iv > 0 ? iv : 1);
        k->arm_now = last_us + LEAD_US <= w->arm_ahead_us;
    }
    if (rc == DB_OK && k->ngo)
        rc = claim_take(w, db, k, grp);
    if (rc == DB_OK)
        rc = counters_apply(db, k->c->id, &k->d);
    if (rc == DB_OK) {
        rc = db_commit(db);
        /* The answer to the commit was lost: the claim may or may not be there. Released by
         * its token once the database is back, never sent. */
        if (rc == DB_ERR_CONN && k->ngo && w->norphans < sizeof w->orphans / sizeof w->orphans[0]) {
            w->orphans[w->norphans].token = k->token;
            w->orphans[w->norphans].campaign_id = k->c->id;
            w->norphans++;
        }
    }
    free(grp);
    free(bl);
    return rc;
}

/* The claimed jobs to the account's wait queue, their requests built; the ones that cannot
 * be built are recorded as failed; the others freed. */
static void claim_queue(struct worker *w, struct claim *k)
{
    struct camp *c = k->c;
    struct acct *a = k->a;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < k->n; i++) {
        struct job *j = k->v[i];
        if (k->fate[i] != GO) {
            job_free(j);
            continue;
        }
        j->camp = c;
        c->refs++;
        j->armed = k->arm_now;
        j->acct = a;
        j->ep = a->ep;
        a->ep->refs++;
    }
    pthread_mutex_unlock(&w->mu);
    size_t nbl = 0, nfreq = 0, nhold = 0, nlater = 0; /* nlater: deferred by the frequency cap */
    int first_fit = 0;
    for (size_t i = 0; i < k->n; i++) {
        if (k->fate[i] == BLOCK)
            nbl++;
        if (k->fate[i] == HOLDOUT)
            nhold++;
        if (k->fate[i] == SKIP_FREQ || k->fate[i] == LATER_FREQ)
            nfreq++;
        if (k->fate[i] == LATER_FREQ && (nlater++ == 0 || k->fwait[i] < first_fit))
            first_fit = k->fwait[i];
        if (k->fate[i] != GO)
            continue;
        struct job *j = k->v[i];
        if (send_build(j) < 0) {
            pthread_mutex_lock(&w->mu);
            jobq_push(&w->done, j);
            pthread_cond_broadcast(&w->cond);
            pthread_mutex_unlock(&w->mu);
            continue;
        }
        jobq_push(&a->waitq, j);
    }
    if (nbl)
        log_info("campaign %lld: %zu opted-out recipient(s) blocked", c->id, nbl);
    if (nhold)
        log_info("campaign %lld: %zu recipient(s) in the A/B holdout, not sent", c->id, nhold);
    if (nfreq)
        log_info("campaign %lld: %zu recipient(s) over the frequency cap %s", c->id, nfreq,
                 c->freq_skip ? "skipped" : "deferred");
    if (nlater) {
        long long now = (long long)time(NULL), fit = now + first_fit;
        if (c->freq_wait_until <= now || fit < c->freq_wait_until)
            c->freq_wait_until = fit;
        c->freq_cap = k->fcap;
        c->freq_win_s = k->fwin;
    }
    c->freq_idle = 0;
    c->claimed_total += (long long)k->ngo;
}

int claim_batch(struct worker *w, struct db *db, struct camp *c, struct acct *a, int limit)
{
    if (limit > MAX_BATCH)
        limit = MAX_BATCH;
    if (limit < 1)
        return 0;
    struct claim k = {.c = c, .a = a, .lim = account_tier_limit(a->tier)};
    k.token = (((unsigned long long)randombytes_random() << 31) ^ randombytes_random()) &
              0x7fffffffffffffffull;
    if (k.token == 0)
        k.token = 1;
    int minute;
    pace_tz_local(a->timezone, time(NULL), &minute, k.date, sizeof k.date);

    /* The business's lock row: claims of every worker for numbers of this business (the
     * pair rate and the messaging tier are per business) take turns, so two workers
     * claiming at the same moment cannot both see a number as free or both spend the
     * last of the tier. Created once, outside the transaction. */
    char lock_key[40];
    snprintf(lock_key, sizeof lock_key, "w:%s", a->waba_id);
    if (!a->lock_row) {
        if (queue_business_lock_create(db, lock_key) != DB_OK)
            return DB_ERR;
        a->lock_row = 1;
    }
    /* On a Galera node the checks below (opt-outs, the tier, the day's cap) read what every
     * node committed before (wsrep_sync_wait; nothing elsewhere). */
    int rc = db_sync_wait(db, 1);
    if (rc == DB_OK && k.lim >= 0 && c->claimable && db_is_cluster(db)) {
        pthread_mutex_lock(&w->mu);
        int nw = w->nparts;
        pthread_mutex_unlock(&w->mu);
        claim_tier_refill(w, db, a, k.lim, nw);
    }
    if (rc == DB_OK)
        rc = db_begin(db);
    if (rc != DB_OK)
        return rc;
    rc = claim_lock(db, &k, &limit);
    /* Our share, read again every PART_CHECK_S: a worker that started a moment before the
     * others would otherwise take their shares for a whole heartbeat. */
    double mono = now_monotonic();
    int part, nparts;
    if (rc == DB_OK && mono - w->part_checked >= PART_CHECK_S) {
        /* an error here may have rolled the transaction back: it ends the claim, since what
         * ran after it would run outside any transaction */
        rc = queue_partition(db, w->worker_id, w->cfg.worker_dead_s, &part, &nparts);
        if (rc == DB_OK) {
            w->part_checked = mono;
            pthread_mutex_lock(&w->mu);
            w->part = part;
            w->nparts = nparts;
            pthread_mutex_unlock(&w->mu);
        }
    }
    pthread_mutex_lock(&w->mu);
    part = w->part;
    nparts = w->nparts;
    pthread_mutex_unlock(&w->mu);
    k.nworkers = nparts;
    if (rc == DB_OK && limit > 0)
        rc = claim_read(db, &k, limit, part, nparts, !c->claimable);
    if (rc == DB_OK && (limit == 0 || k.n == 0)) {
        db_rollback(db);
        c->freq_idle = k.n == 0; /* nothing due: waits, maybe for the frequency cap */
        /* What is left of the tier's grant would sit unused: free for the other workers. */
        if (k.n == 0 && a->grant_room > 0 &&
            tier_grant_release(db, a->waba_id, w->worker_id) == DB_OK)
            a->grant_room = 0;
        return 0;
    }
    if (rc == DB_OK)
        rc = claim_check(w, db, &k);
    if (rc == DB_OK)
        rc = claim_commit(w, db, &k);
    if (rc != DB_OK) {
        db_rollback(db);
        for (size_t i = 0; k.v && i < k.n; i++)
            job_free(k.v[i]); /* nothing referenced yet: camp and ep are still NULL */
        free(k.v);
        free(k.fate);
        free(k.fwait);
        return rc < 0 ? rc : DB_ERR;
    }
    if (k.lim >= 0)
        a->tier_used += k.nnew; /* until the next recount */
    claim_queue(w, &k);
    free(k.fate);
    free(k.fwait);
    free(k.v);
    return (int)k.n; /* rows dealt with (claimed, blocked or deferred) */
}
