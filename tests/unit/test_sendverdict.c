/* Unit tests for lib/sendverdict.c: the table in tests/data/sendverdict/cases.tsv (run from
   the repo root or set PREGON_TESTDATA). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sendverdict.h"

static const char *data_root(void)
{
    const char *root = getenv("PREGON_TESTDATA");
    return root && root[0] ? root : "tests/data";
}

/* Reads tests/data/sendverdict/<name> whole. Caller frees. */
static char *load(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/sendverdict/%s", data_root(), name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static enum sendverdict_transport transport_parse(const char *s)
{
    if (!strcmp(s, "answered"))
        return SENDVERDICT_ANSWERED;
    if (!strcmp(s, "not_sent"))
        return SENDVERDICT_NOT_SENT;
    if (!strcmp(s, "after_send"))
        return SENDVERDICT_AFTER_SEND;
    fail_msg("unknown transport %s", s);
    return SENDVERDICT_ANSWERED;
}

static void test_table(void **state)
{
    (void)state;
    char path[1024], line[2048];
    snprintf(path, sizeof path, "%s/sendverdict/cases.tsv", data_root());
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    int ncases = 0, seen[3] = {0};
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *save = NULL, *col[6];
        int k = 0;
        for (char *t = strtok_r(line, "\t", &save); t && k < 6; t = strtok_r(NULL, "\t", &save))
            col[k++] = t;
        assert_int_equal(k, 6);
        enum sendverdict_transport t = transport_parse(col[0]);
        long http = strtol(col[1], NULL, 10);
        size_t len = 0;
        char *body = NULL;
        size_t blen = strlen(col[2]);
        if (col[2][0] == '-' && blen >= 2 && col[2][blen - 1] == '-') {
            body = strndup(col[2] + 1, blen - 2);
            assert_non_null(body);
            len = blen - 2;
        } else {
            body = load(col[2], &len);
        }
        struct cloudapi_result r;
        enum sendverdict v = sendverdict_decide(t, http, body, len, &r);
        print_message("%s %ld %s -> %s %s %d (%s)\n", col[0], http, col[2], sendverdict_name(v),
                      cloudapi_action_name(r.action), r.code, r.details);
        assert_string_equal(sendverdict_name(v), col[3]);
        assert_string_equal(cloudapi_action_name(r.action), col[4]);
        assert_int_equal(r.code, (int)strtol(col[5], NULL, 10));
        /* only an accepted answer carries a wamid */
        assert_int_equal(r.accepted, v == SENDVERDICT_ACCEPTED);
        seen[v]++;
        ncases++;
        free(body);
    }
    fclose(f);
    assert_true(ncases >= 30);
    /* the table covers every verdict */
    assert_true(seen[SENDVERDICT_ACCEPTED] && seen[SENDVERDICT_NOT_ACCEPTED] &&
                seen[SENDVERDICT_IN_DOUBT]);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(sendverdict_name(SENDVERDICT_ACCEPTED), "accepted");
    assert_string_equal(sendverdict_name(SENDVERDICT_NOT_ACCEPTED), "not_accepted");
    assert_string_equal(sendverdict_name(SENDVERDICT_IN_DOUBT), "in_doubt");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
