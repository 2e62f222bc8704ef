/* A large audience import in chunks (lib/recipients_import.h): every chunk_rows stored rows
 * are committed, so no transaction grows with the file (a Galera cluster certifies and
 * replicates each one whole, and stalls every node while a huge one applies; a single server
 * keeps its undo log short).
 *
 * A chunk ends at the first batch boundary past chunk_rows (a batch: 1,000 rows stored with
 * INSERT, or the rows of one 64 KiB read of the body on the LOAD DATA stream), so chunks are
 * bounded by chunk_rows plus one batch. An import that never fills a chunk stays one
 * transaction, as before. At the first chunk's
 * commit the campaign is marked (sql/173): import_token (who holds it), import_floor_id (the
 * campaign's highest recipient id before the import: its rows are those above it; new ids are
 * always higher, and no one else adds rows to a marked campaign) and a lease renewed at every
 * chunk. Every action on the draft refuses a marked campaign. A failed import undoes its
 * chunks (recipients_import_undo); one whose process died leaves its lease to run out, and the
 * next action on the campaign undoes it (recipients_import_settle). Undoing deletes in chunks
 * too, each checked under the campaign's lock to still hold the marker. */
#include <stdio.h>

#include "campaign_store.h"
#include "db.h"
#include "lease.h"
#include "log.h"
#include "recipients_import_impl.h"

/* How long an importer may go without committing a chunk before it counts as dead. nginx
 * buffers request bodies, so a chunk never waits for a slow client. */
#define IMPORT_LEASE_S 120
/* Rows deleted per transaction when an import is undone. */
#define UNDO_ROWS 5000

void recipients_import_set_chunk(struct recipients_import *u, long long rows)
{
    u->chunk_rows = rows > 0 ? rows : 0;
}

int ri_chunk_floor(struct recipients_import *u)
{
    u->floor_id = 0; /* no rows yet: every id is above 0 */
    if (!u->had_rows)
        return 0;
    struct db_rows r;
    if (db_query(u->db, "SELECT COALESCE(MAX(id), 0) FROM recipients WHERE campaign_id = ?",
                 DB_ARGS(DB_INT(u->campaign_id)), &r) != DB_OK)
        return ri_fail(u, 500, "database_error", NULL, "could not read the campaign's recipients");
    u->floor_id = r.nrows ? db_int(&r, 0, 0, 0) : 0;
    db_rows_free(&r);
    return 0;
}

/* The campaign locked again; 1 when the marker is still token's, 0 when not, -1 on error. */
static int marker_held(struct db *db, long long campaign_id, long long token)
{
    struct db_rows r;
    if (db_query(db, "SELECT import_token FROM campaigns WHERE id = ? FOR UPDATE",
                 DB_ARGS(DB_INT(campaign_id)), &r) != DB_OK)
        return -1;
    int held = r.nrows == 1 && db_val(&r, 0, 0) && db_int(&r, 0, 0, 0) == token;
    db_rows_free(&r);
    return held;
}

int ri_chunk_commit(struct recipients_import *u)
{
    int rc;
    if (!u->chunked) {
        u->token = lease_token();
        rc = campaign_store_import_mark(u->db, u->campaign_id, u->token, u->floor_id,
                                        IMPORT_LEASE_S);
    } else {
        rc = campaign_store_import_renew(u->db, u->campaign_id, u->token, IMPORT_LEASE_S);
    }
    if (rc == DB_OK) {
        /* From here a failure undoes: the marker may be committed even when the answer to
         * the commit is lost, and the undo checks that it is there. */
        u->chunked = 1;
        rc = db_commit(u->db);
    }
    if (rc == DB_OK)
        rc = db_begin(u->db);
    int held = rc == DB_OK ? marker_held(u->db, u->campaign_id, u->token) : -1;
    if (held < 0) {
        log_error("campaign %lld: import chunk: %s", u->campaign_id, db_error(u->db));
        return ri_fail(u, 500, "database_error", NULL, "could not store recipients");
    }
    if (held == 0) {
        u->chunked = 0; /* someone else holds the marker: nothing here to undo */
        return ri_fail(u, 409, "import_interrupted", NULL,
                       "the import stopped for too long and was undone; upload the file again");
    }
    u->since_commit = 0;
    u->chunks++;
    return 0;
}

int ri_chunk_maybe_commit(struct recipients_import *u)
{
    if (!u->chunk_rows || u->since_commit < u->chunk_rows)
        return 0;
    return ri_chunk_commit(u);
}

int ri_chunk_finish(struct recipients_import *u)
{
    if (!u->chunked)
        return 0;
    log_info("campaign %lld: import committed in %d chunks of about %lld rows and a last one",
             u->campaign_id, u->chunks, u->chunk_rows);
    /* the campaign is locked since the last chunk's check that the marker is ours */
    return campaign_store_import_clear(u->db, u->campaign_id) == DB_OK ? 0 : -1;
}

/* Deletes the rows above floor while the marker is token's, a chunk per transaction, then
 * clears the marker. Returns 0, or -1 (the marker stays: the next action undoes the rest). */
static int undo_rows(struct db *db, long long campaign_id, long long floor, long long token)
{
    unsigned long long total = 0;
    for (;;) {
        struct db_res res = {0, 0};
        int rc = db_begin(db);
        int held = rc == DB_OK ? marker_held(db, campaign_id, token) : -1;
        if (held == 1)
            rc = db_exec(db, "DELETE FROM recipients WHERE campaign_id = ? AND id > ? LIMIT ?",
                         DB_ARGS(DB_INT(campaign_id), DB_INT(floor), DB_INT(UNDO_ROWS)), &res);
        if (held == 1 && rc == DB_OK && res.affected < UNDO_ROWS)
            rc = campaign_store_import_clear(db, campaign_id);
        else if (held == 1 && rc == DB_OK)
            rc = campaign_store_import_renew(db, campaign_id, token, IMPORT_LEASE_S);
        if (held < 0 || rc != DB_OK || db_commit(db) != DB_OK) {
            log_error("campaign %lld: undoing an import: %s", campaign_id, db_error(db));
            db_rollback(db);
            return -1;
        }
        total += res.affected;
        if (held == 0 || res.affected < UNDO_ROWS)
            break;
    }
    log_warn("campaign %lld: import undone, %llu row(s) removed", campaign_id, total);
    return 0;
}

int recipients_import_undo(struct recipients_import *u)
{
    if (!u->chunked)
        return 0;
    u->chunked = 0;
    return undo_rows(u->db, u->campaign_id, u->floor_id, u->token);
}

int recipients_import_settle(struct db *db, long long campaign_id)
{
    struct db_rows r;
    if (db_query(db,
                 "SELECT import_token IS NOT NULL, import_lease_until < NOW(3), import_floor_id "
                 "FROM campaigns WHERE id = ?",
                 DB_ARGS(DB_INT(campaign_id)), &r) != DB_OK)
        return -1;
    int marked = r.nrows == 1 && db_int(&r, 0, 0, 0);
    int stale = marked && db_int(&r, 0, 1, 0);
    db_rows_free(&r);
    if (!marked)
        return RECIPIENTS_SETTLED;
    if (!stale)
        return RECIPIENTS_IMPORTING;
    /* The importer is gone. Take the marker over with a token and lease of our own, so that
     * it finds the import undone if it ever comes back, and one process undoes it. */
    long long token = lease_token(), floor = 0;
    int rc = db_begin(db);
    if (rc == DB_OK)
        rc = db_query(db,
                      "SELECT import_floor_id FROM campaigns WHERE id = ? AND import_token IS NOT "
                      "NULL AND import_lease_until < NOW(3) FOR UPDATE",
                      DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc == DB_OK) {
        int still = r.nrows == 1;
        floor = still ? db_int(&r, 0, 0, 0) : 0;
        db_rows_free(&r);
        if (!still) {
            db_rollback(db);
            return recipients_import_settle(db, campaign_id); /* it changed: read it again */
        }
        rc = campaign_store_import_renew(db, campaign_id, token, IMPORT_LEASE_S);
    }
    if (rc != DB_OK || db_commit(db) != DB_OK) {
        db_rollback(db);
        return -1;
    }
    log_warn("campaign %lld: an import stopped midway (its lease ran out); undoing it",
             campaign_id);
    return undo_rows(db, campaign_id, floor, token) == 0 ? RECIPIENTS_SETTLED : -1;
}
