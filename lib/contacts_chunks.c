/* A large contacts import in chunks (lib/contacts_import.h, sql/174, issue #23): no
 * transaction grows with the file (a Galera cluster certifies and replicates each one whole,
 * and stalls every node while a huge one applies).
 *
 * The import is an upsert, so it cannot be undone by deleting rows: it is staged, then merged
 * forward. Every chunk_rows checked rows are written to contacts_import_rows (their tags to
 * contacts_import_tags) under the import's token and committed; the first chunk claims the
 * one record of contacts_imports (a second import meanwhile is refused: import_running) and
 * every chunk renews its lease. A file that fails is discarded from staging, contacts
 * untouched. Once the file is staged whole (state 'merging'), the staged rows are applied in
 * seq order, chunk_rows per transaction, each recording merged_seq and the contacts it added,
 * so a merge that dies is finished from there by whoever takes it over: the next import
 * (contacts_import_settle), once the lease ran out. The last merge chunk marks it 'done' and
 * commits with the caller's audit row; the staged rows are deleted afterwards. */
#include <stdio.h>
#include <string.h>

#include "contacts_import_impl.h"
#include "lease.h"
#include "log.h"

/* How long an importer may go without committing a chunk before it counts as dead. nginx
 * buffers request bodies, so a chunk never waits for a slow client. */
#define IMPORT_LEASE_S 120
/* Staged rows (and tags) deleted per transaction once an import is discarded or done. */
#define DISCARD_ROWS 5000

#define RUNNING_MSG "contacts are being imported by another import; try again when it ends"
#define TAKEN_MSG                                                                                  \
    "the import stopped for too long and another process took it over; upload the file again "     \
    "if its contacts are not there"

void contacts_import_set_chunk(struct contacts_import *u, long long rows)
{
    u->chunk_rows = rows > 0 ? rows : 0;
}

/* The record locked; 1 when owner holds it, 0 when not (or it is gone), -1 on error. */
static int held(struct db *db, long long owner)
{
    struct db_rows r;
    if (db_query(db, "SELECT owner FROM contacts_imports WHERE slot = 1 FOR UPDATE", DB_NOARGS,
                 &r) != DB_OK)
        return -1;
    int h = r.nrows == 1 && db_int(&r, 0, 0, 0) == owner;
    db_rows_free(&r);
    return h;
}

/* Stages tag (len bytes) of row seq, flushing the arguments when full. */
static int stage_tag(struct contacts_import *u, size_t *na, long long seq, const char *tag,
                     size_t len)
{
    static const char sql[] = "INSERT IGNORE INTO contacts_import_tags (token, seq, tag) "
                              "VALUES (?, ?, ?)";
    if (len == 0 || len > 64)
        return DB_OK;
    if (*na + 3 > sizeof u->args / sizeof u->args[0]) {
        int rc = db_exec_bulk(u->db, sql, u->args, 3, *na / 3, NULL);
        *na = 0;
        if (rc != DB_OK)
            return rc;
    }
    u->args[(*na)++] = DB_INT(u->token);
    u->args[(*na)++] = DB_INT(seq);
    u->args[(*na)++] = DB_STRN(tag, len);
    return DB_OK;
}

/* The checked rows [0, nchecked) to staging, seq after u->staged; and at the first chunk the
 * tags given for the whole import (seq 0). */
static int stage_rows(struct contacts_import *u)
{
    int rc = DB_OK;
    size_t na = 0;
    for (size_t i = 0; i < u->nchecked && rc == DB_OK; i += CI_BATCH) {
        size_t n = u->nchecked - i < CI_BATCH ? u->nchecked - i : CI_BATCH;
        na = 0;
        for (size_t k = 0; k < n; k++) {
            const struct crow *c = &u->pend[i + k];
            u->args[na++] = DB_INT(u->token);
            u->args[na++] = DB_INT(u->staged + (long long)(i + k) + 1);
            u->args[na++] = DB_STR(c->phone);
            u->args[na++] = DB_STR(c->name ? c->name : "");
            u->args[na++] = DB_STR(c->lead_id);
            u->args[na++] = DB_STR(c->attrs ? c->attrs : "{}");
            u->args[na++] = DB_INT(c->consent == 1);
            u->args[na++] = DB_STR(c->consent == 1 ? c->consent_rec : NULL);
        }
        rc = db_exec_bulk(u->db,
                          "INSERT INTO contacts_import_rows (token, seq, phone, name, lead_id, "
                          "attributes, consent, consent_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          u->args, 8, n, NULL);
    }
    na = 0;
    for (size_t k = 0; !u->chunks && k < u->nextra && rc == DB_OK; k++)
        rc = stage_tag(u, &na, 0, u->extra_tags[k], strlen(u->extra_tags[k]));
    for (size_t i = 0; i < u->nchecked && rc == DB_OK; i++) {
        long long seq = u->staged + (long long)i + 1;
        for (const char *t = u->pend[i].tags; t && *t && rc == DB_OK;) {
            size_t tl = strcspn(t, "\n");
            rc = stage_tag(u, &na, seq, t, tl);
            t += tl;
            if (*t)
                t++;
        }
    }
    if (rc == DB_OK && na)
        rc = db_exec_bulk(u->db,
                          "INSERT IGNORE INTO contacts_import_tags (token, seq, tag) "
                          "VALUES (?, ?, ?)",
                          u->args, 3, na / 3, NULL);
    return rc;
}

int contacts_chunks_stage(struct contacts_import *u, int last)
{
    int rc = DB_OK;
    if (!u->token) {
        u->token = lease_token();
        rc = db_exec(u->db,
                     "INSERT INTO contacts_imports (slot, token, owner, state, lease_until, "
                     "chunk_rows) VALUES (1, ?, ?, 'staging', NOW(3) + INTERVAL ? SECOND, ?)",
                     DB_ARGS(DB_INT(u->token), DB_INT(u->token), DB_INT(IMPORT_LEASE_S),
                             DB_INT(u->chunk_rows)),
                     NULL);
        if (rc == DB_ERR_DUP) {
            u->token = 0; /* another import holds the record: nothing of ours to discard */
            return ci_fail(u, 409, "import_running", NULL, RUNNING_MSG);
        }
    } else {
        int h = held(u->db, u->token);
        if (h == 0) {
            u->token = 0; /* taken over: the one that took it discards our rows */
            return ci_fail(u, 409, "import_interrupted", NULL, TAKEN_MSG);
        }
        rc = h == 1 ? DB_OK : DB_ERR;
    }
    if (rc == DB_OK)
        rc = stage_rows(u);
    if (rc == DB_OK)
        rc = db_exec(u->db,
                     "UPDATE contacts_imports SET staged_rows = ?, state = IF(?, 'merging', "
                     "'staging'), lease_until = NOW(3) + INTERVAL ? SECOND WHERE slot = 1",
                     DB_ARGS(DB_INT(u->staged + (long long)u->nchecked), DB_INT(last),
                             DB_INT(IMPORT_LEASE_S)),
                     NULL);
    /* From the first commit on, a failure discards: the record may be committed even when
     * the answer to the commit is lost, and close looks for it. */
    if (rc == DB_OK)
        rc = db_commit(u->db);
    if (rc == DB_OK && !last)
        rc = db_begin(u->db);
    if (rc != DB_OK) {
        log_error("contacts import: staging a chunk: %s", db_error(u->db));
        return ci_fail(u, 500, "database_error", NULL, "could not store the contacts");
    }
    u->staged += (long long)u->nchecked;
    u->chunks++;
    return 0;
}

/* One merge chunk of import token as owner, in an open transaction: the staged rows after
 * merged_seq, up to chunk_rows of them. Returns 1 when it was the last (the import is then
 * 'done'), 0 when more are left, -2 when owner no longer holds the import, -1 on a database
 * error. *added: the contacts the import added so far. */
static int merge_chunk(struct db *db, long long token, long long owner, long long *added)
{
    struct db_rows r;
    if (db_query(db,
                 "SELECT owner, merged_seq, staged_rows, chunk_rows, added FROM contacts_imports "
                 "WHERE slot = 1 AND token = ? FOR UPDATE",
                 DB_ARGS(DB_INT(token)), &r) != DB_OK)
        return -1;
    int mine = r.nrows == 1 && db_int(&r, 0, 0, 0) == owner;
    long long lo = mine ? db_int(&r, 0, 1, 0) : 0, staged = mine ? db_int(&r, 0, 2, 0) : 0;
    long long chunk = mine ? db_int(&r, 0, 3, 0) : 0, nnew = 0;
    *added = mine ? db_int(&r, 0, 4, 0) : 0;
    db_rows_free(&r);
    if (!mine)
        return -2;
    long long hi = chunk > 0 && lo + chunk < staged ? lo + chunk : staged;
    int rc = DB_OK;
    if (hi > lo) {
        /* "added": the contacts that did not exist when their chunk merged. */
        rc = db_query(db,
                      "SELECT COUNT(*) FROM contacts_import_rows s LEFT JOIN contacts c ON "
                      "c.phone = s.phone WHERE s.token = ? AND s.seq > ? AND s.seq <= ? AND c.id "
                      "IS NULL",
                      DB_ARGS(DB_INT(token), DB_INT(lo), DB_INT(hi)), &r);
        if (rc == DB_OK) {
            nnew = r.nrows ? db_int(&r, 0, 0, 0) : 0;
            db_rows_free(&r);
        }
    }
    if (rc == DB_OK && hi > lo)
        rc = db_exec(db,
                     "INSERT INTO contacts (phone, name, lead_id, attributes, consent_at, "
                     "consent_source) SELECT s.phone, s.name, s.lead_id, s.attributes, "
                     "IF(s.consent, NOW(3), NULL), s.consent_source FROM contacts_import_rows s "
                     "WHERE s.token = ? AND s.seq > ? AND s.seq <= ? ORDER BY s.seq "
                     "ON DUPLICATE KEY UPDATE " CI_UPSERT_SET_AS("contacts."),
                     DB_ARGS(DB_INT(token), DB_INT(lo), DB_INT(hi)), NULL);
    /* The tags set-based: the rows' own, then those given for the whole import (seq 0). */
    if (rc == DB_OK && hi > lo)
        rc = db_exec(db,
                     "INSERT IGNORE INTO contact_tags (contact_id, tag) SELECT c.id, t.tag FROM "
                     "contacts_import_tags t JOIN contacts_import_rows s ON s.token = t.token AND "
                     "s.seq = t.seq JOIN contacts c ON c.phone = s.phone WHERE t.token = ? AND "
                     "t.seq > ? AND t.seq <= ?",
                     DB_ARGS(DB_INT(token), DB_INT(lo), DB_INT(hi)), NULL);
    if (rc == DB_OK && hi > lo)
        rc = db_exec(db,
                     "INSERT IGNORE INTO contact_tags (contact_id, tag) SELECT c.id, t.tag FROM "
                     "contacts_import_rows s JOIN contacts_import_tags t ON t.token = s.token AND "
                     "t.seq = 0 JOIN contacts c ON c.phone = s.phone WHERE s.token = ? AND "
                     "s.seq > ? AND s.seq <= ?",
                     DB_ARGS(DB_INT(token), DB_INT(lo), DB_INT(hi)), NULL);
    if (rc == DB_OK)
        rc = db_exec(
            db,
            "UPDATE contacts_imports SET merged_seq = ?, added = added + ?, state = "
            "IF(?, 'done', 'merging'), lease_until = NOW(3) + INTERVAL ? SECOND WHERE "
            "slot = 1",
            DB_ARGS(DB_INT(hi), DB_INT(nnew), DB_INT(hi >= staged), DB_INT(IMPORT_LEASE_S)), NULL);
    if (rc != DB_OK)
        return -1;
    *added += nnew;
    return hi >= staged;
}

/* Merges import token forward as owner, a chunk per transaction; leave_open: the last
 * chunk's transaction stays open for the caller to commit. Returns 0 (merged), -2 (owner lost
 * the import) or -1 (database error, rolled back). */
static int merge_all(struct db *db, long long token, long long owner, int leave_open,
                     long long *added)
{
    for (;;) {
        int rc = db_begin(db) == DB_OK ? merge_chunk(db, token, owner, added) : -1;
        if (rc >= 0 && !(rc == 1 && leave_open) && db_commit(db) != DB_OK)
            rc = -1;
        if (rc < 0) {
            if (rc == -1)
                log_error("contacts import %lld: merging: %s", token, db_error(db));
            db_rollback(db);
            return rc;
        }
        if (rc == 1)
            return 0;
    }
}

int contacts_chunks_merge(struct contacts_import *u)
{
    long long added = 0;
    int rc = merge_all(u->db, u->token, u->token, 1, &added);
    if (rc == -2) {
        u->token = 0;
        return ci_fail(u, 409, "import_interrupted", NULL, TAKEN_MSG);
    }
    if (rc < 0)
        return ci_fail(u, 500, "database_error", NULL, "could not store the contacts");
    u->stored = u->staged;
    u->added = added;
    log_info("contacts import %lld: staged in %d chunks of about %lld rows, merged", u->token,
             u->chunks, u->chunk_rows);
    return 0;
}

/* Deletes the staged rows of import token, then its record, as owner, a chunk per
 * transaction; why: for the log. Returns 0, or -1 (the record stays: once its lease runs out
 * the next import discards the rest). */
static int discard(struct db *db, long long token, long long owner, const char *why)
{
    unsigned long long total = 0;
    for (;;) {
        struct db_res a = {0, 0}, b = {0, 0};
        int rc = db_begin(db);
        int h = rc == DB_OK ? held(db, owner) : -1;
        if (h == 1)
            rc = db_exec(db, "DELETE FROM contacts_import_tags WHERE token = ? LIMIT ?",
                         DB_ARGS(DB_INT(token), DB_INT(DISCARD_ROWS)), &a);
        if (h == 1 && rc == DB_OK)
            rc = db_exec(db, "DELETE FROM contacts_import_rows WHERE token = ? LIMIT ?",
                         DB_ARGS(DB_INT(token), DB_INT(DISCARD_ROWS)), &b);
        int last = a.affected < DISCARD_ROWS && b.affected < DISCARD_ROWS;
        if (h == 1 && rc == DB_OK && last)
            rc = db_exec(db, "DELETE FROM contacts_imports WHERE slot = 1", DB_NOARGS, NULL);
        else if (h == 1 && rc == DB_OK)
            rc = db_exec(db,
                         "UPDATE contacts_imports SET lease_until = NOW(3) + INTERVAL ? SECOND "
                         "WHERE slot = 1",
                         DB_ARGS(DB_INT(IMPORT_LEASE_S)), NULL);
        if (h < 0 || rc != DB_OK || db_commit(db) != DB_OK) {
            log_error("contacts import %lld: deleting its staged rows: %s", token, db_error(db));
            db_rollback(db);
            return -1;
        }
        total += b.affected;
        if (h == 0 || last) {
            log_info("contacts import %lld: deleted %llu staged row(s) (%s)", token, total, why);
            return 0;
        }
    }
}

/* contacts_import_settle; tries: how many more times to read the record when it changes
 * between the read and the take-over (another process took it, or renewed it). */
static int settle(struct db *db, int tries)
{
    struct db_rows r;
    if (db_query(db,
                 "SELECT token, owner, state = 'merging', lease_until < NOW(3) FROM "
                 "contacts_imports WHERE slot = 1",
                 DB_NOARGS, &r) != DB_OK)
        return -1;
    int any = r.nrows == 1;
    long long token = any ? db_int(&r, 0, 0, 0) : 0, old = any ? db_int(&r, 0, 1, 0) : 0;
    int merging = any && db_int(&r, 0, 2, 0), stale = any && db_int(&r, 0, 3, 0);
    db_rows_free(&r);
    if (!any)
        return CONTACTS_IMPORT_SETTLED;
    if (!stale)
        return CONTACTS_IMPORT_RUNNING;
    /* The importer is gone. Take the record over with an owner and lease of our own, so that
     * it finds the import taken if it ever comes back, and one process settles it. */
    long long owner = lease_token();
    struct db_res res = {0, 0};
    int rc = db_begin(db);
    if (rc == DB_OK)
        rc = db_exec(db,
                     "UPDATE contacts_imports SET owner = ?, lease_until = NOW(3) + INTERVAL ? "
                     "SECOND WHERE slot = 1 AND owner = ? AND lease_until < NOW(3)",
                     DB_ARGS(DB_INT(owner), DB_INT(IMPORT_LEASE_S), DB_INT(old)), &res);
    if (rc != DB_OK || db_commit(db) != DB_OK) {
        db_rollback(db);
        return -1;
    }
    if (res.affected != 1) /* it changed meanwhile: read it again */
        return tries > 0 ? settle(db, tries - 1) : CONTACTS_IMPORT_RUNNING;
    log_warn("contacts import %lld: it stopped midway (its lease ran out); %s", token,
             merging ? "finishing its merge" : "discarding its staged rows");
    long long added = 0;
    rc = merging ? merge_all(db, token, owner, 0, &added) : 0;
    if (rc == 0 && merging)
        log_warn("contacts import %lld: merge finished, %lld contact(s) added", token, added);
    if (rc == 0)
        rc = discard(db, token, owner, merging ? "merged" : "its process stopped");
    if (rc == -2)
        return CONTACTS_IMPORT_RUNNING;
    return rc == 0 ? CONTACTS_IMPORT_SETTLED : -1;
}

int contacts_import_settle(struct db *db)
{
    return settle(db, 3);
}

void contacts_import_close(struct contacts_import *u)
{
    long long token = u->token;
    if (!token)
        return;
    u->token = 0;
    struct db_rows r;
    if (db_query(u->db,
                 "SELECT state = 'merging' FROM contacts_imports WHERE slot = 1 AND owner = ?",
                 DB_ARGS(DB_INT(token)), &r) != DB_OK) {
        log_error("contacts import %lld: reading it: %s", token, db_error(u->db));
        return; /* its lease runs out; the next import settles it */
    }
    int ours = r.nrows == 1, merging = ours && db_int(&r, 0, 0, 0);
    db_rows_free(&r);
    if (!ours)
        return;
    long long added = 0;
    if (merging) {
        /* the merge did not commit whole: it rolls forward, never back */
        log_warn("contacts import %lld: the merge stopped; finishing it", token);
        if (merge_all(u->db, token, token, 0, &added) != 0)
            return;
    }
    /* u failed before its merge (contacts untouched), or it was merged */
    discard(u->db, token, token, merging || !u->failed_status ? "merged" : "the import failed");
}
