/* The campaigns table's writes: every `UPDATE campaigns` of the program is here (state changes
 * go through lib/campaign_state). One section per area; each runs in the caller's
 * transaction and returns a db_rc. */
#ifndef PREGON_CAMPAIGN_STORE_H
#define PREGON_CAMPAIGN_STORE_H

#include "msgstatus.h"

struct db;

/* ---- webhooks ---- */

/* Adds d to the status counters of campaign_id (nothing when d is all zero). The counters
 * change in the same transaction as the recipients they count (lib/counters.h). */
int campaign_store_add_counts(struct db *db, long long campaign_id, const struct msg_delta *d);

/* Adds n inbound replies to campaign_id's replies_count. */
int campaign_store_add_replies(struct db *db, long long campaign_id, long long n);

#endif
