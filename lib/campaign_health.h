/* The auto-pause (seed 003: "more than 50 failures and more than 50 % of the attempts"),
 * shared by every worker and the webhook applier and kept in the database (sql/115,
 * campaign_health): each writer adds its attempts and failures to rows of its own, in
 * 10-second buckets, and the window is the newest buckets holding the account's
 * autopause_window attempts. Send-time failures (the worker) and failures Meta reports
 * later in status webhooks count alike, by the class cloudapi_classify gives their code. */
#ifndef PREGON_CAMPAIGN_HEALTH_H
#define PREGON_CAMPAIGN_HEALTH_H

#include <stddef.h>

#include "cloudapi.h"

struct db;

/* What one outcome counts as. */
enum campaign_health_kind {
    HEALTH_NONE,    /* not an attempt's result (a release) */
    HEALTH_OK,      /* an attempt that went through, or failed for reasons that are not the
                     * campaign's: throughput and pair-rate limits, the user's opt-out */
    HEALTH_FAILURE, /* an attempt that failed */
    HEALTH_PARAM    /* a failure from the campaign's parameters (100, 132000, 132012) */
};

/* The kind of a send's answer (accepted, or Meta's action for its code; built 0 when the
 * request could not even be built: a parameter failure). */
enum campaign_health_kind campaign_health_send_kind(int accepted, enum cloudapi_action a,
                                                    int built);

/* The kind of a `failed` status webhook with this code (0: none given). */
enum campaign_health_kind campaign_health_status_kind(int code);

/* What a Meta error code that stops a campaign (or its account) does to it: CEV_FAIL when it
 * cannot go on by itself (190, 0: the access token is revoked or expired, a new one must be
 * set), else CEV_PAUSE_ERROR (resumable once the cause is gone). The worker and the webhook
 * applier both ask here. Returns an enum campaign_event. */
int campaign_error_event(int code, enum cloudapi_action a);

struct campaign_health_sum {
    long long attempts, failures, param_failures;
};

struct campaign_health_rule {
    int min_failures; /* wa_accounts.autopause_min_failures: more than this many failures */
    int pct;         /* wa_accounts.autopause_pct: and more than this % of the attempts (0 = off) */
    int window;      /* wa_accounts.autopause_window: the last this many attempts */
    int param_pause; /* config worker_param_pause: this many parameter failures (0 = off) */
};

enum campaign_health_verdict { HEALTH_GOOD, HEALTH_PAUSE_PARAMS, HEALTH_PAUSE_AUTO };

/* Pure: the window over buckets (newest first) and what it says. *sum gets the window. */
enum campaign_health_verdict campaign_health_judge(const struct campaign_health_sum *buckets,
                                                   size_t n,
                                                   const struct campaign_health_rule *rule,
                                                   struct campaign_health_sum *sum);

/* Adds this writer's (this connection's) counts to the campaign's current bucket; last_code
 * the latest failure's code (0: none). Runs in the caller's transaction. Returns a db_rc. */
int campaign_health_add(struct db *db, long long campaign_id, const struct campaign_health_sum *d,
                        int last_code);

/* Reads the campaign's window and its account's rule, and pauses the campaign (through
 * lib/campaign_state: CEV_PAUSE_AUTO or CEV_PAUSE_PARAMS, by who) when the window says so,
 * with the figures in the reason; the window is then emptied, so a resumed campaign starts
 * afresh. *paused (may be NULL) is 1 when it did. Returns a db_rc. */
int campaign_health_check(struct db *db, long long campaign_id, int param_pause, int who,
                          const char *last_text, int *paused);

#endif
