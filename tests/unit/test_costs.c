/* Cost: the country of a number for the rate card (longest calling-code prefix) and what the
 * rate card accepts as a country and a category. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "costs.h"

static void country_by_longest_prefix(void **state)
{
    (void)state;
    assert_string_equal(costs_country("+5491122334455"), "AR");
    assert_string_equal(costs_country("+5215512345678"), "MX");
    assert_string_equal(costs_country("+34612345678"), "ES");
    assert_string_equal(costs_country("+12025550123"), "US");
    /* NANP: Puerto Rico and the Dominican Republic by their area codes, before US */
    assert_string_equal(costs_country("+17875550123"), "PR");
    assert_string_equal(costs_country("+18095550123"), "DO");
    assert_string_equal(costs_country("+59899123456"), "UY");
    assert_string_equal(costs_country("+59171234567"), "BO");
    assert_string_equal(costs_country("+50588887777"), "NI");
    /* 59x not in the table, other countries, nonsense */
    assert_string_equal(costs_country("+59612345678"), "ZZ");
    assert_string_equal(costs_country("+447700900123"), "ZZ");
    assert_string_equal(costs_country("5491122334455"), "ZZ");
    assert_string_equal(costs_country(""), "ZZ");
    assert_string_equal(costs_country(NULL), "ZZ");
}

static void rate_card_values(void **state)
{
    (void)state;
    assert_true(costs_country_valid("AR"));
    assert_true(costs_country_valid("ZZ"));
    assert_true(costs_country_valid("GB"));
    assert_false(costs_country_valid("ar"));
    assert_false(costs_country_valid("QQ"));
    assert_false(costs_country_valid("ARG"));
    assert_false(costs_country_valid(NULL));
    assert_true(costs_category_valid("marketing"));
    assert_true(costs_category_valid("service"));
    assert_false(costs_category_valid("MARKETING"));
    assert_false(costs_category_valid("referral_conversion"));
    assert_false(costs_category_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(country_by_longest_prefix),
        cmocka_unit_test(rate_card_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
