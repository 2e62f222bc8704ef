/* Request parsers: query strings, cookies, Origin, JSON bodies; hostile shapes included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "httpin.h"

static void query_params(void **state)
{
    (void)state;
    char *v = httpin_query_param("a=1&limit=20&b=x+y%21", "limit");
    assert_string_equal(v, "20");
    free(v);
    v = httpin_query_param("a=1&limit=20&b=x+y%21", "b");
    assert_string_equal(v, "x y!");
    free(v);
    v = httpin_query_param("limit=1&limit=2", "limit");
    assert_string_equal(v, "1");
    free(v);
    v = httpin_query_param("xlimit=1", "limit");
    assert_null(v);
    v = httpin_query_param("limit", "limit");
    assert_null(v);
    v = httpin_query_param("limit=", "limit");
    assert_string_equal(v, "");
    free(v);
    assert_null(httpin_query_param("limit=a%00b", "limit"));
    assert_null(httpin_query_param(NULL, "limit"));
    assert_null(httpin_query_param("", "limit"));
    v = httpin_query_param("q=%zz%", "q");
    assert_non_null(v); /* undecodable escapes stay as they are */
    free(v);
}

static void cookies(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(
        httpin_cookie("a=1; pregon_session=abc_-9; b=2", "pregon_session", out, sizeof out), 6);
    assert_string_equal(out, "abc_-9");
    assert_int_equal(httpin_cookie("pregon_session=\"quoted\"", "pregon_session", out, sizeof out),
                     6);
    assert_string_equal(out, "quoted");
    assert_int_equal(httpin_cookie("pregon_session=first; pregon_session=second", "pregon_session",
                                   out, sizeof out),
                     5);
    assert_string_equal(out, "first");
    assert_int_equal(httpin_cookie("  pregon_session = v ;", "pregon_session", out, sizeof out), 1);
    assert_int_equal(
        httpin_cookie("xpregon_session=1; pregon_sessionx=2", "pregon_session", out, sizeof out),
        -1);
    assert_int_equal(httpin_cookie("pregon_session", "pregon_session", out, sizeof out), -1);
    assert_int_equal(httpin_cookie("pregon_session=a b", "pregon_session", out, sizeof out), -1);
    assert_int_equal(httpin_cookie("pregon_session=a\x01", "pregon_session", out, sizeof out), -1);
    assert_int_equal(httpin_cookie("pregon_session=a,b", "pregon_session", out, sizeof out), -1);
    char big[200];
    memset(big, 'a', sizeof big);
    memcpy(big, "pregon_session=", 15);
    big[sizeof big - 1] = '\0';
    assert_int_equal(httpin_cookie(big, "pregon_session", out, sizeof out), -1);
    assert_int_equal(httpin_cookie("", "pregon_session", out, sizeof out), -1);
    assert_int_equal(httpin_cookie(";;;", "pregon_session", out, sizeof out), -1);
    assert_int_equal(httpin_cookie("=x; pregon_session=y", "pregon_session", out, sizeof out), 1);
}

static void origins(void **state)
{
    (void)state;
    char o[300];
    assert_int_equal(httpin_origin_of("HTTPS://Pregon.Example.COM:443/path?x", o, sizeof o), 0);
    assert_string_equal(o, "https://pregon.example.com");
    assert_int_equal(httpin_origin_of("http://127.0.0.1:8080", o, sizeof o), 0);
    assert_string_equal(o, "http://127.0.0.1:8080");
    assert_int_equal(httpin_origin_of("http://[::1]:80/", o, sizeof o), 0);
    assert_string_equal(o, "http://[::1]");
    assert_int_equal(httpin_origin_of("ftp://x", o, sizeof o), -1);
    assert_int_equal(httpin_origin_of("http://user@host", o, sizeof o), -1);
    assert_int_equal(httpin_origin_of("http://:80", o, sizeof o), -1);
    assert_int_equal(httpin_origin_of("http://h:99999999", o, sizeof o), -1);
    assert_int_equal(httpin_origin_of("http://h:", o, sizeof o), -1);

    assert_true(httpin_origin_matches("http://127.0.0.1:8080", "http://127.0.0.1:8080"));
    assert_true(
        httpin_origin_matches("https://pregon.example.com", "https://pregon.example.com:443/"));
    assert_true(httpin_origin_matches("http://localhost:8080", "http://localhost:8080"));
    assert_false(httpin_origin_matches("http://127.0.0.1:8080/", "http://127.0.0.1:8080"));
    assert_false(httpin_origin_matches("null", "http://127.0.0.1:8080"));
    assert_false(httpin_origin_matches("http://evil.example", "http://127.0.0.1:8080"));
    assert_false(httpin_origin_matches("https://127.0.0.1:8080", "http://127.0.0.1:8080"));
    assert_false(
        httpin_origin_matches("http://127.0.0.1:8080.evil.example", "http://127.0.0.1:8080"));
    assert_false(httpin_origin_matches("", "http://127.0.0.1:8080"));
    assert_false(httpin_origin_matches(NULL, "http://127.0.0.1:8080"));
}

static void json_bodies(void **state)
{
    (void)state;
    char err[256];
    json_object *o = httpin_json_object(" {\"a\": 1}\n", 10, err, sizeof err);
    assert_non_null(o);
    json_object_put(o);
    static const char *const bad[] = {"", "{", "[1]", "\"x\"", "{} {}", "{}x", "nul", "{\"a\":1,}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = httpin_json_object(bad[i], strlen(bad[i]), err, sizeof err);
        assert_null(o);
        assert_true(err[0] != '\0');
    }
    assert_null(httpin_json_object("{}\0{}", 5, err, sizeof err));
    assert_null(httpin_json_object("{\"a\":\"\xff\"}", 9, err, sizeof err)); /* not UTF-8 */
    assert_null(httpin_json_object(NULL, 0, err, sizeof err));
    /* Deep nesting is refused by json-c's depth limit, never a stack overflow. */
    size_t n = 100000;
    char *deep = malloc(n);
    assert_non_null(deep);
    memset(deep, '[', n);
    deep[0] = '{';
    assert_null(httpin_json_object(deep, n, err, sizeof err));
    free(deep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(query_params),
        cmocka_unit_test(cookies),
        cmocka_unit_test(origins),
        cmocka_unit_test(json_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
