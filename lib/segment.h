/* Segments: which contacts make an audience (issue 21). One definition, checked once
 * (segment_parse) and turned into one condition on contacts c (segment_where): the saved
 * segments' live count, the campaign import from contacts and from a saved segment all use
 * it. A definition (JSON object, every member optional):
 *   include_tags    tags (1-64 characters, at most 50); match "any" (default) or "all"
 *   exclude_tags    tags none of which the contact has
 *   attributes      [{"key": K, "op": "equals"|"contains"|"empty", "value": V}] (at most 20;
 *                   K 1-64 bytes without quotes or backslashes, V up to 256 bytes, none for
 *                   empty): the contact's attributes; contains ignores case
 *   consent_since   ISO 8601 time with offset: consent recorded at or after it
 *   not_in_campaigns campaign ids (at most 50): numbers that are not recipients of any */
#ifndef PREGON_SEGMENT_H
#define PREGON_SEGMENT_H

#include <json-c/json.h>
#include <stddef.h>

#include "db.h"

#define SEGMENT_MAX_TAGS      50
#define SEGMENT_MAX_ATTRS     20
#define SEGMENT_MAX_CAMPAIGNS 50
/* placeholders segment_where may need */
#define SEGMENT_MAX_ARGS                                                                           \
    (2 * SEGMENT_MAX_TAGS + 1 + 3 * SEGMENT_MAX_ATTRS + 1 + SEGMENT_MAX_CAMPAIGNS)

enum segment_op { SEGMENT_EQUALS, SEGMENT_CONTAINS, SEGMENT_EMPTY };

struct segment_attr {
    char path[80]; /* the JSON path of the key: $."key" */
    enum segment_op op;
    const char *value; /* in the definition */
};

/* Strings point into def, which the segment holds a reference to (segment_free drops it). */
struct segment {
    json_object *def;
    const char *include[SEGMENT_MAX_TAGS], *exclude[SEGMENT_MAX_TAGS];
    size_t ninclude, nexclude;
    int all;
    struct segment_attr attrs[SEGMENT_MAX_ATTRS];
    size_t nattrs;
    char consent_since[24]; /* UTC "YYYY-MM-DD HH:MM:SS.mmm", or "" */
    long long not_in[SEGMENT_MAX_CAMPAIGNS];
    size_t nnot_in;
};

/* What is wrong with a definition: the field ("attributes[2].op") and a sentence. */
struct segment_error {
    char field[64];
    char detail[160];
};

/* Checks def (a JSON object; a reference is taken) into *s. Returns 0, or -1 with *err set
 * (s then holds nothing to free). */
int segment_parse(json_object *def, struct segment *s, struct segment_error *err);
void segment_free(struct segment *s);

/* Appends the segment's condition on contacts c to sql (" AND ..." parts; nothing when the
 * segment takes everyone) and its values to args from *na. Returns 0, or -1 when sql is too
 * small. args has room for SEGMENT_MAX_ARGS more. The values point into s. */
int segment_where(const struct segment *s, char *sql, size_t len, db_arg *args, size_t *na);

/* How many contacts the segment takes, and of them how many have consent on record. */
int segment_count(struct db *db, const struct segment *s, long long *total, long long *consented);

/* Saved segments (table segments). Rows: id, name, definition, created_by, created_at,
 * updated_at. */
#define SEGMENT_COLUMNS "id, name, definition, created_by, created_at, updated_at"
int segment_store_list(struct db *db, struct db_rows *rows);
/* *found 0 when there is no segment id. */
int segment_store_get(struct db *db, long long id, struct db_rows *rows, int *found);
/* *dup 1 when another segment has that name (nothing written). */
int segment_store_insert(struct db *db, const char *name, const char *def, const char *user,
                         long long *id, int *dup);
/* name or def may be NULL (kept). *found 0: no such segment; *dup as above. */
int segment_store_update(struct db *db, long long id, const char *name, const char *def, int *found,
                         int *dup);
int segment_store_delete(struct db *db, long long id, int *found);

#endif
