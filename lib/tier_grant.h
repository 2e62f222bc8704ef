/* Grants of a messaging tier's room to workers (sql/181_tier_grants.sql), for the claims of a
 * Galera cluster: a claim spends from its worker's own grant row, and only a claim that needs
 * a new grant writes the business's shared lock row. On one server the claims count the tier
 * under the lock row instead (worker/claim.c). */
#ifndef PREGON_TIER_GRANT_H
#define PREGON_TIER_GRANT_H

#include "db.h"

/* How long a grant lasts: the room of a worker that died is free again after it. */
#define TIER_GRANT_TTL_S 30

struct tier_grant_want {
    long long limit; /* the tier: unique users in 24 h */
    long long need;  /* the claim's new users */
    long long chunk; /* what a grant should last: about 2 s at the account's pace */
    int nworkers;    /* live workers: a grant takes at most an even share of the free room */
};

/* In a transaction that has written the business's lock row (queue_business_lock): replaces
 * this worker's grant with a new one of up to want->chunk (at least want->need when the room
 * allows). When the free room is short of need, the other workers' unspent room is taken back
 * first. *granted: the new grant's room (0: the tier is full). Returns a db_rc. */
int tier_grant_take(struct db *db, const char *waba_id, long long worker_id,
                    const struct tier_grant_want *want, long long *granted);

/* Spends n of this worker's grant, in the claim's transaction. *ok: 1 when the grant had n
 * and has not expired, 0 when not (taken back, expired or short: take a new one). */
int tier_grant_spend(struct db *db, const char *waba_id, long long worker_id, long long n, int *ok);

/* Gives back what is left of this worker's grant (its own row only). Returns a db_rc. */
int tier_grant_release(struct db *db, const char *waba_id, long long worker_id);

#endif
