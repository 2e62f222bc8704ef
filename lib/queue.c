/* The send queue on the recipients table (lib/queue.h). */
#include "queue.h"

#include <stdlib.h>
#include <string.h>

#include "idlist.h"

/* ix_recipients_queue (campaign_id, status, next_attempt_at, phone) gives these rows in order:
 * no filesort, no scan beyond what is claimed (sql/091). */
#define SQL_CLAIM_FIRST                                                                            \
    "SELECT id, phone, vars, attempts, contact_id, sent_at IS NOT NULL, "                          \
    "next_attempt_at FROM recipients FORCE INDEX (ix_recipients_queue) "                           \
    "WHERE campaign_id = ? AND status = 'pending' AND next_attempt_at <= NOW(3) "                  \
    "ORDER BY next_attempt_at, phone LIMIT ? FOR UPDATE SKIP LOCKED"
#define SQL_CLAIM_AFTER                                                                            \
    "SELECT id, phone, vars, attempts, contact_id, sent_at IS NOT NULL, "                          \
    "next_attempt_at FROM recipients FORCE INDEX (ix_recipients_queue) "                           \
    "WHERE campaign_id = ? AND status = 'pending' AND next_attempt_at <= NOW(3) "                  \
    "AND (next_attempt_at > ? OR (next_attempt_at = ? AND phone > ?)) "                            \
    "ORDER BY next_attempt_at, phone LIMIT ? FOR UPDATE SKIP LOCKED"
/* The same, the worker's partition only (the queue split between live workers by phone hash):
 * workers on different nodes of a cluster rarely take the same rows. The filter is evaluated
 * on the index entries (phone is in ix_recipients_queue). */
#define SQL_CLAIM_COLS                                                                             \
    "SELECT id, phone, vars, attempts, contact_id, sent_at IS NOT NULL, next_attempt_at "
#define SQL_PART_FIRST_FROM                                                                        \
    "FROM recipients FORCE INDEX (ix_recipients_queue) "                                           \
    "WHERE campaign_id = ? AND status = 'pending' AND next_attempt_at <= NOW(3) "                  \
    "AND CRC32(phone) % ? = ? "                                                                    \
    "ORDER BY next_attempt_at, phone LIMIT ?"
#define SQL_PART_AFTER_FROM                                                                        \
    "FROM recipients FORCE INDEX (ix_recipients_queue) "                                           \
    "WHERE campaign_id = ? AND status = 'pending' AND next_attempt_at <= NOW(3) "                  \
    "AND CRC32(phone) % ? = ? "                                                                    \
    "AND (next_attempt_at > ? OR (next_attempt_at = ? AND phone > ?)) "                            \
    "ORDER BY next_attempt_at, phone LIMIT ?"
#define SQL_CLAIM_PART_FIRST SQL_CLAIM_COLS SQL_PART_FIRST_FROM " FOR UPDATE SKIP LOCKED"
#define SQL_CLAIM_PART_AFTER SQL_CLAIM_COLS SQL_PART_AFTER_FROM " FOR UPDATE SKIP LOCKED"
#define SQL_PEEK_PART_FIRST  "SELECT id " SQL_PART_FIRST_FROM
#define SQL_PEEK_PART_AFTER  "SELECT id " SQL_PART_AFTER_FROM
/* On a Galera cluster the share is read first (SQL_PEEK_PART_*, a plain read) and only its
 * rows are locked, by key: the locking scan of the index locks, for a moment each, the rows
 * of the other workers' shares it steps over, and a replicated claim of one of them then
 * aborts this claim. Rows taken meanwhile fail the status test and are left out. */
#define SQL_CLAIM_IDS                                                                              \
    SQL_CLAIM_COLS "FROM recipients FORCE INDEX (PRIMARY) "                                        \
                   "WHERE id IN (%s) AND status = 'pending' AND next_attempt_at <= NOW(3) "        \
                   "ORDER BY next_attempt_at, phone FOR UPDATE SKIP LOCKED"
/* The live workers in id order: a worker's partition is its rank among them. */
#define SQL_PARTITIONS                                                                             \
    "SELECT id FROM workers WHERE stopped_at IS NULL AND "                                         \
    "heartbeat_at >= NOW(3) - INTERVAL ? SECOND ORDER BY id"
/* The pair rate and the 24 h window of a claim's numbers (a JSON array), straight on the key
 * of contact_pace. */
#define SQL_PAIR_PACE                                                                              \
    "SELECT STRAIGHT_JOIN c.phone, c.last_send_at > NOW(3) - INTERVAL ? SECOND, "                  \
    "c.last_send_at > NOW(3) - INTERVAL 1 DAY FROM JSON_TABLE(?, '$[*]' COLUMNS ("                 \
    "phone VARCHAR(16) CHARACTER SET ascii PATH '$')) p "                                          \
    "JOIN contact_pace c FORCE INDEX (PRIMARY) ON c.waba_id = ? AND c.phone = p.phone"
/* The frequency cap (sql/175): of a claim's numbers (a JSON array), those the business sent
 * to from other campaigns within the window: column 0 phone, 1 how many, 2 seconds until the
 * oldest of them leaves the window. Straight on the key of contact_sends, like SQL_PAIR_PACE
 * (a person has a row per campaign sent, few within any window). */
#define SQL_FREQ_COUNT                                                                             \
    "SELECT STRAIGHT_JOIN s.phone, COUNT(DISTINCT s.campaign_id), "                                \
    "CEIL(TIMESTAMPDIFF(MICROSECOND, NOW(3), "                                                     \
    "MIN(s.sent_at) + INTERVAL ? SECOND) / 1000000) FROM JSON_TABLE(?, '$[*]' COLUMNS ("           \
    "phone VARCHAR(16) CHARACTER SET ascii PATH '$')) p "                                          \
    "JOIN contact_sends s FORCE INDEX (PRIMARY) ON s.waba_id = ? AND s.phone = p.phone "           \
    "WHERE s.campaign_id <> ? AND s.sent_at > NOW(3) - INTERVAL ? SECOND GROUP BY s.phone"
/* The rows that go: one row per person and campaign, the latest claim. */
#define SQL_FREQ_NOTE                                                                              \
    "INSERT INTO contact_sends (waba_id, phone, campaign_id, sent_at) VALUES (?, ?, ?, NOW(3)) "   \
    "ON DUPLICATE KEY UPDATE sent_at = VALUES(sent_at)"
/* Rows older than the longest window count for nobody (a slice at a time). */
#define SQL_FREQ_PURGE                                                                             \
    "DELETE FROM contact_sends WHERE sent_at < NOW(3) - INTERVAL ? SECOND LIMIT 5000"
/* The preflight: the account's cap, the campaign's action and how many of its pending
 * recipients are over the cap now (each looked up on the key of contact_sends). */
#define SQL_FREQ_PENDING                                                                           \
    "SELECT a.freq_cap_count, a.freq_cap_window_s, c.freq_cap_action, "                            \
    "(SELECT COUNT(*) FROM recipients r WHERE r.campaign_id = c.id AND r.status = 'pending' "      \
    "AND a.freq_cap_count > 0 AND (SELECT COUNT(*) FROM contact_sends s WHERE "                    \
    "s.waba_id = a.waba_id AND s.phone = r.phone AND s.campaign_id <> c.id AND "                   \
    "s.sent_at > NOW(3) - INTERVAL a.freq_cap_window_s SECOND) >= a.freq_cap_count) "              \
    "FROM campaigns c JOIN wa_accounts a ON a.id = c.account_id WHERE c.id = ?"
#define SQL_FREQ_SKIP                                                                              \
    "UPDATE recipients SET status = 'blocked', failed_at = NOW(3), "                               \
    "next_attempt_at = DEFAULT(next_attempt_at), last_error_code = NULL, "                         \
    "last_error_text = '" QUEUE_FREQ_CAP_TEXT "' WHERE id IN (%s)"
/* A claim's numbers, noted as sent when their slots come (ahead_ms): the pair rate and the
 * tier count them from now. The note before this one and the claim's token are kept, so a
 * message that certainly did not leave takes it back (SQL_PACE_UNDO, sql/178). */
#define SQL_PACE_NOTE                                                                              \
    "INSERT INTO contact_pace (waba_id, phone, last_send_at, pace_token) "                         \
    "VALUES (?, ?, NOW(3) + INTERVAL ? * 1000 MICROSECOND, ?) "                                    \
    "ON DUPLICATE KEY UPDATE prev_send_at = last_send_at, "                                        \
    "last_send_at = VALUES(last_send_at), pace_token = VALUES(pace_token)"
#define SQL_PACE_UNDO                                                                              \
    "UPDATE contact_pace SET last_send_at = COALESCE(prev_send_at, '2000-01-01 00:00:00'), "       \
    "prev_send_at = NULL, pace_token = NULL WHERE waba_id = ? AND phone = ? AND pace_token = ?"
#define SQL_BLOCK                                                                                  \
    "UPDATE recipients SET status = 'blocked', failed_at = NOW(3), "                               \
    "next_attempt_at = DEFAULT(next_attempt_at), last_error_code = NULL, "                         \
    "last_error_text = 'opted out: not sent' "                                                     \
    "WHERE id IN (%s)"
/* An A/B campaign's holdout (lib/abvariant.h): final, never sent. */
#define SQL_HOLDOUT                                                                                \
    "UPDATE recipients SET status = 'holdout', variant = 0, "                                      \
    "next_attempt_at = DEFAULT(next_attempt_at) WHERE id IN (%s)"
/* Set once, at a row's first claim (a retry keeps it): what changed counts as assigned. */
#define SQL_SET_VARIANT "UPDATE recipients SET variant = ? WHERE id IN (%s) AND variant IS NULL"
#define SQL_DEFER                                                                                  \
    "UPDATE recipients SET next_attempt_at = NOW(3) + INTERVAL ? SECOND "                          \
    "WHERE id IN (%s)"
#define SQL_TAKE                                                                                   \
    "UPDATE recipients SET status = 'sending', claim_token = ?, claimed_by = ?, "                  \
    "lease_until = NOW(3) + INTERVAL ? SECOND, armed_at = IF(?, NOW(3), NULL), "                   \
    "next_attempt_at = DEFAULT(next_attempt_at), attempts = attempts + 1 "                         \
    "WHERE id IN (%s)"
#define SQL_ARM                                                                                    \
    "UPDATE recipients SET armed_at = NOW(3) WHERE id IN (%s) AND "                                \
    "claim_token = ? AND status = 'sending'"
#define SQL_STILL_CLAIMED                                                                          \
    "SELECT id FROM recipients WHERE id IN (%s) AND claim_token = ? AND "                          \
    "status = 'sending'"
/* A claim given back (released, recovered unarmed) is due now, no longer at the never-tried
 * time: its user was counted in the tier at the claim, and a retries-only claim (the tier
 * spent) must find it (lib/queue.h QUEUE_NEVER_TRIED_AT). */
#define SQL_RELEASE                                                                                \
    "UPDATE recipients SET status = 'pending', attempts = "                                        \
    "GREATEST(attempts, 1) - 1, claim_token = NULL, claimed_by = NULL, "                           \
    "lease_until = NULL, armed_at = NULL, next_attempt_at = NOW(3) "                               \
    "WHERE id IN (%s) AND claim_token = ? AND status = 'sending'"
#define SQL_RELEASE_ORPHAN                                                                         \
    "UPDATE recipients SET status = 'pending', attempts = "                                        \
    "GREATEST(attempts, 1) - 1, claim_token = NULL, claimed_by = NULL, "                           \
    "lease_until = NULL, armed_at = NULL, next_attempt_at = NOW(3) WHERE campaign_id = ? AND "     \
    "status = 'sending' AND claimed_by = ? AND claim_token = ? AND "                               \
    "armed_at IS NULL"
#define SQL_RENEW_LOCK                                                                             \
    "SELECT id FROM recipients WHERE campaign_id IN (%s) AND status = 'sending' "                  \
    "AND claimed_by = ? FOR UPDATE SKIP LOCKED"
#define SQL_RENEW_LEASES                                                                           \
    "UPDATE recipients SET lease_until = NOW(3) + INTERVAL ? SECOND WHERE id IN (%s)"
/* The owner's liveness is a subquery, not a join: SKIP LOCKED applies to every table a join
 * reads, so a workers row locked by its heartbeat would be skipped and its live claims would
 * look ownerless (LEFT JOIN, w.id IS NULL). The subquery is a plain consistent read. */
#define SQL_STALE_FROM                                                                             \
    "FROM recipients r FORCE INDEX (ix_recipients_queue) "                                         \
    "WHERE r.campaign_id IN (%s) AND r.status = 'sending' AND "                                    \
    "(r.claimed_by IS NULL OR r.claimed_by <> ?) AND "                                             \
    "(r.lease_until < NOW(3) OR NOT EXISTS (SELECT 1 FROM workers w "                              \
    "WHERE w.id = r.claimed_by AND w.stopped_at IS NULL)) "
#define SQL_STALE                                                                                  \
    "SELECT r.id, r.campaign_id, r.armed_at IS NOT NULL " SQL_STALE_FROM                           \
    "LIMIT 500 FOR UPDATE SKIP LOCKED"
/* The same as a plain read: whether there is anything to recover at all. The locking scan
 * locks, for a moment each, every live claim of the other workers it steps over; on a Galera
 * cluster a replicated commit of one of them then aborts the scan (a certification conflict
 * at every recovery round while another node sends). */
#define SQL_STALE_ANY "SELECT r.id " SQL_STALE_FROM "LIMIT 1"
#define SQL_REQUEUE                                                                                \
    "UPDATE recipients SET status = 'pending', attempts = "                                        \
    "GREATEST(attempts, 1) - 1, claim_token = NULL, claimed_by = NULL, "                           \
    "lease_until = NULL, armed_at = NULL, next_attempt_at = NOW(3) WHERE id IN (%s)"
#define SQL_MARK_UNKNOWN                                                                           \
    "UPDATE recipients SET status = 'unknown', claim_token = NULL, "                               \
    "claimed_by = NULL, lease_until = NULL, armed_at = NULL, "                                     \
    "last_error_text = 'the worker sending it stopped; outcome unknown' "                          \
    "WHERE id IN (%s)"
#define SQL_IN_DOUBT_DUE                                                                           \
    "SELECT r.id, r.campaign_id, a.in_doubt_resend_after_s FROM campaigns c "                      \
    "JOIN campaign_totals k ON k.id = c.id "                                                       \
    "JOIN wa_accounts a ON a.id = c.account_id AND a.in_doubt_resend_after_s > 0 "                 \
    "JOIN recipients r ON r.campaign_id = c.id AND r.status = 'unknown' "                          \
    "WHERE k.unknown_count > 0 AND (c.status = 'running' OR (c.status = "                          \
    "'completed' AND c.completed_at > NOW(3) - INTERVAL "                                          \
    "(a.in_doubt_resend_after_s + 3600) SECOND)) "                                                 \
    "AND (SELECT COUNT(*) FROM send_log l WHERE l.recipient_id = r.id AND "                        \
    "l.outcome = 'unknown') = 1 "                                                                  \
    "AND (SELECT MAX(l.created_at) FROM send_log l WHERE l.recipient_id = r.id AND "               \
    "l.outcome = 'unknown') < NOW(3) - INTERVAL a.in_doubt_resend_after_s SECOND "                 \
    "ORDER BY r.id LIMIT 200"
#define SQL_RESEND                                                                                 \
    "UPDATE recipients SET status = 'pending', next_attempt_at = NOW(3), "                         \
    "last_error_text = ? WHERE id = ? AND status = 'unknown'"
#define SQL_LOCK                                                                                   \
    "SELECT r.id FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH "                      \
    "'$')) s STRAIGHT_JOIN recipients r FORCE INDEX (PRIMARY) ON r.id = s.id "                     \
    "ORDER BY r.id FOR UPDATE"
/* The ids and wamids travel as one JSON array joined as a table: the text never changes
 * (prepared once) and the server pairs each row with its wamid through the join. */
#define SQL_RECORD_SENT                                                                            \
    "UPDATE JSON_TABLE(?, '$[*]' COLUMNS ("                                                        \
    "id BIGINT UNSIGNED PATH '$[0]', "                                                             \
    "wamid VARCHAR(160) CHARACTER SET ascii PATH '$[1]')) s "                                      \
    "STRAIGHT_JOIN recipients r FORCE INDEX (PRIMARY) ON r.id = s.id "                             \
    "SET r.status = 'sent', r.wamid = s.wamid, "                                                   \
    "r.sent_at = COALESCE(r.sent_at, NOW(3)), r.last_error_code = NULL, "                          \
    "r.last_error_text = NULL, r.claim_token = NULL, r.claimed_by = NULL, "                        \
    "r.lease_until = NULL, r.armed_at = NULL "                                                     \
    "WHERE r.claim_token = ? AND r.status = 'sending'"
#define SQL_RECORD_RELEASE                                                                         \
    "UPDATE recipients SET status = 'pending', attempts = GREATEST(attempts, 1) - 1, "             \
    "claim_token = NULL, claimed_by = NULL, lease_until = NULL, armed_at = NULL, "                 \
    "next_attempt_at = NOW(3) WHERE id = ? AND claim_token = ? AND status = 'sending'"
#define SQL_RECORD_OUTCOME                                                                         \
    "UPDATE recipients SET status = ?, wamid = COALESCE(?, wamid), "                               \
    "last_error_code = ?, last_error_text = ?, "                                                   \
    "next_attempt_at = IF(? > 0, FROM_UNIXTIME(? / 1000), "                                        \
    "IF(status <> 'pending', DEFAULT(next_attempt_at), next_attempt_at)), "                        \
    "sent_at = IF(? = 'sent', COALESCE(sent_at, NOW(3)), sent_at), "                               \
    "failed_at = IF(? IN ('failed', 'blocked'), NOW(3), failed_at), "                              \
    "claim_token = NULL, claimed_by = NULL, lease_until = NULL, armed_at = NULL "                  \
    "WHERE id = ? AND claim_token = ? AND status = 'sending'"
#define SQL_KEEP_WAMID "UPDATE recipients SET wamid = COALESCE(wamid, ?) WHERE id = ?"

const struct sql_statement queue_statements[] = {
    {"queue.claim_first", SQL_CLAIM_FIRST, "ii"},
    {"queue.claim_after", SQL_CLAIM_AFTER, "isssi"},
    {"queue.claim_part_first", SQL_CLAIM_PART_FIRST, "iiii"},
    {"queue.claim_part_after", SQL_CLAIM_PART_AFTER, "iiisssi"},
    {"queue.peek_part_first", SQL_PEEK_PART_FIRST, "iiii"},
    {"queue.peek_part_after", SQL_PEEK_PART_AFTER, "iiisssi"},
    {"queue.claim_ids", SQL_CLAIM_IDS, "L"},
    {"queue.partitions", SQL_PARTITIONS, "i"},
    {"queue.pair_pace", SQL_PAIR_PACE, "iss"},
    {"queue.freq_count", SQL_FREQ_COUNT, "issii"},
    {"queue.freq_note", SQL_FREQ_NOTE, "ssi"},
    {"queue.freq_purge", SQL_FREQ_PURGE, "i"},
    {"queue.freq_skip", SQL_FREQ_SKIP, "L"},
    {"queue.freq_pending", SQL_FREQ_PENDING, "i"},
    {"queue.pace_note", SQL_PACE_NOTE, "ssii"},
    {"queue.pace_undo", SQL_PACE_UNDO, "ssi"},
    {"queue.block", SQL_BLOCK, "L"},
    {"queue.defer", SQL_DEFER, "iL"},
    {"queue.take", SQL_TAKE, "iiiiL"},
    {"queue.arm", SQL_ARM, "Li"},
    {"queue.still_claimed", SQL_STILL_CLAIMED, "Li"},
    {"queue.release", SQL_RELEASE, "Li"},
    {"queue.release_orphan", SQL_RELEASE_ORPHAN, "iii"},
    {"queue.renew_lock", SQL_RENEW_LOCK, "Li"},
    {"queue.renew_leases", SQL_RENEW_LEASES, "iL"},
    {"queue.stale_claims", SQL_STALE, "Li"},
    {"queue.stale_any", SQL_STALE_ANY, "Li"},
    {"queue.requeue", SQL_REQUEUE, "L"},
    {"queue.mark_unknown", SQL_MARK_UNKNOWN, "L"},
    {"queue.in_doubt_due", SQL_IN_DOUBT_DUE, ""},
    {"queue.resend", SQL_RESEND, "si"},
    {"queue.lock", SQL_LOCK, "s"},
    {"queue.record_sent", SQL_RECORD_SENT, "si"},
    {"queue.record_release", SQL_RECORD_RELEASE, "ii"},
    {"queue.record_outcome", SQL_RECORD_OUTCOME, "ssisiissii"},
    {"queue.keep_wamid", SQL_KEEP_WAMID, "si"},
    {NULL, NULL, NULL},
};

#define TOKEN(t) DB_INT((long long)(t))

int queue_business_lock(struct db *db, const char *lock_key, int *found)
{
    struct db_res res;
    int rc = db_exec(db, "UPDATE pace_timelines SET claims = claims + 1 WHERE pace_key = ?",
                     DB_ARGS(DB_STR(lock_key)), &res);
    *found = rc == DB_OK && res.affected > 0;
    return rc;
}

int queue_business_lock_create(struct db *db, const char *lock_key)
{
    return db_exec(db, "INSERT IGNORE INTO pace_timelines (pace_key) VALUES (?)",
                   DB_ARGS(DB_STR(lock_key)), NULL);
}

int queue_partition(struct db *db, long long worker_id, int dead_s, int *part, int *nparts)
{
    struct db_rows r;
    *part = 0;
    *nparts = 1;
    int rc = db_query(db, SQL_PARTITIONS, DB_ARGS(DB_INT(dead_s)), &r);
    if (rc != DB_OK)
        return rc;
    for (size_t i = 0; i < r.nrows; i++)
        if (db_int(&r, i, 0, 0) == worker_id) {
            *part = (int)i;
            *nparts = (int)r.nrows;
        }
    db_rows_free(&r);
    return DB_OK;
}

int queue_claim_rows(struct db *db, long long campaign_id, const char *after_at,
                     const char *after_phone, int limit, struct db_rows *rows)
{
    return queue_claim_part_rows(db, campaign_id, 0, 1, after_at, after_phone, limit, rows);
}

/* A statement on a share of the queue: sql_first, or sql_after past the cursor. */
static int part_query(struct db *db, const char *sql_first, const char *sql_after,
                      long long campaign_id, int part, int nparts, const char *after_at,
                      const char *after_phone, int limit, struct db_rows *rows)
{
    if (after_at && after_at[0])
        return db_query(db, sql_after,
                        DB_ARGS(DB_INT(campaign_id), DB_INT(nparts), DB_INT(part), DB_STR(after_at),
                                DB_STR(after_at), DB_STR(after_phone ? after_phone : ""),
                                DB_INT(limit)),
                        rows);
    return db_query(db, sql_first,
                    DB_ARGS(DB_INT(campaign_id), DB_INT(nparts), DB_INT(part), DB_INT(limit)),
                    rows);
}

/* The first column of rows (ids) as an array, *ids to free; rows is freed. Returns a db_rc
 * (DB_ERR: out of memory). */
static int rows_take_ids(struct db_rows *rows, long long **ids, size_t *n)
{
    *n = rows->nrows;
    *ids = malloc((*n + 1) * sizeof **ids);
    for (size_t i = 0; *ids && i < *n; i++)
        (*ids)[i] = db_int(rows, i, 0, 0);
    db_rows_free(rows);
    return *ids ? DB_OK : DB_ERR;
}

/* The cluster's claim of a share: peek, then lock the rows peeked (SQL_CLAIM_IDS). */
static int claim_part_peeked(struct db *db, long long campaign_id, int part, int nparts,
                             const char *after_at, const char *after_phone, int limit,
                             struct db_rows *rows)
{
    struct db_rows p;
    int rc = part_query(db, SQL_PEEK_PART_FIRST, SQL_PEEK_PART_AFTER, campaign_id, part, nparts,
                        after_at, after_phone, limit, &p);
    if (rc != DB_OK)
        return rc;
    memset(rows, 0, sizeof *rows);
    long long *ids;
    size_t n;
    rc = rows_take_ids(&p, &ids, &n);
    if (rc == DB_OK && n)
        rc = idlist_exec(db, SQL_CLAIM_IDS, NULL, 0, ids, n, NULL, 0, NULL, rows);
    free(ids);
    return rc;
}

int queue_claim_part_rows(struct db *db, long long campaign_id, int part, int nparts,
                          const char *after_at, const char *after_phone, int limit,
                          struct db_rows *rows)
{
    if (nparts > 1 && db_is_cluster(db))
        return claim_part_peeked(db, campaign_id, part, nparts, after_at, after_phone, limit, rows);
    if (nparts > 1)
        return part_query(db, SQL_CLAIM_PART_FIRST, SQL_CLAIM_PART_AFTER, campaign_id, part, nparts,
                          after_at, after_phone, limit, rows);
    if (after_at && after_at[0])
        return db_query(db, SQL_CLAIM_AFTER,
                        DB_ARGS(DB_INT(campaign_id), DB_STR(after_at), DB_STR(after_at),
                                DB_STR(after_phone ? after_phone : ""), DB_INT(limit)),
                        rows);
    return db_query(db, SQL_CLAIM_FIRST, DB_ARGS(DB_INT(campaign_id), DB_INT(limit)), rows);
}

void queue_claimed_row(const struct db_rows *rows, size_t i, struct queue_claimed *out)
{
    out->id = db_int(rows, i, 0, 0);
    out->phone = db_val(rows, i, 1);
    out->vars = db_val(rows, i, 2);
    out->attempts = (int)db_int(rows, i, 3, 0);
    out->contact_id = db_int(rows, i, 4, 0);
    out->was_sent = (int)db_int(rows, i, 5, 0);
    out->next_attempt_at = db_val(rows, i, 6);
}

int queue_pair_pace(struct db *db, int gap_s, const char *phones_json, size_t len,
                    const char *waba_id, struct db_rows *rows)
{
    return db_query(db, SQL_PAIR_PACE,
                    DB_ARGS(DB_INT(gap_s), DB_STRN(phones_json, len), DB_STR(waba_id)), rows);
}

int queue_freq_count(struct db *db, const char *phones_json, size_t len, const char *waba_id,
                     long long campaign_id, int window_s, struct db_rows *rows)
{
    return db_query(db, SQL_FREQ_COUNT,
                    DB_ARGS(DB_INT(window_s), DB_STRN(phones_json, len), DB_STR(waba_id),
                            DB_INT(campaign_id), DB_INT(window_s)),
                    rows);
}

int queue_freq_note(struct db *db, const char *waba_id, long long campaign_id,
                    const char *const *phones, size_t n)
{
    if (!n)
        return DB_OK;
    db_arg *args = calloc(n * 3, sizeof *args);
    if (!args)
        return DB_ERR;
    for (size_t i = 0; i < n; i++) {
        args[i * 3] = DB_STR(waba_id);
        args[i * 3 + 1] = DB_STR(phones[i]);
        args[i * 3 + 2] = DB_INT(campaign_id);
    }
    int rc = db_exec_bulk(db, SQL_FREQ_NOTE, args, 3, n, NULL);
    free(args);
    return rc;
}

int queue_freq_purge(struct db *db, int older_s, unsigned long long *affected)
{
    struct db_res res = {0, 0};
    int rc = db_exec(db, SQL_FREQ_PURGE, DB_ARGS(DB_INT(older_s)), &res);
    *affected = res.affected;
    return rc;
}

int queue_freq_pending(struct db *db, long long campaign_id, struct queue_freq_state *out)
{
    struct db_rows r;
    memset(out, 0, sizeof *out);
    int rc = db_query(db, SQL_FREQ_PENDING, DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc != DB_OK)
        return rc;
    if (r.nrows) {
        out->cap = db_int(&r, 0, 0, 0);
        out->window_s = db_int(&r, 0, 1, 0);
        out->skip = db_val(&r, 0, 2) && strcmp(db_val(&r, 0, 2), "skip") == 0;
        out->over = db_int(&r, 0, 3, 0);
    }
    db_rows_free(&r);
    return DB_OK;
}

int queue_freq_skip(struct db *db, const long long *ids, size_t n)
{
    return idlist_exec(db, SQL_FREQ_SKIP, NULL, 0, ids, n, NULL, 0, NULL, NULL);
}

int queue_pace_note(struct db *db, const char *waba_id, const char *const *phones, size_t n,
                    long long ahead_ms, unsigned long long token)
{
    if (!n)
        return DB_OK;
    db_arg *args = calloc(n * 4, sizeof *args);
    if (!args)
        return DB_ERR;
    for (size_t i = 0; i < n; i++) {
        args[i * 4] = DB_STR(waba_id);
        args[i * 4 + 1] = DB_STR(phones[i]);
        args[i * 4 + 2] = DB_INT(ahead_ms);
        args[i * 4 + 3] = TOKEN(token);
    }
    int rc = db_exec_bulk(db, SQL_PACE_NOTE, args, 4, n, NULL);
    free(args);
    return rc;
}

int queue_pace_undo(struct db *db, const struct queue_pace_undo *u, size_t n)
{
    if (!n)
        return DB_OK;
    db_arg *args = calloc(n * 3, sizeof *args);
    if (!args)
        return DB_ERR;
    for (size_t i = 0; i < n; i++) {
        args[i * 3] = DB_STR(u[i].waba_id);
        args[i * 3 + 1] = DB_STR(u[i].phone);
        args[i * 3 + 2] = TOKEN(u[i].token);
    }
    int rc = db_exec_bulk(db, SQL_PACE_UNDO, args, 3, n, NULL);
    free(args);
    return rc;
}

int queue_block(struct db *db, const long long *ids, size_t n)
{
    return idlist_exec(db, SQL_BLOCK, NULL, 0, ids, n, NULL, 0, NULL, NULL);
}

int queue_holdout(struct db *db, const long long *ids, size_t n)
{
    return idlist_exec(db, SQL_HOLDOUT, NULL, 0, ids, n, NULL, 0, NULL, NULL);
}

int queue_set_variant(struct db *db, const long long *ids, size_t n, int variant,
                      unsigned long long *assigned)
{
    struct db_res res = {0, 0};
    int rc =
        idlist_exec(db, SQL_SET_VARIANT, DB_ARGS(DB_INT(variant)), ids, n, NULL, 0, &res, NULL);
    *assigned = rc == DB_OK ? res.affected : 0;
    return rc;
}

int queue_defer(struct db *db, const long long *ids, size_t n, int seconds)
{
    return idlist_exec(db, SQL_DEFER, DB_ARGS(DB_INT(seconds)), ids, n, NULL, 0, NULL, NULL);
}

int queue_take(struct db *db, const long long *ids, size_t n, unsigned long long token,
               long long worker_id, int lease_s, int armed)
{
    return idlist_exec(db, SQL_TAKE,
                       DB_ARGS(TOKEN(token), DB_INT(worker_id), DB_INT(lease_s), DB_INT(armed)),
                       ids, n, NULL, 0, NULL, NULL);
}

int queue_arm(struct db *db, const long long *ids, size_t n, unsigned long long token,
              unsigned long long *affected)
{
    struct db_res res = {0, 0};
    int rc = idlist_exec(db, SQL_ARM, NULL, 0, ids, n, DB_ARGS(TOKEN(token)), &res, NULL);
    *affected = res.affected;
    return rc;
}

int queue_still_claimed(struct db *db, const long long *ids, size_t n, unsigned long long token,
                        struct db_rows *rows)
{
    return idlist_exec(db, SQL_STILL_CLAIMED, NULL, 0, ids, n, DB_ARGS(TOKEN(token)), NULL, rows);
}

int queue_release(struct db *db, const long long *ids, size_t n, unsigned long long token,
                  unsigned long long *affected)
{
    struct db_res res = {0, 0};
    int rc = idlist_exec(db, SQL_RELEASE, NULL, 0, ids, n, DB_ARGS(TOKEN(token)), &res, NULL);
    *affected = res.affected;
    return rc;
}

int queue_release_orphan(struct db *db, long long campaign_id, long long worker_id,
                         unsigned long long token, unsigned long long *affected)
{
    struct db_res res = {0, 0};
    int rc = db_exec(db, SQL_RELEASE_ORPHAN,
                     DB_ARGS(DB_INT(campaign_id), DB_INT(worker_id), TOKEN(token)), &res);
    *affected = res.affected;
    return rc;
}

int queue_renew_leases(struct db *db, const long long *camps, size_t n, long long worker_id,
                       int lease_s)
{
    /* Locks without waiting (SKIP LOCKED), then updates by id: the rows the recorder holds are
     * leaving 'sending' anyway, and a renewal that waited for them in index order while the
     * recorder locked by id was the last deadlock of the chaos run (docs/worker.md, "Lock
     * order"). */
    struct db_rows r;
    int rc = db_begin(db);
    if (rc == DB_OK)
        rc = idlist_exec(db, SQL_RENEW_LOCK, NULL, 0, camps, n, DB_ARGS(DB_INT(worker_id)), NULL,
                         &r);
    if (rc == DB_OK) {
        long long *ids;
        size_t k;
        rc = rows_take_ids(&r, &ids, &k);
        if (rc == DB_OK && k)
            rc = idlist_exec(db, SQL_RENEW_LEASES, DB_ARGS(DB_INT(lease_s)), ids, k, NULL, 0, NULL,
                             NULL);
        free(ids);
    }
    if (rc == DB_OK)
        rc = db_commit(db);
    if (rc != DB_OK)
        db_rollback(db);
    return rc;
}

int queue_stale_any(struct db *db, const long long *camps, size_t n, long long worker_id, int *any)
{
    struct db_rows r;
    int rc =
        idlist_exec(db, SQL_STALE_ANY, NULL, 0, camps, n, DB_ARGS(DB_INT(worker_id)), NULL, &r);
    *any = 0;
    if (rc != DB_OK)
        return rc;
    *any = r.nrows > 0;
    db_rows_free(&r);
    return DB_OK;
}

int queue_stale_claims(struct db *db, const long long *camps, size_t n, long long worker_id,
                       struct db_rows *rows)
{
    return idlist_exec(db, SQL_STALE, NULL, 0, camps, n, DB_ARGS(DB_INT(worker_id)), NULL, rows);
}

void queue_stale_row(const struct db_rows *rows, size_t i, struct queue_stale *out)
{
    out->id = db_int(rows, i, 0, 0);
    out->campaign_id = db_int(rows, i, 1, 0);
    out->armed = (int)db_int(rows, i, 2, 1);
}

int queue_requeue(struct db *db, const long long *ids, size_t n)
{
    return idlist_exec(db, SQL_REQUEUE, NULL, 0, ids, n, NULL, 0, NULL, NULL);
}

int queue_mark_unknown(struct db *db, const long long *ids, size_t n)
{
    return idlist_exec(db, SQL_MARK_UNKNOWN, NULL, 0, ids, n, NULL, 0, NULL, NULL);
}

int queue_in_doubt_due(struct db *db, struct db_rows *rows)
{
    return db_query(db, SQL_IN_DOUBT_DUE, NULL, 0, rows);
}

void queue_in_doubt_row(const struct db_rows *rows, size_t i, struct queue_in_doubt *out)
{
    out->id = db_int(rows, i, 0, 0);
    out->campaign_id = db_int(rows, i, 1, 0);
    out->resend_after_s = db_int(rows, i, 2, 0);
}

int queue_resend(struct db *db, long long id, const char *text, unsigned long long *affected)
{
    struct db_res res = {0, 0};
    int rc = db_exec(db, SQL_RESEND, DB_ARGS(DB_STR(text), DB_INT(id)), &res);
    *affected = res.affected;
    return rc;
}

int queue_lock(struct db *db, const char *ids_json, size_t len)
{
    struct db_rows r;
    int rc = db_query(db, SQL_LOCK, DB_ARGS(DB_STRN(ids_json, len)), &r);
    if (rc == DB_OK)
        db_rows_free(&r);
    return rc;
}

int queue_record_sent(struct db *db, const char *pairs_json, size_t len, unsigned long long token,
                      unsigned long long *affected)
{
    struct db_res res = {0, 0};
    int rc = db_exec(db, SQL_RECORD_SENT, DB_ARGS(DB_STRN(pairs_json, len), TOKEN(token)), &res);
    *affected = res.affected;
    return rc;
}

int queue_record_release(struct db *db, long long id, unsigned long long token,
                         unsigned long long *affected)
{
    struct db_res res = {0, 0};
    int rc = db_exec(db, SQL_RECORD_RELEASE, DB_ARGS(DB_INT(id), TOKEN(token)), &res);
    *affected = res.affected;
    return rc;
}

int queue_record_outcome(struct db *db, long long id, unsigned long long token, const char *status,
                         const char *wamid, int code, const char *text, long long retry_at_ms,
                         unsigned long long *affected)
{
    struct db_res res = {0, 0};
    int rc = db_exec(db, SQL_RECORD_OUTCOME,
                     DB_ARGS(DB_STR(status), DB_STR(wamid), code ? DB_INT(code) : DB_NULL,
                             text && text[0] ? DB_STR(text) : DB_NULL, DB_INT(retry_at_ms),
                             DB_INT(retry_at_ms), DB_STR(status), DB_STR(status), DB_INT(id),
                             TOKEN(token)),
                     &res);
    *affected = res.affected;
    return rc;
}

int queue_keep_wamid(struct db *db, long long id, const char *wamid)
{
    return db_exec(db, SQL_KEEP_WAMID, DB_ARGS(DB_STR(wamid), DB_INT(id)), NULL);
}
