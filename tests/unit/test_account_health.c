/* Whether Meta restricts an account now, from what the webhook applier stored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "account_health.h"

#define NOW ((time_t)1800000000)

static void nothing_stored_is_not_restricted(void **state)
{
    (void)state;
    time_t until = 42;
    assert_int_equal(account_restricted(NULL, NULL, NOW, &until), 0);
    assert_int_equal(until, 0);
    assert_int_equal(account_restricted("VERIFIED_ACCOUNT", "", NOW, &until), 0);
}

static void bare_event_names_restrict(void **state)
{
    (void)state;
    time_t until;
    assert_int_equal(account_restricted("ACCOUNT_DELETED", "ACCOUNT_DELETED", NOW, &until), 1);
    assert_int_equal(account_restricted("DISABLED_UPDATE", "DISABLED_UPDATE", NOW, &until), 1);
    /* a later harmless event with the old bare name left in the column */
    assert_int_equal(account_restricted("VERIFIED_ACCOUNT", "ACCOUNT_RESTRICTION", NOW, &until), 0);
}

static void restrictions_end_when_they_expire(void **state)
{
    (void)state;
    time_t until;
    assert_int_equal(account_restricted("ACCOUNT_RESTRICTION",
                                        "{\"restriction_info\":[{\"restriction_type\":\"X\","
                                        "\"expiration\":1800003600}]}",
                                        NOW, &until),
                     1);
    assert_int_equal(until, 1800003600);
    assert_int_equal(account_restricted("ACCOUNT_RESTRICTION",
                                        "{\"restriction_info\":[{\"expiration\":1700000000},"
                                        "{\"expiration\":1799999999}]}",
                                        NOW, &until),
                     0);
    assert_int_equal(until, 1799999999);
    /* one without an end keeps it restricted */
    assert_int_equal(account_restricted("ACCOUNT_VIOLATION",
                                        "{\"restriction_info\":[{\"expiration\":1700000000},"
                                        "{\"restriction_type\":\"Y\"}]}",
                                        NOW, &until),
                     1);
}

static void reinstated_ban_is_lifted(void **state)
{
    (void)state;
    time_t until;
    assert_int_equal(account_restricted("DISABLED_UPDATE",
                                        "{\"ban_info\":{\"waba_ban_state\":\"DISABLE\"}}", NOW,
                                        &until),
                     1);
    assert_int_equal(account_restricted("DISABLED_UPDATE",
                                        "{\"ban_info\":{\"waba_ban_state\":\"REINSTATE\"}}", NOW,
                                        &until),
                     0);
}

/* The default pace spreads the tier's budget and slows down with the quality rating. */
static void default_pace_fits_tier_and_quality(void **state)
{
    (void)state;
    struct account_pace p;
    account_default_pace("TIER_UNLIMITED", "GREEN", &p);
    assert_int_equal(p.batch_size, 200);
    assert_int_equal(p.interval_ms, 0);
    assert_int_equal(p.daily_cap, 0);
    assert_string_equal(p.quality, "high");
    account_default_pace("TIER_UNLIMITED", "YELLOW", &p);
    assert_int_equal(p.batch_size, 100);
    assert_int_equal(p.interval_ms, 100);
    account_default_pace("TIER_250", "GREEN", &p);
    assert_int_equal(p.batch_size, 20);
    assert_int_equal(p.interval_ms, 10000);
    assert_int_equal(p.daily_cap, 250);
    account_default_pace("TIER_250", "UNKNOWN", &p);
    assert_string_equal(p.quality, "unknown");
    assert_int_equal(p.batch_size, 10);
    assert_int_equal(p.interval_ms, 20000);
    account_default_pace("TIER_10K", "RED", &p);
    assert_string_equal(p.quality, "low");
    assert_int_equal(p.batch_size, 12);
    assert_int_equal(p.interval_ms, 4000);
    assert_int_equal(p.daily_cap, 10000);
    account_default_pace(NULL, NULL, &p); /* an unknown tier is the smallest */
    assert_int_equal(p.tier_limit, 250);
    assert_true(p.batch_size >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_stored_is_not_restricted),
        cmocka_unit_test(bare_event_names_restrict),
        cmocka_unit_test(restrictions_end_when_they_expire),
        cmocka_unit_test(reinstated_ban_is_lifted),
        cmocka_unit_test(default_pace_fits_tier_and_quality),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
