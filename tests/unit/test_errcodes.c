/* Meta's error codes, one table (lib/errcodes.c): the worker's policy (cloudapi_classify), the
 * API's texts (cloudapi_explain) and the admin panel's file (www/js/errcodes.js, generated
 * by make) all say what the table says. Run from the repository root (scripts/test.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "cloudapi.h"
#include "errcodes.h"

static void classify_and_explain_read_the_table(void **state)
{
    (void)state;
    size_t n;
    const struct errcode *t = errcodes_all(&n);
    assert_true(n > 30);
    for (size_t i = 0; i < n; i++) {
        int probes[] = {t[i].lo, t[i].hi, t[i].lo + (t[i].hi - t[i].lo) / 2};
        for (size_t k = 0; k < 3; k++) {
            int code = probes[k];
            assert_ptr_equal(errcodes_find(code), &t[i]); /* rows never overlap */
            assert_int_equal(cloudapi_classify(code, 400), t[i].action);
            assert_string_equal(cloudapi_explain(code, "es"), t[i].es);
            assert_string_equal(cloudapi_explain(code, "en"), t[i].en);
        }
        assert_true(t[i].class_name && t[i].es[0] && t[i].en[0]);
    }
    assert_null(errcodes_find(123456789));
    assert_string_equal(cloudapi_explain(123456789, "en"), errcodes_unknown("en"));
    assert_string_equal(cloudapi_explain(123456789, NULL), errcodes_unknown("es"));
    /* Outside the table: the HTTP answer decides. */
    assert_int_equal(cloudapi_classify(0, 500), CLOUDAPI_ACT_RETRY);
    assert_int_equal(cloudapi_classify(0, 401), CLOUDAPI_ACT_STOP_ACCOUNT);
    assert_int_equal(cloudapi_classify(123456789, 503), CLOUDAPI_ACT_RETRY);
    assert_int_equal(cloudapi_classify(123456789, 400), CLOUDAPI_ACT_FAIL);
}

static json_object *panel_table(void)
{
    FILE *f = fopen("www/js/errcodes.js", "r");
    assert_non_null(f); /* make writes it */
    static char buf[1 << 17];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    char *start = strstr(buf, "export default ");
    char *end = strrchr(buf, ';');
    assert_non_null(start);
    assert_non_null(end);
    start += strlen("export default ");
    *end = '\0';
    json_object *o = json_tokener_parse(start);
    assert_non_null(o);
    return o;
}

static const char *member(json_object *o, const char *key)
{
    json_object *v;
    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_string(v);
}

static void the_panel_file_says_the_same(void **state)
{
    (void)state;
    json_object *root = panel_table(), *codes, *unknown;
    assert_true(json_object_object_get_ex(root, "codes", &codes));
    assert_true(json_object_object_get_ex(root, "unknown", &unknown));
    size_t n;
    const struct errcode *t = errcodes_all(&n);
    assert_int_equal(json_object_array_length(codes), n);
    for (size_t i = 0; i < n; i++) {
        json_object *r = json_object_array_get_idx(codes, i);
        assert_int_equal(atoi(member(r, "lo")), t[i].lo);
        assert_int_equal(atoi(member(r, "hi")), t[i].hi);
        assert_string_equal(member(r, "class"), t[i].class_name);
        assert_string_equal(member(r, "action"), cloudapi_action_name(t[i].action));
        assert_string_equal(member(r, "es"), t[i].es);
        assert_string_equal(member(r, "en"), t[i].en);
    }
    assert_string_equal(member(unknown, "es"), errcodes_unknown("es"));
    assert_string_equal(member(unknown, "en"), errcodes_unknown("en"));
    json_object_put(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(classify_and_explain_read_the_table),
        cmocka_unit_test(the_panel_file_says_the_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
