/* Contacts import from CSV: the one implementation behind POST /api/contacts/import and
 * `pregonctl contacts-import`. A header row with a phone column (phone, telefono, ...) and
 * optional consent, name, lead_id and tags columns; other columns become attributes. Each row
 * is stored or rejected with its line number and reason (invalid number, duplicate in the
 * file, opted out, no consent (lib/apival: only a written refusal or a blank), invalid UTF-8).
 * Importing the same file twice adds nothing.
 *
 * The caller owns the transaction: begin before the first feed, commit (or roll back) after
 * finish, so the import and its audit row commit together, then call contacts_import_close.
 * One object per import.
 *
 * Chunks (issue #23, lib/contacts_chunks.c): with contacts_import_set_chunk, an import with
 * more checked rows than a chunk commits as it goes. Its rows are staged (each chunk of
 * checked rows committed to a staging table), and once the file is read whole they are
 * merged into contacts a chunk per transaction; the last merge chunk stays open for the
 * caller's commit. A file that fails leaves contacts untouched (close discards the staged
 * rows); a merge that fails or whose process dies is finished, never undone, by whoever takes
 * the import over (contacts_import_settle). */
#ifndef PREGON_CONTACTS_IMPORT_H
#define PREGON_CONTACTS_IMPORT_H

#include <json-c/json.h>
#include <stddef.h>

struct db;
struct contacts_import; /* opaque */

struct contacts_import_opts {
    const char *country;        /* ISO country numbers without a code are read in (required) */
    const char *tags;           /* comma-separated tags given to every stored row, or NULL */
    const char *consent_source; /* recorded with consent given by the file; NULL: "import" */
};

/* contacts_import_settle's answers */
enum { CONTACTS_IMPORT_SETTLED = 0, CONTACTS_IMPORT_RUNNING = 1 };

/* Before an import: finishes or discards a chunked import whose process died (its lease ran
 * out; merging: merged forward, staging: discarded). Returns CONTACTS_IMPORT_SETTLED (none
 * left), CONTACTS_IMPORT_RUNNING (a live one holds the contacts: answer 409 import_running) or
 * -1 (database error). Outside a transaction. */
int contacts_import_settle(struct db *db);

/* Returns NULL on allocation failure. Free with contacts_import_free(). */
struct contacts_import *contacts_import_new(struct db *db, const struct contacts_import_opts *o);
void contacts_import_free(struct contacts_import *ci);
/* Commits every rows checked rows as a chunk (0, the default: one transaction whatever the
 * size). Before the first feed; not for a dry run, whose rows must not commit. */
void contacts_import_set_chunk(struct contacts_import *ci, long long rows);
/* After the caller's commit or rollback: a chunked import deletes its staged rows (the file
 * failed: contacts untouched; or merged: done), or, when the merge did not commit whole,
 * finishes it now. Nothing for an import in one transaction. */
void contacts_import_close(struct contacts_import *ci);

/* Parses the next chunk of the CSV. Returns 0, or -1 when the import failed as a whole (see
 * contacts_import_failure); later calls then return -1 too. */
int contacts_import_feed(struct contacts_import *ci, const char *buf, size_t len);
/* Ends the input and stores the last rows. Same return values. */
int contacts_import_finish(struct contacts_import *ci);

/* Why the import failed: an HTTP-like status (400 bad CSV, 422 no phone column, 500 database
 * or memory), a code ("invalid_csv", "missing_column", ...), the field concerned (or NULL) and
 * a message naming the line. Returns 0 when nothing failed. Pointers valid until free. */
int contacts_import_failure(const struct contacts_import *ci, const char **code, const char **field,
                            const char **message);
/* Fails the import from outside (e.g. the upload is too large); returns -1. */
int contacts_import_fail(struct contacts_import *ci, int status, const char *code,
                         const char *field, const char *message);

/* One contact given field by field (POST /api/contacts/bulk, PUT /api/contacts/by-lead/ID):
 * the CSV rows go through the same function, so both follow one rule. Texts need not be
 * NUL-terminated; NULL (or length 0) is absent. consent: as the CSV column (yes/no, sí/no,
 * 1/0, a date); tags separated by ',' or '|'; attributes a JSON object or NULL (borrowed). */
struct contacts_import_row {
    const char *phone, *consent, *name, *lead_id, *tags;
    size_t phone_len, consent_len, name_len, lead_len, tags_len;
    json_object *attributes;
};
/* Checks and queues the row as number line of the input (the report's "line"). Returns 0
 * (stored or rejected), or -1 when the import failed as a whole. */
int contacts_import_add(struct contacts_import *ci, size_t line,
                        const struct contacts_import_row *row);

/* Rejects input number line with a reason code and message (an item the caller could not
 * read as a row at all). */
void contacts_import_reject(struct contacts_import *ci, size_t line, const char *reason,
                            const char *message);

/* Totals so far: data rows read, rows stored (new or updated), contacts that did not exist
 * before, rows rejected. */
void contacts_import_counts(const struct contacts_import *ci, long long *rows, long long *stored,
                            long long *added, long long *rejected);

/* The report: {"rows", "stored", "added", "rejected_total", "rejected_by_reason": {reason: n},
 * "rejected": [{"line", "reason", "message"}] (first 1000, by line)}. Caller puts it. */
json_object *contacts_import_report(struct contacts_import *ci);

#endif
