/* Parameter mappings: shapes the API accepts, checks against a template's slots, the value
 * of every slot for a recipient. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "parammap.h"

static const char *PROMO =
    "[{\"type\":\"HEADER\",\"format\":\"TEXT\",\"text\":\"Hola {{1}}\"},"
    "{\"type\":\"BODY\",\"text\":\"Hola {{1}}, el curso de {{2}} empieza el lunes.\"},"
    "{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":\"URL\",\"text\":\"Ver\","
    "\"url\":\"https://x.example/c/{{1}}\"}]}]";
static const char *NAMED =
    "[{\"type\":\"BODY\",\"text\":\"Hola {{first_name}}, tu curso {{course}}.\"}]";

static json_object *norm(const char *json, char *err, size_t errlen, char *field)
{
    json_object *in = json_tokener_parse(json);
    json_object *out = parammap_normalize(in, err, errlen, field, 96);
    json_object_put(in);
    return out;
}

static void normalizes_every_item_form(void **state)
{
    (void)state;
    char err[256], field[96];
    json_object *m = norm("{\"body\":[\"fijo\",{\"value\":\"v\"},{\"column\":\"name\","
                          "\"fallback\":\"amigo\"}],\"buttons\":{\"0\":[{\"column\":\"code\"}]}}",
                          err, sizeof err, field);
    assert_non_null(m);
    assert_string_equal(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN),
                        "{\"body\":[{\"value\":\"fijo\"},{\"value\":\"v\"},{\"column\":\"name\","
                        "\"fallback\":\"amigo\"}],\"buttons\":{\"0\":{\"column\":\"code\"}}}");
    json_object_put(m);
    m = norm("null", err, sizeof err, field);
    assert_non_null(m);
    json_object_put(m);
}

static void rejects_bad_shapes_naming_the_member(void **state)
{
    (void)state;
    char err[256], field[96];
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"[]", "params"},
        {"{\"footer\":[]}", "params.footer"},
        {"{\"body\":5}", "params.body"},
        {"{\"body\":[{\"value\":\"a\",\"column\":\"b\"}]}", "params.body[0]"},
        {"{\"body\":[{\"value\":\"\"}]}", "params.body[0]"},
        {"{\"body\":[{\"value\":\"a\",\"fallback\":\"b\"}]}", "params.body[0]"},
        {"{\"body\":[{\"colour\":\"a\"}]}", "params.body[0]"},
        {"{\"body\":{\"Bad-Name\":\"x\"}}", "params.body"},
        {"{\"buttons\":{\"10\":\"x\"}}", "params.buttons"},
        {"{\"buttons\":{\"01\":\"x\"}}", "params.buttons"},
        {"{\"buttons\":{\"0\":[\"a\",\"b\"]}}", "params.buttons.0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_object *m = norm(bad[i].json, err, sizeof err, field);
        if (m)
            fail_msg("accepted %s", bad[i].json);
        assert_string_equal(field, bad[i].field);
        assert_true(strlen(err) > 0);
    }
}

static void checks_against_slots(void **state)
{
    (void)state;
    char err[256], field[96];
    struct cloudapi_slots s;
    assert_int_equal(cloudapi_template_slots(PROMO, &s, err, sizeof err), 0);
    json_object *ok = norm("{\"header\":[{\"column\":\"name\"}],\"body\":[{\"column\":\"name\"},"
                           "\"Robótica\"],\"buttons\":{\"0\":{\"column\":\"code\"}}}",
                           err, sizeof err, field);
    assert_int_equal(parammap_check(ok, &s, err, sizeof err), 0);
    json_object *missing =
        norm("{\"body\":[\"a\",\"b\"],\"buttons\":{\"0\":\"c\"}}", err, sizeof err, field);
    assert_int_equal(parammap_check(missing, &s, err, sizeof err), -1);
    assert_string_equal(err, "header {{1}} has no value in the mapping");
    json_object *extra = norm("{\"header\":[\"a\"],\"body\":[\"a\",\"b\",\"c\"],\"buttons\":"
                              "{\"0\":\"c\"}}",
                              err, sizeof err, field);
    assert_int_equal(parammap_check(extra, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "has 2 parameters"));
    json_object *btn = norm("{\"header\":[\"a\"],\"body\":[\"a\",\"b\"],\"buttons\":{\"0\":\"c\","
                            "\"1\":\"d\"}}",
                            err, sizeof err, field);
    assert_int_equal(parammap_check(btn, &s, err, sizeof err), -1);
    assert_string_equal(err, "the template's button 1 takes no parameter");
    /* values for a recipient: column, fallback, fixed */
    json_object *vars = json_tokener_parse("{\"name\":\"Ana\",\"code\":\"\"}");
    const char *v[8];
    assert_int_equal(parammap_values(ok, &s, vars, v, err, sizeof err), -1);
    assert_string_equal(err, "button 0 {{1}}: no value in column 'code' and no fallback");
    json_object_put(vars);
    vars = json_tokener_parse("{\"name\":\"Ana\",\"code\":\"X1\"}");
    assert_int_equal(parammap_values(ok, &s, vars, v, err, sizeof err), 0);
    assert_string_equal(v[0], "Ana");
    assert_string_equal(v[1], "Ana");
    assert_string_equal(v[2], "Robótica");
    assert_string_equal(v[3], "X1");
    json_object *body = parammap_body_params(ok, &s);
    assert_string_equal(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
                        "[{\"column\":\"name\"},{\"value\":\"Robótica\"}]");
    const char *cols[8], *fbs[8];
    assert_int_equal(parammap_columns(ok, cols, fbs, 8), 2);
    assert_string_equal(cols[0], "name");
    assert_string_equal(cols[1], "code");
    json_object_put(body);
    json_object_put(vars);
    json_object_put(ok);
    json_object_put(missing);
    json_object_put(extra);
    json_object_put(btn);
    cloudapi_slots_free(&s);
}

static void named_templates_map_by_name(void **state)
{
    (void)state;
    char err[256], field[96];
    struct cloudapi_slots s;
    assert_int_equal(cloudapi_template_slots(NAMED, &s, err, sizeof err), 0);
    json_object *m = norm("{\"body\":{\"course\":\"Robótica\",\"first_name\":{\"column\":\"name\","
                          "\"fallback\":\"amigo\"}}}",
                          err, sizeof err, field);
    assert_int_equal(parammap_check(m, &s, err, sizeof err), 0);
    const char *v[4];
    assert_int_equal(parammap_values(m, &s, NULL, v, err, sizeof err), 0);
    assert_string_equal(v[0], "amigo");
    assert_string_equal(v[1], "Robótica");
    json_object *body = parammap_body_params(m, &s); /* in slot order, not the map's */
    assert_string_equal(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
                        "[{\"column\":\"name\",\"fallback\":\"amigo\"},{\"value\":\"Robótica\"}]");
    json_object *wrong = norm("{\"body\":{\"nombre\":\"x\",\"first_name\":\"a\",\"course\":\"b\"}}",
                              err, sizeof err, field);
    assert_int_equal(parammap_check(wrong, &s, err, sizeof err), -1);
    assert_string_equal(err, "the template's body has no parameter {{nombre}}");
    json_object_put(wrong);
    json_object_put(body);
    json_object_put(m);
    cloudapi_slots_free(&s);
}

static void legacy_body_params(void **state)
{
    (void)state;
    char err[256], field[96];
    json_object *in = json_tokener_parse("[{\"column\":\"name\"},5]");
    json_object *m = parammap_from_body_params(in, err, sizeof err, field, sizeof field);
    assert_null(m);
    assert_string_equal(field, "body_params[1]");
    json_object_put(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalizes_every_item_form),
        cmocka_unit_test(rejects_bad_shapes_naming_the_member),
        cmocka_unit_test(checks_against_slots),
        cmocka_unit_test(named_templates_map_by_name),
        cmocka_unit_test(legacy_body_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
