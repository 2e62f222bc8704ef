/* Applying a verified webhook payload from Meta to our state. Shared by the FastCGI app,
 * which applies right after storing, and anything that re-applies stored events. */
#ifndef PREGON_WEBHOOK_APPLY_H
#define PREGON_WEBHOOK_APPLY_H

#include <json-c/json.h>

struct db;

struct webhook_stats {
    int statuses;  /* status items seen */
    int applied;   /* statuses that changed a recipient */
    int unmatched; /* statuses for messages we don't know */
    int ignored;   /* duplicates, stale or backwards statuses */
    int other;     /* items of fields we don't act on yet */
};

/* Applies every entry[].changes[] item of payload inside one transaction (the caller's
 * connection must not be inside a transaction). Returns a db_rc; on DB_ERR_RETRY or
 * DB_ERR_CONN nothing was applied and the caller may try again. */
int webhook_apply(struct db *db, json_object *payload, struct webhook_stats *st);

/* The biz_opaque_callback_data we send: identifies the recipient row. */
int webhook_callback_format(char *out, size_t outlen, long long campaign_id,
                            long long recipient_id);
int webhook_callback_parse(const char *s, long long *campaign_id, long long *recipient_id);

#endif
