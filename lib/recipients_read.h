/* Reading a campaign's audience for the API: the recipient list (status filter, phone search,
 * cursor pages in index order), the record of its imports, and removing a draft's recipients. */
#ifndef PREGON_RECIPIENTS_READ_H
#define PREGON_RECIPIENTS_READ_H

#include <json-c/json.h>

struct db;

struct recipients_page_query {
    long long campaign_id;
    const char *status;      /* a msg_status name, or NULL: every status */
    const char *like;        /* a LIKE pattern on the phone, or NULL */
    const char *after_at;    /* cursor: next_attempt_at of the last row ("2000-01-01 ..." none) */
    const char *after_phone; /* cursor: phone of the last row ("" none) */
    long long limit;
    const char *lang; /* of the error explanations: "es" (NULL) or "en" */
};

/* One page: {"recipients": [...], "next_after": cursor or null}. With a status, pages follow
 * ix_recipients_queue (next_attempt_at, phone); without, uq_recipients_phone. The
 * statement texts are RECIPIENTS_PAGE_BY_STATUS_SQL and RECIPIENTS_PAGE_SQL. Returns a db_rc;
 * *out is the caller's on DB_OK. */
int recipients_page_json(struct db *db, const struct recipients_page_query *q, json_object **out);
extern const char RECIPIENTS_PAGE_BY_STATUS_SQL[];
extern const char RECIPIENTS_PAGE_SQL[];

/* {"imports": [{"id", "kind", "definition", "rows", "accepted", "rejected",
 * "rejected_by_reason", "actor", "created_at"}]}, oldest first. Returns a db_rc. */
int recipients_imports_json(struct db *db, long long campaign_id, json_object **out);

enum recipients_clear_rc {
    RECIPIENTS_CLEARED,
    RECIPIENTS_CLEAR_READ_ERROR,  /* the campaign could not be read */
    RECIPIENTS_CLEAR_WRITE_ERROR, /* the recipients could not be removed */
    RECIPIENTS_CLEAR_NOT_FOUND,
    RECIPIENTS_CLEAR_NOT_DRAFT,
    RECIPIENTS_CLEAR_IMPORTING /* a chunked import holds it (lib/recipients_chunks.c) */
};
/* Inside the caller's transaction: locks the campaign, and when it is a draft removes every
 * recipient and zeroes its counters; *removed is how many it had. */
enum recipients_clear_rc recipients_clear(struct db *db, long long campaign_id, long long *removed);

#endif
