/* Route matching: ids, exact segments, and path tricks that must never match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "route.h"

static void matches_plain_and_ids(void **state)
{
    (void)state;
    long long ids[ROUTE_MAX_IDS];
    int n;
    assert_true(route_match("/api/health", "/api/health", ids, &n));
    assert_int_equal(n, 0);
    assert_true(route_match("/api/campaigns/{id}/start", "/api/campaigns/42/start", ids, &n));
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 42);
    assert_true(route_match("/a/{x}/b/{y}", "/a/1/b/999999999999999999", ids, &n));
    assert_int_equal(n, 2);
    assert_int_equal(ids[1], 999999999999999999LL);
}

static void matches_key_segments(void **state)
{
    (void)state;
    long long ids[ROUTE_MAX_IDS];
    int n;
    const char *pat = "/api/contacts/by-lead/{*lead_id}";
    assert_true(route_match(pat, "/api/contacts/by-lead/L-2024_7.x~1", ids, &n));
    assert_int_equal(n, 0);
    assert_true(route_match(pat, "/api/contacts/by-lead/42", ids, &n));
    assert_string_equal(route_last_segment("/api/contacts/by-lead/42"), "42");
    assert_false(route_match(pat, "/api/contacts/by-lead/", ids, &n));
    assert_false(route_match(pat, "/api/contacts/by-lead/..", ids, &n));
    assert_false(route_match(pat, "/api/contacts/by-lead/a%20b", ids, &n));
    assert_false(route_match(pat, "/api/contacts/by-lead/a/b", ids, &n));
    char long_key[80];
    memset(long_key, 'k', 65);
    long_key[65] = '\0';
    char path[128];
    snprintf(path, sizeof path, "/api/contacts/by-lead/%s", long_key);
    assert_false(route_match(pat, path, ids, &n));
}

static void rejects_non_matches(void **state)
{
    (void)state;
    long long ids[ROUTE_MAX_IDS];
    int n;
    assert_false(route_match("/api/health", "/api/health/", ids, &n));
    assert_false(route_match("/api/health", "/api/healthz", ids, &n));
    assert_false(route_match("/api/health", "/api", ids, &n));
    assert_false(route_match("/api/campaigns/{id}", "/api/campaigns/", ids, &n));
    assert_false(route_match("/api/campaigns/{id}", "/api/campaigns/abc", ids, &n));
    assert_false(route_match("/api/campaigns/{id}", "/api/campaigns/0", ids, &n));
    assert_false(route_match("/api/campaigns/{id}", "/api/campaigns/007", ids, &n));
    assert_false(route_match("/api/campaigns/{id}", "/api/campaigns/-1", ids, &n));
    assert_false(route_match("/api/campaigns/{id}", "/api/campaigns/1234567890123456789", ids, &n));
    assert_false(route_match("/api/campaigns/{id}", "/api/campaigns/1/", ids, &n));
    assert_false(route_match("/api/campaigns", "/api/campaigns/1", ids, &n));
}

static void rejects_path_tricks(void **state)
{
    (void)state;
    long long ids[ROUTE_MAX_IDS];
    int n;
    assert_false(route_match("/api/health", "/api/../api/health", ids, &n));
    assert_false(route_match("/api/health", "/api/./health", ids, &n));
    assert_false(route_match("/api/health", "//api/health", ids, &n));
    assert_false(route_match("/api/health", "/api//health", ids, &n));
    assert_false(route_match("/api/health", "api/health", ids, &n));
    assert_false(route_match("/api/health", "", ids, &n));
    assert_false(route_match("/api/health", NULL, ids, &n));
    char longpath[2048];
    for (size_t i = 0; i < sizeof longpath - 1; i++)
        longpath[i] = i % 2 ? 'a' : '/';
    longpath[sizeof longpath - 1] = '\0';
    assert_false(route_match("/api/health", longpath, ids, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_plain_and_ids),
        cmocka_unit_test(matches_key_segments),
        cmocka_unit_test(rejects_non_matches),
        cmocka_unit_test(rejects_path_tricks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
