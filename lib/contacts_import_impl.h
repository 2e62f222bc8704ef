/* The contacts import's inside, shared by lib/contacts_import.c (reading and checking rows,
 * storing an import that fits one transaction) and lib/contacts_chunks.c (a larger one staged
 * in chunks, then merged forward). Not for callers: they use contacts_import.h. */
#ifndef PREGON_CONTACTS_IMPORT_IMPL_H
#define PREGON_CONTACTS_IMPORT_IMPL_H

#include <json-c/json.h>
#include <stddef.h>

#include "contacts_import.h"
#include "csvin.h"
#include "db.h"
#include "e164.h"
#include "phoneset.h"

/* Rows checked against the database together, and per statement stored. */
#define CI_BATCH 500

/* How a stored row updates a contact that exists: the name and lead id when given, the
 * attributes merged, consent kept when on record. t: "" or the table qualifying the columns
 * (an INSERT ... SELECT from a table with the same column names). */
#define CI_UPSERT_SET_AS(t)                                                                        \
    t "name = IF(VALUES(name) <> '', VALUES(name), " t "name), " t "lead_id = "                    \
      "COALESCE(VALUES(lead_id), " t "lead_id), " t "attributes = JSON_MERGE_PATCH(" t             \
      "attributes, VALUES(attributes)), " t "consent_at = COALESCE(" t "consent_at, "              \
      "VALUES(consent_at)), " t "consent_source = COALESCE(" t "consent_source, "                  \
      "VALUES(consent_source))"
#define CI_UPSERT_SET CI_UPSERT_SET_AS("")

struct crow {
    char phone[E164_MAX + 1];
    size_t line;
    int consent;                         /* 1 yes, 0 not given, 2 on record already */
    int exists;                          /* the contact is in the database already */
    char consent_rec[121];               /* what the file said and which import */
    char *name, *lead_id, *attrs, *tags; /* malloc'd; tags '\n'-separated */
};

struct contacts_import {
    struct db *db;
    char consent_source[121]; /* the import: given, or "import <UTC time>" */
    char *tags_buf;
    struct csvin *csv;
    char country[3];
    int have_header;
    int by_fields; /* rows come through contacts_import_add, not CSV */
    size_t ncols;
    char **cols;
    int phone_idx, consent_idx, name_idx, lead_idx, tags_idx;
    char **extra_tags;
    size_t nextra;
    struct phoneset seen;
    /* Rows read and not stored yet: [0, nchecked) passed the database checks. */
    struct crow *pend;
    size_t npend, nchecked, cap;
    long long rows, stored, rejected_total;
    json_object *rejected, *by_reason;
    long long added;
    db_arg args[CI_BATCH * 8];
    int failed_status;
    char fail_code[48], fail_msg[512];
    const char *fail_field;
    /* chunks (lib/contacts_chunks.c) */
    long long chunk_rows; /* 0: one transaction */
    long long token;      /* the staged rows' key; 0 until the first chunk is staged */
    long long staged;     /* rows staged so far (the last one's seq) */
    int chunks;           /* chunks staged */
};

int ci_fail(struct contacts_import *u, int status, const char *code, const char *field,
            const char *msg);
void crow_free(struct crow *r);

/* Stages the checked rows [0, nchecked) and commits them as a chunk, claiming the import's
 * record at the first; last: the file is read whole, the record turns 'merging'. Leaves a
 * transaction open. Returns 0 or -1 (u failed). */
int contacts_chunks_stage(struct contacts_import *u, int last);
/* Merges the staged rows forward, a chunk per transaction, and leaves the last one (which
 * marks the import 'done') open for the caller's commit; sets u->stored and u->added. Returns
 * 0 or -1 (u failed). */
int contacts_chunks_merge(struct contacts_import *u);

#endif
