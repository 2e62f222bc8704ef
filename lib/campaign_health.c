#include "campaign_health.h"

#include <stdio.h>

#include "campaign_state.h"
#include "db.h"
#include "log.h"

/* Enough buckets for any window a campaign fills within two hours. */
#define HEALTH_MAX_BUCKETS 720
#define HEALTH_LIMIT_TEXT  "720"

enum campaign_health_kind campaign_health_send_kind(int accepted, enum cloudapi_action a, int built)
{
    if (!built || (!accepted && a == CLOUDAPI_ACT_FAIL_PARAM))
        return HEALTH_PARAM;
    if (accepted)
        return HEALTH_OK;
    switch (a) {
    case CLOUDAPI_ACT_OPTOUT:         /* the user's choice, not the campaign's fault */
    case CLOUDAPI_ACT_RETRY_THROTTLE: /* limits slow us down, they say nothing of the campaign */
    case CLOUDAPI_ACT_RETRY_PAIR:
        return HEALTH_OK;
    default:
        return HEALTH_FAILURE;
    }
}

enum campaign_health_kind campaign_health_status_kind(int code)
{
    if (code == 0)
        return HEALTH_FAILURE; /* failed without a reason is still a failure */
    return campaign_health_send_kind(0, cloudapi_classify(code, CLOUDAPI_HTTP_WEBHOOK), 1);
}

int campaign_error_event(int code, enum cloudapi_action a)
{
    if (a == CLOUDAPI_ACT_STOP_ACCOUNT && (code == 190 || code == 0))
        return CEV_FAIL;
    return CEV_PAUSE_ERROR;
}

enum campaign_health_verdict campaign_health_judge(const struct campaign_health_sum *buckets,
                                                   size_t n,
                                                   const struct campaign_health_rule *rule,
                                                   struct campaign_health_sum *sum)
{
    struct campaign_health_sum s = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        if (rule->window > 0 && s.attempts >= rule->window)
            break;
        s.attempts += buckets[i].attempts;
        s.failures += buckets[i].failures;
        s.param_failures += buckets[i].param_failures;
    }
    if (sum)
        *sum = s;
    if (rule->param_pause > 0 && s.param_failures >= rule->param_pause)
        return HEALTH_PAUSE_PARAMS;
    /* Failures Meta reports later may outnumber the attempts of the window's buckets: the
     * share is taken over the larger of the two. */
    long long base = s.attempts > s.failures ? s.attempts : s.failures;
    if (rule->pct > 0 && s.failures > rule->min_failures &&
        s.failures * 100 > (long long)rule->pct * base)
        return HEALTH_PAUSE_AUTO;
    return HEALTH_GOOD;
}

int campaign_health_add(struct db *db, long long campaign_id, const struct campaign_health_sum *d,
                        int last_code)
{
    if (d->attempts == 0 && d->failures == 0 && d->param_failures == 0)
        return DB_OK;
    /* The writer is this connection on this server (the port too: the nodes of a cluster on
     * one host share its name, and their connection ids overlap): its rows are its own. Only
     * while the campaign may send (a consistent read of its row, no lock in READ COMMITTED):
     * results that come in after a pause do not refill the window a resume starts afresh. */
    return db_exec(
        db,
        "INSERT INTO campaign_health (campaign_id, bucket, writer, attempts, failures, "
        "param_failures, last_code) SELECT id, FROM_UNIXTIME(UNIX_TIMESTAMP() DIV 10 "
        "* 10), CONCAT(@@hostname, ':', @@port, ':', CONNECTION_ID()), ?, ?, ?, ? FROM campaigns "
        "WHERE id = ? AND status IN ('running', 'scheduled') "
        "ON DUPLICATE KEY UPDATE attempts = attempts + VALUES(attempts), "
        "failures = failures + VALUES(failures), "
        "param_failures = param_failures + VALUES(param_failures), "
        "last_code = COALESCE(VALUES(last_code), last_code)",
        DB_ARGS(DB_INT(d->attempts), DB_INT(d->failures), DB_INT(d->param_failures),
                last_code ? DB_INT(last_code) : DB_NULL, DB_INT(campaign_id)),
        NULL);
}

int campaign_health_check(struct db *db, long long campaign_id, int param_pause, int who,
                          const char *last_text, int *paused)
{
    if (paused)
        *paused = 0;
    struct db_rows r;
    int rc = db_query(db,
                      "SELECT a.autopause_min_failures, a.autopause_pct, a.autopause_window "
                      "FROM campaigns c JOIN wa_accounts a ON a.id = c.account_id "
                      "WHERE c.id = ? AND c.status IN ('running', 'scheduled')",
                      DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc != DB_OK)
        return rc;
    if (r.nrows == 0) {
        db_rows_free(&r);
        return DB_OK; /* not sending: nothing to pause */
    }
    struct campaign_health_rule rule = {(int)db_int(&r, 0, 0, 50), (int)db_int(&r, 0, 1, 50),
                                        (int)db_int(&r, 0, 2, 1000), param_pause};
    db_rows_free(&r);
    rc = db_query(db,
                  "SELECT SUM(attempts), SUM(failures), SUM(param_failures), MAX(last_code) "
                  "FROM campaign_health WHERE campaign_id = ? GROUP BY bucket "
                  "ORDER BY bucket DESC LIMIT " HEALTH_LIMIT_TEXT,
                  DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc != DB_OK)
        return rc;
    struct campaign_health_sum b[HEALTH_MAX_BUCKETS], sum;
    size_t n = r.nrows < HEALTH_MAX_BUCKETS ? r.nrows : HEALTH_MAX_BUCKETS;
    for (size_t i = 0; i < n; i++) {
        b[i].attempts = db_int(&r, i, 0, 0);
        b[i].failures = db_int(&r, i, 1, 0);
        b[i].param_failures = db_int(&r, i, 2, 0);
    }
    int code = n ? (int)db_int(&r, 0, 3, 0) : 0;
    db_rows_free(&r);
    enum campaign_health_verdict v = campaign_health_judge(b, n, &rule, &sum);
    if (v == HEALTH_GOOD)
        return DB_OK;
    char why[1200];
    /* Failures reported by webhook alone (no attempt of ours in the window) count as
     * outcomes too: the figure is the larger of the two. */
    long long outcomes = sum.attempts > sum.failures ? sum.attempts : sum.failures;
    if (v == HEALTH_PAUSE_PARAMS)
        snprintf(why, sizeof why,
                 "parameter errors repeat: %lld in the last %lld outcomes (threshold %d); "
                 "last: %d %.300s",
                 sum.param_failures, outcomes, rule.param_pause, code, last_text ? last_text : "");
    else
        snprintf(why, sizeof why,
                 "circuit breaker: %lld errors in the last %lld attempts (%lld%%, thresholds: "
                 "more than %d errors and more than %d%%); last: %d %.300s",
                 sum.failures, outcomes, sum.failures * 100 / outcomes, rule.min_failures, rule.pct,
                 code, last_text ? last_text : "");
    unsigned long long changed = 0;
    rc = campaign_state_apply_one(db, campaign_id,
                                  v == HEALTH_PAUSE_PARAMS ? CEV_PAUSE_PARAMS : CEV_PAUSE_AUTO,
                                  (enum campaign_actor)who, why, &changed);
    if (rc == DB_OK && changed) {
        /* A resumed campaign starts with an empty window. */
        rc = db_exec(db, "DELETE FROM campaign_health WHERE campaign_id = ?",
                     DB_ARGS(DB_INT(campaign_id)), NULL);
        if (rc == DB_OK) {
            log_warn("campaign %lld paused: %s", campaign_id, why);
            if (paused)
                *paused = 1;
        }
    }
    return rc;
}
