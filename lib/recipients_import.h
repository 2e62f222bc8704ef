/* A campaign's audience import: the one pipeline behind POST /api/campaigns/{id}/recipients
 * (CSV), .../recipients/list (pasted numbers) and .../recipients/contacts (contacts by tags).
 *
 * Every row is accepted or rejected with its line number and reason (invalid number,
 * duplicate, opted out, no consent, missing template value). An import runs in one
 * transaction that the caller owns: recipients_import_begin, one source, then
 * recipients_import_store and the caller's audit row and commit; recipients_import_close, and
 * a rollback and recipients_import_undo when recipients_import_failure says the import failed.
 * A large import commits in chunks on the way, with the campaign marked meanwhile
 * (lib/recipients_chunks.c): the caller's transaction is then the last chunk's. Importing the
 * same rows again adds nothing.
 *
 * A CSV upload streams its valid rows into the server with LOAD DATA LOCAL INFILE
 * (lib/recipients_stream.c); everything else stores multi-row prepared INSERTs
 * (lib/recipients_import.c); both ways give the same rows and the same report.
 *
 * One import at a time per process: its read and argument buffers are static (pregon-fcgi runs
 * API requests one at a time, under app_mu). */
#ifndef PREGON_RECIPIENTS_IMPORT_H
#define PREGON_RECIPIENTS_IMPORT_H

#include <json-c/json.h>
#include <stddef.h>

#include "segment.h"

struct db;
struct recipients_import; /* opaque */

enum recipients_source { RECIPIENTS_CSV, RECIPIENTS_LIST, RECIPIENTS_CONTACTS };

/* Reads the next bytes of an upload's body: >0 bytes read, 0 (or <0) the end. */
typedef int (*recipients_read_fn)(void *ctx, char *buf, size_t len);

/* Returns NULL when out of memory. Free with recipients_import_free(). */
struct recipients_import *recipients_import_new(struct db *db, long long campaign_id,
                                                enum recipients_source src);
void recipients_import_free(struct recipients_import *ri);

/* Begins the caller's transaction and locks the campaign (imports into one campaign run one
 * at a time), checks it is a draft that no other import holds (an import that stopped midway
 * is undone first: recipients_import_settle), and reads what rows are checked against (the
 * account's country, the parameter mapping, the opt-outs). Returns 0, or -1 with the failure
 * on ri. */
int recipients_import_begin(struct recipients_import *ri);

/* The sources; each returns 0, or -1 with the failure on ri. */
/* A CSV body read through fn: content_length (0: unknown) sizes the preloads, body_limit
 * refuses a larger body (413). */
int recipients_import_csv(struct recipients_import *ri, recipients_read_fn fn, void *ctx,
                          long long content_length, size_t body_limit);
/* Numbers one per line, or separated by , ; (a number may carry spaces). */
int recipients_import_list_text(struct recipients_import *ri, const char *text);
/* A JSON array of numbers (strings). */
int recipients_import_list_array(struct recipients_import *ri, json_object *phones);
/* The contacts the segment takes (lib/segment.h). */
int recipients_import_contacts(struct recipients_import *ri, const struct segment *seg);

/* A CSV import's definition: {"bytes", "delimiter", "columns"}. Caller owns it. */
json_object *recipients_import_csv_definition(const struct recipients_import *ri);
/* Rows read, accepted and rejected so far. */
void recipients_import_counts(const struct recipients_import *ri, long long *rows,
                              long long *accepted, long long *rejected);

/* Adds the accepted rows to the campaign's counters and records the import (audience_imports:
 * kind, definition, counts, actor); *import_id is its id. Returns 0, or -1 with the failure on
 * ri (also when the import had already failed). The caller then writes its audit row and
 * commits. */
int recipients_import_store(struct recipients_import *ri, const char *kind, json_object *definition,
                            const char *actor, long long *import_id);
/* Restores the session's settings (see recipients_import_begin); call after the commit, or
 * before the rollback of a failed import. */
void recipients_import_close(struct recipients_import *ri);

/* Large imports commit every rows stored rows (lib/recipients_chunks.c; 0, the default: one
 * transaction). Set before the source. */
void recipients_import_set_chunk(struct recipients_import *ri, long long rows);
/* After the rollback of a failed import: undoes the chunks it had committed. Returns 0, or -1
 * when the database failed (the campaign stays marked; the next action on it undoes them). */
int recipients_import_undo(struct recipients_import *ri);

enum { RECIPIENTS_SETTLED = 0, RECIPIENTS_IMPORTING = 1 };
/* Before an action on a draft, outside any transaction: undoes an import that stopped midway
 * (its process died; its lease ran out). Returns RECIPIENTS_SETTLED (no import runs),
 * RECIPIENTS_IMPORTING (one runs, or another process is undoing one: refuse with
 * import_running) or -1 (database error). */
int recipients_import_settle(struct db *db, long long campaign_id);

/* Fails the import from outside (e.g. the transaction could not begin); returns -1. */
int recipients_import_fail(struct recipients_import *ri, int status, const char *code,
                           const char *field, const char *message);
/* Why the import failed: an HTTP-like status (0 when it did not), code, field (or NULL) and
 * message. Pointers valid until free. */
int recipients_import_failure(const struct recipients_import *ri, const char **code,
                              const char **field, const char **message);
/* The campaign's status when the import failed for it (invalid_state: not a draft); else NULL. */
const char *recipients_import_failed_state(const struct recipients_import *ri);

/* The report: {"campaign_id", "import_id", "rows", "accepted", "rejected_total",
 * "rejected_by_reason", "rejected" (first 1000, by line), "rejected_truncated"}; logs the
 * import's line. Caller owns it. */
json_object *recipients_import_report(struct recipients_import *ri, const char *kind,
                                      long long import_id);

#endif
