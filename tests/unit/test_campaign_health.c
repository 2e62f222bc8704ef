/* The auto-pause rule (lib/campaign_health) and the messaging-tier rule (lib/account_health),
 * each the one rule the worker, the webhook applier and the API share. Cases of the window
 * rule: tests/data/campaign_health/judge.txt (run from the repo root or set PREGON_TESTDATA). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "account_health.h"
#include "campaign_health.h"
#include "campaign_state.h"

static void judge_cases(void **state)
{
    (void)state;
    const char *root = getenv("PREGON_TESTDATA");
    char path[1024], line[512];
    snprintf(path, sizeof path, "%s/campaign_health/judge.txt",
             root && root[0] ? root : "tests/data");
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (run from the repo root or set PREGON_TESTDATA)", path);
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        struct campaign_health_rule rule;
        char *bar1 = strchr(line, '|'), *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
        if (!bar2 || sscanf(line, "%d %d %d %d", &rule.min_failures, &rule.pct, &rule.window,
                            &rule.param_pause) != 4)
            fail_msg("bad line: %s", line);
        *bar2 = '\0';
        struct campaign_health_sum b[16];
        size_t n = 0;
        char *tok = strtok(bar1 + 1, " \t");
        while (tok && n < 16) {
            if (sscanf(tok, "%lld/%lld/%lld", &b[n].attempts, &b[n].failures,
                       &b[n].param_failures) != 3)
                fail_msg("bad bucket '%s'", tok);
            n++;
            tok = strtok(NULL, " \t");
        }
        char verdict[16];
        long long att, fails;
        if (sscanf(bar2 + 1, "%15s %lld %lld", verdict, &att, &fails) != 3)
            fail_msg("bad expectation: %s", bar2 + 1);
        struct campaign_health_sum sum;
        enum campaign_health_verdict v = campaign_health_judge(b, n, &rule, &sum);
        const char *got = v == HEALTH_GOOD ? "good" : v == HEALTH_PAUSE_PARAMS ? "params" : "auto";
        if (strcmp(got, verdict) != 0 || sum.attempts != att || sum.failures != fails)
            fail_msg("case %d: %s %lld %lld, want %s %lld %lld", cases + 1, got, sum.attempts,
                     sum.failures, verdict, att, fails);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 10);
}

/* What counts as a failure, by class (cloudapi_classify), for sends and for statuses. */
static void failures_by_class(void **state)
{
    (void)state;
    assert_int_equal(campaign_health_send_kind(1, CLOUDAPI_ACT_NONE, 1), HEALTH_OK);
    assert_int_equal(campaign_health_send_kind(0, CLOUDAPI_ACT_RETRY, 1), HEALTH_FAILURE);
    assert_int_equal(campaign_health_send_kind(0, CLOUDAPI_ACT_RETRY_THROTTLE, 1), HEALTH_OK);
    assert_int_equal(campaign_health_send_kind(0, CLOUDAPI_ACT_RETRY_PAIR, 1), HEALTH_OK);
    assert_int_equal(campaign_health_send_kind(0, CLOUDAPI_ACT_OPTOUT, 1), HEALTH_OK);
    assert_int_equal(campaign_health_send_kind(0, CLOUDAPI_ACT_FAIL_PARAM, 1), HEALTH_PARAM);
    assert_int_equal(campaign_health_send_kind(0, CLOUDAPI_ACT_NONE, 0), HEALTH_PARAM);
    /* webhook-reported failures: 131026 (undeliverable), 131049 (per-user marketing cap) */
    assert_int_equal(campaign_health_status_kind(131026), HEALTH_FAILURE);
    assert_int_equal(campaign_health_status_kind(131049), HEALTH_FAILURE);
    assert_int_equal(campaign_health_status_kind(131000), HEALTH_FAILURE);
    assert_int_equal(campaign_health_status_kind(132000), HEALTH_PARAM);
    assert_int_equal(campaign_health_status_kind(131050), HEALTH_OK);
    assert_int_equal(campaign_health_status_kind(0), HEALTH_FAILURE);
}

/* failed: only when the campaign cannot go on by itself (the token). */
static void errors_that_fail(void **state)
{
    (void)state;
    assert_int_equal(campaign_error_event(190, cloudapi_classify(190, 401)), CEV_FAIL);
    assert_int_equal(campaign_error_event(0, CLOUDAPI_ACT_STOP_ACCOUNT), CEV_FAIL);
    assert_int_equal(campaign_error_event(368, cloudapi_classify(368, 403)), CEV_PAUSE_ERROR);
    assert_int_equal(campaign_error_event(131048, cloudapi_classify(131048, 400)), CEV_PAUSE_ERROR);
    assert_int_equal(campaign_error_event(132015, cloudapi_classify(132015, 400)), CEV_PAUSE_ERROR);
}

/* One tier rule: the preflight used to read an unknown tier as no limit, the worker as 250.
 * 250 won: assuming no limit could message more people than Meta allows. */
static void tier_rule(void **state)
{
    (void)state;
    assert_int_equal(account_tier_limit("TIER_250"), 250);
    assert_int_equal(account_tier_limit("TIER_1K"), 1000);
    assert_int_equal(account_tier_limit("TIER_2K"), 2000);
    assert_int_equal(account_tier_limit("TIER_10K"), 10000);
    assert_int_equal(account_tier_limit("TIER_100K"), 100000);
    assert_int_equal(account_tier_limit("TIER_UNLIMITED"), -1);
    assert_int_equal(account_tier_limit("tier_250"), 250);
    assert_int_equal(account_tier_limit("TIER_5M"), 250);
    assert_int_equal(account_tier_limit(NULL), 250);
    assert_true(account_tier_known("TIER_2K"));
    assert_false(account_tier_known("tier_2k"));
    assert_false(account_tier_known(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(judge_cases),
        cmocka_unit_test(failures_by_class),
        cmocka_unit_test(errors_that_fail),
        cmocka_unit_test(tier_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
