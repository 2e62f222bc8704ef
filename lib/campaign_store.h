/* The one writer of the campaigns table's rows (UPDATE campaigns lives here only). Sections by
 * area; each function runs inside the caller's transaction, with the campaign locked by the
 * caller where it says so, and returns a db_rc. */
#ifndef PREGON_CAMPAIGN_STORE_H
#define PREGON_CAMPAIGN_STORE_H

struct db;

/* ---- recipients and imports ---- */

/* Adds n imported recipients to the campaign's total and pending counters. */
int campaign_store_add_recipients(struct db *db, long long campaign_id, long long n);
/* Removes every recipient of the campaign and sets its counters to zero (a draft, locked by
 * the caller). */
int campaign_store_clear_recipients(struct db *db, long long campaign_id);

#endif
