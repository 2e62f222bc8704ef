/* Whole-document JSON parsing with the per-thread tokener: every outcome, and a tokener left
 * mid-document by a truncated input never leaks into the next parse. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "httpin.h"
#include "jsonparse.h"

#include <stdio.h>
#include <stdlib.h>

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

/* tests/data/json-strict/cases.txt: every case through httpin_json_member, the function
 * behind every JSON request body. */
static void strict_text_cases_from_data(void **state)
{
    (void)state;
    const char *root = getenv("PREGON_TESTDATA");
    char path[512], line[4096];
    snprintf(path, sizeof path, "%s/json-strict/cases.txt", root && root[0] ? root : "tests/data");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *expect = line, *member = strchr(expect, '\t');
        assert_non_null(member);
        *member++ = '\0';
        char *raw = strchr(member, '\t');
        assert_non_null(raw);
        *raw++ = '\0';
        char body[4096];
        size_t n = 0;
        for (const char *p = raw; *p; p++) {
            unsigned v;
            if (p[0] == '\\' && p[1] == 'x' && sscanf(p + 2, "%2x", &v) == 1) {
                body[n++] = (char)v;
                p += 3;
            } else {
                body[n++] = *p;
            }
        }
        char err[512], got_member[128];
        json_object *o =
            httpin_json_member(body, n, err, sizeof err, got_member, sizeof got_member);
        if (strcmp(expect, "ok") == 0) {
            if (!o)
                fail_msg("%s: refused: %s", raw, err);
            json_object_put(o);
        } else {
            if (o)
                fail_msg("%s: accepted", raw);
            const char *want = strcmp(member, "-") == 0 ? "" : member;
            if (strcmp(got_member, want) != 0)
                fail_msg("%s: member '%s', expected '%s' (%s)", raw, got_member, want, err);
            const char *word = strcmp(expect, "utf8") == 0        ? "UTF-8"
                               : strcmp(expect, "nul") == 0       ? "NUL"
                               : strcmp(expect, "duplicate") == 0 ? "more than once"
                                                                  : "not valid JSON";
            if (!strstr(err, word))
                fail_msg("%s: reason '%s' lacks '%s'", raw, err, word);
        }
        cases++;
    }
    fclose(f);
    assert_true(cases >= 20);
}

/* The walk's own stack grows past its first 64 levels (the fuzzer found the stale pointer). */
static void text_check_deep_nesting(void **state)
{
    (void)state;
    char doc[600], member[32], why[160];
    size_t n = 0;
    n += (size_t)snprintf(doc + n, sizeof doc - n, "{\"deep\":");
    for (int i = 0; i < 200; i++)
        doc[n++] = '[';
    n += (size_t)snprintf(doc + n, sizeof doc - n, "{\"a\":1,\"a\":2}");
    for (int i = 0; i < 200; i++)
        doc[n++] = ']';
    doc[n++] = '}';
    assert_int_equal(jsonparse_text_check(doc, n, member, sizeof member, why, sizeof why),
                     JSONTEXT_DUPLICATE);
    assert_string_equal(member, "a");
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
        cmocka_unit_test(strict_text_cases_from_data),
        cmocka_unit_test(text_check_deep_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
