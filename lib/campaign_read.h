/* Reads of campaigns and their recipients for operator views: /metrics (queue depth per
 * campaign), /api/health (the oldest due message), an account's page (campaigns Meta paused,
 * how many campaigns use it) and `pregonctl campaign-status`. Each returns a db_rc. */
#ifndef PREGON_CAMPAIGN_READ_H
#define PREGON_CAMPAIGN_READ_H

#include <json-c/json.h>
#include <stddef.h>

struct db;

struct campaign_queue_depth {
    long long campaign_id;
    char status[16];
    long long queued; /* pending + sending */
};
/* The running, paused and scheduled campaigns' queues. *out (malloc'd, *n rows) is the
 * caller's. */
int campaign_read_queue_depths(struct db *db, struct campaign_queue_depth **out, size_t *n);

/* Seconds the oldest due pending message of a running campaign has waited (read from the claim
 * index, never by scanning recipients); *known is 0 when no campaign has one. */
int campaign_read_oldest_pending_age(struct db *db, double *age_s, int *known);

/* The account's campaigns Meta stopped (a template, the account, an error code), newest 20:
 * [{"campaign_id", "name", "pause_kind", "pause_reason", "pause" (in lang, campaign_view_pause),
 * "resumable"}]. */
int campaign_read_paused_by_meta(struct db *db, long long account_id, const char *lang,
                                 json_object **out);

/* How many campaigns (any status) send from the account. */
int campaign_read_count_for_account(struct db *db, long long account_id, long long *n);

struct campaign_status_row {
    long long id, total, pending, sent, delivered, read, failed, blocked, cancelled, unknown,
        holdout;
    char *name, *status, *pause_reason; /* pause_reason "" when none */
    char started[32], completed[32];    /* "YYYY-MM-DD HH:MM:SS UTC" or "-" */
};
/* One campaign's status and counters; *found 0 when there is no such campaign. Free with
 * campaign_status_row_free(). */
int campaign_read_status(struct db *db, long long id, struct campaign_status_row *out, int *found);
void campaign_status_row_free(struct campaign_status_row *r);

#endif
