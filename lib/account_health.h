/* What the panel and the API say about a WhatsApp account's health, from the same sources the
 * worker and the webhook applier use: the unique users reached in the moving 24 h (contact_pace,
 * the table the worker's messaging-tier check counts) and the restriction Meta reported
 * (account_update, stored in wa_accounts by lib/webhook_account.c). */
#ifndef PREGON_ACCOUNT_HEALTH_H
#define PREGON_ACCOUNT_HEALTH_H

#include <time.h>

struct db;

/* Unique users the business account (WABA) messaged in the last 24 h (contact_pace): the
 * messaging tier's count, for the worker's check and for the panel. cap > 0 counts no further
 * (panels poll this, and an unlimited account may have reached millions: they pass the tier's
 * limit or ACCOUNT_TIER_COUNT_CAP); cap <= 0 counts exactly, for the worker, whose tiers are
 * limited. Returns a db_rc; *used is 0 on error. */
#define ACCOUNT_TIER_COUNT_CAP 100000
/* The messaging tier's limit, one rule for the preflight, the account API and the worker:
 * unique users per moving 24 h (TIER_250 -> 250, TIER_1K -> 1000, TIER_2K -> 2000, TIER_10K,
 * TIER_100K; TIER_UNLIMITED -> -1, no limit). A tier we do not know (NULL, misspelt, a new
 * one of Meta's) is the smallest, 250: assuming no limit would let the worker message more
 * people in a day than Meta allows and get the number restricted. */
long account_tier_limit(const char *tier);

/* The pace a new campaign starts with on an account, one rule for the API's answer and the
 * panel's wizard, built on account_tier_limit (the worker's and the preflight's tier rule):
 * an interval between messages that spreads the tier's daily budget over most of an hour
 * instead of spending it in one burst, slowed further when Meta rates the number's quality medium
 * or low (or has not rated it yet), and a daily cap of the tier's limit. *tier_limit gets the
 * tier's limit
 * (-1 none), quality the class the pace was chosen for: "high", "medium", "low" or
 * "unknown". */
struct account_pace {
    int batch_size;
    int interval_ms;
    long daily_cap; /* 0: none */
    long tier_limit;
    const char *quality;
};
void account_default_pace(const char *tier, const char *quality_rating, struct account_pace *p);

/* Whether tier is one of the names above (what the account API accepts). */
int account_tier_known(const char *tier);

int account_tier_used(struct db *db, const char *waba_id, long long cap, long long *used);

/* Whether Meta restricts the account now, from wa_accounts.account_event and .restriction
 * (NULL when none): an ACCOUNT_RESTRICTION / ACCOUNT_VIOLATION / DISABLED_UPDATE /
 * ACCOUNT_DELETED that was not lifted (ban state REINSTATE) and whose restrictions have not
 * all expired. *until gets the latest expiration (0 when none is known). Returns 1 or 0. */
int account_restricted(const char *account_event, const char *restriction, time_t now,
                       time_t *until);

#endif
