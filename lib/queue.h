/* The send queue: the recipients table as the worker moves it. A recipient is claimed
 * (pending -> sending, under a claim token and a lease), armed right before its request may
 * leave (armed_at: "may have reached Meta"), recorded (sent, failed, pending for a retry...),
 * released (never started: back to pending, the attempt not counted), or recovered when its
 * worker died (never armed -> pending; armed -> unknown, in doubt). An in-doubt recipient
 * nothing settled may be resent once (queue_in_doubt_due).
 *
 * Every statement is in queue_statements (lib/sqlstmt.h) under its name, so the query-plan
 * tests EXPLAIN the very text the worker runs. The caller holds the transaction; counters
 * (lib/counters.h) move in the same one. Lock order: recipients by id ascending, then the
 * campaign. */
#ifndef PREGON_QUEUE_H
#define PREGON_QUEUE_H

#include <stddef.h>

#include "db.h"
#include "sqlstmt.h"

extern const struct sql_statement queue_statements[];

/* ---- claiming ---- */

/* A due recipient as a claim reads it (pointers into the rows). */
struct queue_claimed {
    long long id, contact_id;
    const char *phone, *vars, *next_attempt_at;
    int attempts; /* before this claim */
    int was_sent; /* an earlier attempt was accepted */
};

/* The business's lock row (pace_timelines 'w:<waba>'), taken first in every claim for its
 * numbers: the pair rate and the messaging tier read under it are exact. The row is WRITTEN
 * (claims + 1), not only locked: a Galera cluster certifies written rows only, so two claims
 * on different nodes conflict at commit and one is redone (DB_ERR_RETRY) instead of both
 * spending the last of the tier. *found is 0 when the row does not exist (create it with
 * queue_business_lock_create, outside the transaction). */
int queue_business_lock(struct db *db, const char *lock_key, int *found);
int queue_business_lock_create(struct db *db, const char *lock_key);

/* recipients.next_attempt_at's default (sql/001_core.sql): a row never tried keeps it; a
 * retry, a deferral, a 131049 and a claim given back (released or recovered unarmed: its
 * user was counted at the claim) set a later time. */
#define QUEUE_NEVER_TRIED_AT "2000-01-01 00:00:00.000"

/* Locks up to limit due pending recipients of the campaign (SKIP LOCKED), in queue order on
 * ix_recipients_queue; after_at/after_phone (NULL or "" for the start) continue after the
 * last row of a full claim. Read them with queue_claimed_row. */
int queue_claim_rows(struct db *db, long long campaign_id, const char *after_at,
                     const char *after_phone, int limit, struct db_rows *rows);
void queue_claimed_row(const struct db_rows *rows, size_t i, struct queue_claimed *out);

/* The queue split between the live workers (heartbeat within dead_s): a worker takes first
 * the numbers whose CRC32(phone) % nparts is its part, so workers connected to different
 * nodes of a Galera cluster rarely pick the same rows (SKIP LOCKED is per node: the loser
 * finds out only at commit). Rebalanced as workers come and go: the partition of a worker
 * that died goes to the others once it drops out of the live set (dead_s), and any worker
 * takes from the whole queue when its own part has nothing due (the tail, a dead worker's
 * part meanwhile). nparts 1 (and part 0) when alone or not registered. */
int queue_partition(struct db *db, long long worker_id, int dead_s, int *part, int *nparts);
/* queue_claim_rows within part of nparts (nparts <= 1: the whole queue). */
int queue_claim_part_rows(struct db *db, long long campaign_id, int part, int nparts,
                          const char *after_at, const char *after_phone, int limit,
                          struct db_rows *rows);

/* Of the numbers in phones_json (a JSON array), those with a contact_pace row for the
 * business: column 0 phone, 1 sent within gap_s, 2 sent within a day. */
int queue_pair_pace(struct db *db, int gap_s, const char *phones_json, size_t len,
                    const char *waba_id, struct db_rows *rows);
/* The frequency cap (sql/175_freq_cap.sql): at most an account's freq_cap_count messages per
 * person per window, over every campaign of the business. contact_sends holds one row per
 * business, person and campaign with the latest claim's time, written by the claim for the
 * rows that go (a claim that went counts, whatever its outcome, like the tier). */
#define QUEUE_FREQ_CAP_TEXT "frequency cap: not sent"
/* The longest window an account may set, and so how long contact_sends keeps a row. */
#define QUEUE_FREQ_CAP_MAX_WINDOW_S (90 * 86400)
/* Of the numbers in phones_json, those sent to by other campaigns than campaign_id within
 * window_s: column 0 phone, 1 how many, 2 seconds until the oldest leaves the window. */
int queue_freq_count(struct db *db, const char *phones_json, size_t len, const char *waba_id,
                     long long campaign_id, int window_s, struct db_rows *rows);
/* Notes the n phones as sent now by campaign_id (one row each, the latest claim). */
int queue_freq_note(struct db *db, const char *waba_id, long long campaign_id,
                    const char *const *phones, size_t n);
/* Deletes up to 5000 rows older than older_s seconds; *affected how many. */
int queue_freq_purge(struct db *db, int older_s, unsigned long long *affected);
/* For the preflight: the campaign's account's cap and how many pending recipients are over
 * it now (they would wait, or be skipped when skip). */
struct queue_freq_state {
    long long cap, window_s, over;
    int skip;
};
int queue_freq_pending(struct db *db, long long campaign_id, struct queue_freq_state *out);
/* Over the cap and the campaign skips: blocked, last_error_text QUEUE_FREQ_CAP_TEXT. */
int queue_freq_skip(struct db *db, const long long *ids, size_t n);
/* Notes phones (n) of waba_id as sent ahead_ms from now by claim token (the pair rate and
 * the tier read it), keeping the note before. */
int queue_pace_note(struct db *db, const char *waba_id, const char *const *phones, size_t n,
                    long long ahead_ms, unsigned long long token);
/* A message that certainly did not leave: its claim's note taken back. */
struct queue_pace_undo {
    const char *waba_id, *phone;
    unsigned long long token;
};
/* Takes back the notes of u (n), each only while it is still that claim's. */
int queue_pace_undo(struct db *db, const struct queue_pace_undo *u, size_t n);
/* Opted out: blocked and never sent. */
int queue_block(struct db *db, const long long *ids, size_t n);
/* An A/B campaign's holdout: status holdout, variant 0, final (lib/abvariant.h). */
int queue_holdout(struct db *db, const long long *ids, size_t n);
/* The variant the claim gave the rows that go (lib/abvariant.h), set at a row's first claim;
 * *assigned: how many got it now. */
int queue_set_variant(struct db *db, const long long *ids, size_t n, int variant,
                      unsigned long long *assigned);
/* Not now (pair rate, tier): due again in seconds. */
int queue_defer(struct db *db, const long long *ids, size_t n, int seconds);
/* pending -> sending under token, one more attempt, leased for lease_s; armed at once when
 * armed is 1. */
int queue_take(struct db *db, const long long *ids, size_t n, unsigned long long token,
               long long worker_id, int lease_s, int armed);

/* ---- arming, releasing, leases ---- */

/* Arms the ids still claimed under token; *affected says how many. */
int queue_arm(struct db *db, const long long *ids, size_t n, unsigned long long token,
              unsigned long long *affected);
/* Which of ids are still claimed under token (column 0: id). */
int queue_still_claimed(struct db *db, const long long *ids, size_t n, unsigned long long token,
                        struct db_rows *rows);
/* Never started: back to pending without counting the attempt, if still ours. */
int queue_release(struct db *db, const long long *ids, size_t n, unsigned long long token,
                  unsigned long long *affected);
/* The claims of a token whose commit answer was lost, those not armed. */
int queue_release_orphan(struct db *db, long long campaign_id, long long worker_id,
                         unsigned long long token, unsigned long long *affected);
/* Extends the leases of this worker's claims in the given campaigns, in a transaction of its
 * own (rows locked with SKIP LOCKED, then updated by id). */
int queue_renew_leases(struct db *db, const long long *camps, size_t n, long long worker_id,
                       int lease_s);

/* ---- recovery and in-doubt ---- */

/* A claim of a dead worker or with a lease run out. */
struct queue_stale {
    long long id, campaign_id;
    int armed;
};
/* Whether there is any such claim (a plain read, no locks: *any 1 or 0). */
int queue_stale_any(struct db *db, const long long *camps, size_t n, long long worker_id, int *any);
/* Locks up to 500 such claims in the given campaigns (not this worker's). */
int queue_stale_claims(struct db *db, const long long *camps, size_t n, long long worker_id,
                       struct db_rows *rows);
void queue_stale_row(const struct db_rows *rows, size_t i, struct queue_stale *out);
/* Never armed: back to pending, the attempt not counted. */
int queue_requeue(struct db *db, const long long *ids, size_t n);
/* Armed: unknown (the request may have reached Meta). */
int queue_mark_unknown(struct db *db, const long long *ids, size_t n);

/* An in-doubt recipient due for its one resend (in_doubt_resend_after_s). */
struct queue_in_doubt {
    long long id, campaign_id, resend_after_s;
};
int queue_in_doubt_due(struct db *db, struct db_rows *rows);
void queue_in_doubt_row(const struct db_rows *rows, size_t i, struct queue_in_doubt *out);
/* unknown -> pending now, with text as its last error; *affected 1 when it was unknown. */
int queue_resend(struct db *db, long long id, const char *text, unsigned long long *affected);

/* ---- recording ---- */

/* Locks the recipients of ids_json (a JSON array of ids, ascending) before the campaigns. */
int queue_lock(struct db *db, const char *ids_json, size_t len);
/* The sends of one token: pairs_json is [[id, wamid], ...]. */
int queue_record_sent(struct db *db, const char *pairs_json, size_t len, unsigned long long token,
                      unsigned long long *affected);
/* A never-started one: back to pending, the attempt not counted. */
int queue_record_release(struct db *db, long long id, unsigned long long token,
                         unsigned long long *affected);
/* Any other outcome. wamid, text may be NULL; code 0 and retry_at_ms 0 mean none. */
int queue_record_outcome(struct db *db, long long id, unsigned long long token, const char *status,
                         const char *wamid, int code, const char *text, long long retry_at_ms,
                         unsigned long long *affected);
/* Keeps a wamid on a row someone else settled first (later statuses find it). */
int queue_keep_wamid(struct db *db, long long id, const char *wamid);

#endif
