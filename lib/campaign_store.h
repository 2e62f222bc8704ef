/* The campaigns table's writes (and the reads that go with them), in one file: every
 * `UPDATE campaigns` of the system is in lib/campaign_store.c, one section per user. */
#ifndef PREGON_CAMPAIGN_STORE_H
#define PREGON_CAMPAIGN_STORE_H

#include <stddef.h>

#include "msgstatus.h"
#include "sqlstmt.h"

struct db;
struct db_rows;

/* ---- worker ---- */

extern const struct sql_statement campaign_store_worker_statements[];

/* The running campaigns, by id, for the claimer: every campaigns column plus
 * account_enabled (the account's campaigns_enabled), and the template pacing hold:
 * pacing_wamid, pacing_until_text, pacing_over. Columns are read by name (db_col). */
int campaign_store_running(struct db *db, struct db_rows *rows);
/* The campaigns that may have claims in flight (sending_count <> 0), then the running ones,
 * at most max ids. Returns how many, or -1. */
int campaign_store_inflight(struct db *db, long long *ids, size_t max);
/* Why a running campaign waits ("" clears it). */
int campaign_store_set_wait_reason(struct db *db, long long id, const char *reason);
/* Progressive start: step from -> from + 1 if still at from; *raised 1 when it moved. */
int campaign_store_raise_ramp(struct db *db, long long id, int from, int *raised);
/* Adds d to the campaign's counters (lib/counters.h: counters_apply, in the transaction that
 * moves the recipients they count). */
int campaign_store_add_counts(struct db *db, long long id, const struct msg_delta *d);
/* A completed campaign runs again for a recipient resent (in-doubt resend). */
int campaign_store_reopen_completed(struct db *db, long long id);

#endif
