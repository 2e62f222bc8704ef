/* A/B variants (lib/abvariant): the Wilson score interval, the assignment bucket (against
 * values Python's hashlib computed) and the split rule. Cases: tests/data/abvariant/ (run from
 * the repo root or set PREGON_TESTDATA). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "abvariant.h"

static FILE *open_data(const char *name)
{
    const char *root = getenv("PREGON_TESTDATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/abvariant/%s", root && root[0] ? root : "tests/data", name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (run from the repo root or set PREGON_TESTDATA)", path);
    return f;
}

static void wilson_cases(void **state)
{
    (void)state;
    FILE *f = open_data("wilson.txt");
    char line[256];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        long long k, n;
        double lo, hi, glo, ghi;
        if (sscanf(line, "%lld %lld %lf %lf", &k, &n, &lo, &hi) != 4)
            fail_msg("bad line: %s", line);
        assert_int_equal(abvar_wilson(k, n, 1.96, &glo, &ghi), 0);
        if (fabs(glo - lo) > 5e-5 || fabs(ghi - hi) > 5e-5)
            fail_msg("%lld/%lld: [%.5f, %.5f], want [%.4f, %.4f]", k, n, glo, ghi, lo, hi);
        if (n > 0 && !(glo <= (double)k / (double)n && (double)k / (double)n <= ghi))
            fail_msg("%lld/%lld: the rate is outside its interval", k, n);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 10);
    double lo, hi;
    assert_int_equal(abvar_wilson(3, 2, 1.96, &lo, &hi), -1);
    assert_int_equal(abvar_wilson(-1, 2, 1.96, &lo, &hi), -1);
}

static void bucket_cases(void **state)
{
    (void)state;
    FILE *f = open_data("buckets.txt");
    char line[256], phone[32];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        unsigned long long key;
        int want;
        if (sscanf(line, "%llu %31s %d", &key, phone, &want) != 3)
            fail_msg("bad line: %s", line);
        int got = abvar_bucket(key, phone);
        if (got != want)
            fail_msg("key %llu %s: bucket %d, want %d", key, phone, got, want);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 10);
}

/* Shares cut [0, 100) in order, the holdout last; over many numbers the split follows them. */
static void assign_follows_shares(void **state)
{
    (void)state;
    struct abvar_set s = {.n = 2, .holdout = 20, .key = 42};
    s.v[0] = (struct abvar){.variant = 1, .share = 50};
    s.v[1] = (struct abvar){.variant = 2, .share = 30};
    long long n[3] = {0, 0, 0};
    char phone[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(phone, sizeof phone, "+54938755%05d", i);
        int v = abvar_assign(&s, phone), b = abvar_bucket(42, phone);
        assert_int_equal(v, b < 50 ? 1 : b < 80 ? 2 : 0);
        assert_int_equal(abvar_assign(&s, phone), v); /* stable */
        n[v]++;
    }
    assert_true(llabs(n[1] - 10000) < 500 && llabs(n[2] - 6000) < 500 && llabs(n[0] - 4000) < 500);
    long long exp[ABVAR_MAX], hold;
    abvar_expected(&s, 1001, exp, &hold);
    assert_int_equal(exp[0], 500);
    assert_int_equal(exp[1], 300);
    assert_int_equal(hold, 201);
}

static void split_cases(void **state)
{
    (void)state;
    FILE *f = open_data("split.txt");
    char line[256], list[128], want[64], field[64], err[160];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        int holdout, shares[8];
        size_t n = 0;
        if (sscanf(line, "%127s %d %63s", list, &holdout, want) != 3)
            fail_msg("bad line: %s", line);
        for (char *tok = strtok(list, ","); tok && n < 8; tok = strtok(NULL, ","))
            shares[n++] = atoi(tok);
        int rc = abvar_check_split(shares, n, holdout, field, sizeof field, err, sizeof err);
        const char *got = rc == 0 ? "ok" : field;
        if (strcmp(got, want) != 0)
            fail_msg("%s: %s (%s), want %s", line, got, rc ? err : "", want);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wilson_cases),
        cmocka_unit_test(bucket_cases),
        cmocka_unit_test(assign_follows_shares),
        cmocka_unit_test(split_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
