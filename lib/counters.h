/* Campaign counters: changed in the same transaction as the recipients they count. */
#ifndef PREGON_COUNTERS_H
#define PREGON_COUNTERS_H

#include "msgstatus.h"

struct db;

/* Adds d to the counters of campaign_id (campaign_store_add_counters). Returns a db_rc. */
int counters_apply(struct db *db, long long campaign_id, const struct msg_delta *d);

/* Marks a running campaign completed when nothing is left to send (no pending, none being
 * sent): the recorder calls it with the results that empty the queue, the claimer as a
 * fallback for what others changed. *completed (may be NULL) is 1 when this call did it.
 * Returns a db_rc. */
int counters_complete_if_done(struct db *db, long long campaign_id, int *completed);

/* Adds n send_log rows of outcome (sent, failed, blocked, retry, unknown) to the campaign's
 * current minute in send_minutes (rates, ETAs, the per-minute chart). Every writer of send_log
 * calls it in the same transaction, with the number of rows it really inserted. The row is
 * the writer's own slot of the minute (db_writer_slot): readers sum the slots. */
int counters_add_minute(struct db *db, long long campaign_id, const char *outcome, long long n);

#endif
