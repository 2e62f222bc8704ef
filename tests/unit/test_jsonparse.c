/* Whole-document JSON parsing with the per-thread tokener: every outcome, and a tokener left
 * mid-document by a truncated input never leaks into the next parse. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "jsonparse.h"

#define STRICT (JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8)

static json_object *parse(const char *s, int flags, enum jsonparse_rc *rc,
                          enum json_tokener_error *jerr)
{
    return jsonparse_whole(s, strlen(s), flags, rc, jerr);
}

static void parses_a_whole_document(void **state)
{
    (void)state;
    enum jsonparse_rc rc;
    json_object *o = parse(" {\"a\": [1, 2], \"b\": \"x\"} \r\n\t", STRICT, &rc, NULL);
    assert_non_null(o);
    assert_int_equal(rc, JSONPARSE_OK);
    json_object *a;
    assert_true(json_object_object_get_ex(o, "a", &a));
    assert_int_equal(json_object_array_length(a), 2);
    json_object_put(o);
}

static void refuses_what_follows_the_value(void **state)
{
    (void)state;
    enum jsonparse_rc rc;
    assert_null(parse("{} x", 0, &rc, NULL));
    assert_int_equal(rc, JSONPARSE_TRAILING);
    assert_string_equal(jsonparse_reason(rc, json_tokener_success), "garbage after the value");
    /* Strict mode refuses it itself. */
    assert_null(parse("[1] [2]", STRICT, &rc, NULL));
    assert_true(rc == JSONPARSE_TRAILING || rc == JSONPARSE_INVALID);
}

static void truncated_input_does_not_leak_into_the_next_parse(void **state)
{
    (void)state;
    enum jsonparse_rc rc;
    enum json_tokener_error jerr;
    assert_null(parse("{\"a\": [1, ", STRICT, &rc, &jerr));
    assert_int_equal(rc, JSONPARSE_INVALID);
    assert_int_equal(jerr, json_tokener_continue);
    assert_string_equal(jsonparse_reason(rc, jerr), "truncated");
    /* Had the tokener kept its state, this would be read as the rest of the array. */
    json_object *o = parse("{\"b\": 2}", STRICT, &rc, &jerr);
    assert_non_null(o);
    assert_true(json_object_is_type(o, json_type_object));
    json_object *b;
    assert_true(json_object_object_get_ex(o, "b", &b));
    assert_int_equal(json_object_get_int(b), 2);
    json_object_put(o);
}

static void flags_apply_to_each_parse(void **state)
{
    (void)state;
    enum jsonparse_rc rc;
    enum json_tokener_error jerr;
    /* A trailing comma: json-c's lenient mode takes it, strict mode does not. */
    json_object *o = parse("[1,]", 0, &rc, &jerr);
    assert_non_null(o);
    json_object_put(o);
    assert_null(parse("[1,]", STRICT, &rc, &jerr));
    assert_int_equal(rc, JSONPARSE_INVALID);
    assert_int_not_equal(jerr, json_tokener_success);
    /* Invalid UTF-8 only with the validating flag. */
    assert_null(parse("\"\xff\"", STRICT, &rc, &jerr));
    assert_int_equal(rc, JSONPARSE_INVALID);
    o = parse("[1,]", 0, NULL, NULL);
    assert_non_null(o);
    json_object_put(o);
}

static void empty_and_null_are_not_documents(void **state)
{
    (void)state;
    enum jsonparse_rc rc;
    enum json_tokener_error jerr;
    assert_null(jsonparse_whole("", 0, STRICT, &rc, &jerr));
    assert_int_equal(rc, JSONPARSE_INVALID);
    assert_null(jsonparse_whole(NULL, 0, STRICT, &rc, &jerr));
    assert_int_equal(rc, JSONPARSE_INVALID);
    assert_null(parse("null", STRICT, &rc, &jerr));
    assert_int_equal(rc, JSONPARSE_INVALID);
}

static void *parse_many(void *arg)
{
    intptr_t ok = 1;
    (void)arg;
    for (int i = 0; i < 2000 && ok; i++) {
        json_object *o =
            parse(i % 3 ? "{\"k\": [true, false, null]}" : "{\"k\": [tr", STRICT, NULL, NULL);
        ok = (i % 3 != 0) == (o != NULL);
        json_object_put(o);
    }
    return (void *)ok;
}

static void each_thread_has_its_own_tokener(void **state)
{
    (void)state;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, parse_many, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *ok;
        assert_int_equal(pthread_join(t[i], &ok), 0);
        assert_true(ok == (void *)1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_whole_document),
        cmocka_unit_test(refuses_what_follows_the_value),
        cmocka_unit_test(truncated_input_does_not_leak_into_the_next_parse),
        cmocka_unit_test(flags_apply_to_each_parse),
        cmocka_unit_test(empty_and_null_are_not_documents),
        cmocka_unit_test(each_thread_has_its_own_tokener),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
