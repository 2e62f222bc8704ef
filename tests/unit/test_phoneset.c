/* The phone-number set used by uploads: growth, membership, keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "phoneset.h"

static void adds_once_and_grows(void **state)
{
    (void)state;
    struct phoneset s = {0};
    for (uint64_t i = 1; i <= 100000; i++)
        assert_int_equal(phoneset_add(&s, 5493875550000ull + i), 1);
    assert_int_equal(s.n, 100000);
    for (uint64_t i = 1; i <= 100000; i++) {
        assert_int_equal(phoneset_add(&s, 5493875550000ull + i), 0);
        assert_true(phoneset_has(&s, 5493875550000ull + i));
    }
    assert_false(phoneset_has(&s, 5493875550000ull));
    assert_true(s.n * 2 <= s.cap);
    phoneset_free(&s);
    assert_null(s.slots);
}

static void empty_set_has_nothing(void **state)
{
    (void)state;
    struct phoneset s = {0};
    assert_false(phoneset_has(&s, 1));
    phoneset_free(&s);
}

static void keys_ignore_the_plus(void **state)
{
    (void)state;
    assert_true(phoneset_key("+5493875551234") == 5493875551234ull);
    assert_true(phoneset_key("5493875551234") == 5493875551234ull);
    assert_true(phoneset_key("+999999999999999") == 999999999999999ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adds_once_and_grows),
        cmocka_unit_test(empty_set_has_nothing),
        cmocka_unit_test(keys_ignore_the_plus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
