/* Inside the claimer thread: what its files (claimer.c, schedule.c, accounts.c, claim.c,
 * slots.c, recover.c, jobs.c) share. Everything here runs on the claimer's thread and
 * connection unless said otherwise. */
#ifndef PREGON_WORKER_CLAIMER_H
#define PREGON_WORKER_CLAIMER_H

#include <time.h>

#include "worker.h"

#define MAX_BATCH      1000 /* the most recipients one claim takes (lib/idlist.h) */
#define REFRESH_S      0.5
#define ACCOUNTS_S     10.0
#define TIER_CHECK_S   5.0
#define LEAD_US        20000
#define LEAD_ARMED_US  2000
#define INFLIGHT_CAMPS 256

/* jobs.c: n zeroed jobs into v (from the pool first); 0, or -1 when out of memory. */
int job_alloc(struct job **v, size_t n);

/* accounts.c */
struct acct *acct_find(struct worker *w, long long id); /* caller holds mu */
void accounts_refresh(struct worker *w, struct db *db);
void tier_refresh(struct worker *w, struct db *db, double mono);
long long pace_take(struct db *db, const char *key, int *row_exists, long long interval_us, int n,
                    long long earliest);
void pace_hold(struct worker *w, struct db *db, struct acct *a, double limit);
long long acct_interval(const struct acct *a);
void acct_size_inflight(struct worker *w, struct acct *a);

/* schedule.c */
struct camp *camp_find(struct worker *w, long long id); /* caller holds mu */
void campaigns_refresh(struct worker *w, struct db *db);

/* claim.c: claims up to limit recipients of c into the account's wait queue; how many
 * rows were dealt with, or a negative db_rc. */
int claim_batch(struct worker *w, struct db *db, struct camp *c, struct acct *a, int limit);

/* slots.c */
int slot_account(struct worker *w, struct db *db, struct acct *a, size_t room);
void release_stale(struct worker *w, struct db *db, int all, int tries);

/* recover.c */
void recover(struct worker *w, struct db *db);
void resend_in_doubt(struct worker *w, struct db *db);
void release_orphans(struct worker *w, struct db *db);
void renew_leases(struct worker *w, struct db *db);

#endif
