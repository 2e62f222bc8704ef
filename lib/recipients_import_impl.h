/* The audience import's inside, shared by lib/recipients_import.c (lifecycle, checks, batch
 * lookups, INSERT path, list and contacts sources), lib/recipients_csv.c (the CSV source:
 * header and row checks) and lib/recipients_stream.c (the LOAD DATA stream). Not for callers:
 * they use lib/recipients_import.h. */
#ifndef PREGON_RECIPIENTS_IMPORT_IMPL_H
#define PREGON_RECIPIENTS_IMPORT_IMPL_H

#include <stdint.h>

#include "csvin.h"
#include "e164.h"
#include "phoneset.h"
#include "recipients_import.h"

#define BATCH_ROWS   1000
#define MAX_REPORTED 1000
#define MAX_FIELD    65536
#define MAX_FIELDS   256
#define MAX_PARAMS   64
#define JSON_LIMIT   (8 * 1024 * 1024)
#define VARS_FLAGS   (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
/* Contacts and a campaign's numbers preloaded for the stream: at most this many each, and at
 * most about one per 16 bytes of upload (a small file never waits for a large table: it takes
 * the INSERT way, with its lookups per batch). */
#define PRELOAD_MAX 200000
#define STREAM_NAME "pregon:recipients"

struct pending_row {
    char phone[E164_MAX + 1];
    char *vars; /* JSON text, malloc'd; NULL: take the contact's */
    size_t line;
    int consent; /* 1 given in the row (or the contact's, already checked), 0 not given */
    long long contact_id;
};

/* phone key -> contact id * 2 + consent, open addressing, sized once. */
struct contactmap {
    uint64_t *keys;
    long long *vals;
    size_t cap;
};

struct param_need {
    const char *column;
    const char *fallback;
    int idx; /* header index, -1 when the file lacks the column */
};

enum { IN_MORE, IN_DONE, IN_FAIL };

struct recipients_import {
    struct db *db;
    long long campaign_id;
    enum recipients_source src;
    /* the CSV body */
    recipients_read_fn read;
    void *read_ctx;
    long long content_length;
    size_t body_limit;
    char country[3];
    json_object *map;
    int had_rows; /* the campaign had recipients before: check duplicates against them */
    long long had_count;
    struct phoneset existing; /* loaded: the campaign's numbers, checked here */
    int existing_loaded;
    int relaxed;       /* unique and foreign key checks are off for this session */
    int have_contacts; /* the contacts table is not empty */
    struct phoneset optouts;
    struct contactmap contacts; /* loaded: contacts are looked up here, not in the database */
    int contacts_loaded;
    /* LOAD DATA stream: rows are escaped into out and handed to the server from there */
    int stream;
    char *out;
    size_t out_len, out_pos, out_cap;
    long long stmt_rows; /* rows in the current LOAD DATA statement (one per chunk) */
    struct csvin *csv;
    size_t total; /* bytes of the body read */
    int in_state; /* IN_MORE, IN_DONE, IN_FAIL */
    /* header */
    int have_header;
    size_t ncols;
    char **cols;
    int phone_idx, consent_idx;
    /* vars text built per row without a json-c object: each column's key as JSON ("name":),
     * one reused string object for escaping values, one reused buffer. Only when column names
     * are distinct (json-c's object keeps the first position and the last value of a key). */
    int vars_fast;
    char **keys;
    json_object *vstr;
    char *vbuf;
    size_t vcap;
    struct param_need needs[MAX_PARAMS];
    size_t nneeds;
    /* work */
    struct phoneset seen;
    struct pending_row batch[BATCH_ROWS];
    size_t nbatch;
    /* report */
    long long rows, accepted;
    double db_s;            /* time spent in the database, for the log */
    json_object *rejected;  /* array, first MAX_REPORTED */
    json_object *by_reason; /* reason -> count */
    long long rejected_total;
    /* chunks (lib/recipients_chunks.c): rows are committed every chunk_rows (0: one
     * transaction); once the first chunk is committed the campaign carries the marker */
    long long chunk_rows;
    long long since_commit; /* rows the INSERT way stored since the last commit */
    long long floor_id;     /* the campaign's highest recipient id before the import */
    long long token;        /* campaigns.import_token while the marker is ours */
    int chunked;            /* the marker is set: a failure must undo the committed chunks */
    int chunks;             /* chunks committed so far */
    /* failure that aborts the upload */
    int failed_status;
    char fail_code[48];
    char fail_msg[512];
    const char *fail_field;
    char fail_state[16]; /* invalid_state: the campaign's status */
};

/* lib/recipients_import.c */
void ri_reject(struct recipients_import *u, size_t line, const char *phone, const char *reason,
               const char *message);
/* ri_reject of a row missing the value of a template column: its params name the column. */
void ri_reject_column(struct recipients_import *u, size_t line, const char *phone,
                      const char *reason, const char *message, const char *column);
int ri_fail(struct recipients_import *u, int status, const char *code, const char *field,
            const char *msg);
double ri_now(void);
/* Checks a number common to every source; see recipients_import.c. */
struct pending_row *ri_take_phone(struct recipients_import *u, size_t line, const char *in,
                                  size_t len, int *err);
/* Keeps the row ri_take_phone returned; stores the batch when full. */
int ri_commit_row(struct recipients_import *u);
/* Stores (or streams) the rows of the batch that pass the batch checks. */
int ri_flush(struct recipients_import *u);

/* lib/recipients_chunks.c */
/* Reads the floor (the campaign's highest recipient id) under the campaign's lock. */
int ri_chunk_floor(struct recipients_import *u);
/* After a batch: commits the chunk when it is full and begins the next (see the file). */
int ri_chunk_maybe_commit(struct recipients_import *u);
/* Commits the rows so far, marking the campaign, and begins the next chunk under its lock. */
int ri_chunk_commit(struct recipients_import *u);
/* In the final transaction: clears the marker of a chunked import. */
int ri_chunk_finish(struct recipients_import *u);

/* lib/recipients_csv.c */
/* Makes the CSV reader of a CSV import; -1 when out of memory. */
int ri_csv_open(struct recipients_import *u);
/* Reads and parses the next chunk of the body; IN_MORE, IN_DONE or IN_FAIL (failure on u). */
int ri_csv_read_more(struct recipients_import *u);

/* lib/recipients_stream.c */
/* The contact id and consent for a phone key in the preloaded map; 0 when none. */
long long ri_cmap_get(const struct contactmap *m, uint64_t k);
/* Appends the batch's rows that passed (skip[i] == 0) to the stream; frees their vars. */
int ri_stream_rows(struct recipients_import *u, const int *skip, size_t n);
/* Whether this upload can stream; loads what the checks need if it can. 1 stream, 0 INSERT,
 * -1 failure (on u). */
int ri_stream_choose(struct recipients_import *u);
/* Streams the whole body: 0 done (or failed, on u), 1 the server refused LOAD DATA LOCAL
 * before reading anything (go the INSERT way). */
int ri_stream_upload(struct recipients_import *u);

#endif
