/* Unit tests for lib/csvout.c: every case of tests/data/csv-export/cells.txt (run from the
 * repo root, or $PREGON_TESTDATA/csv-export/), long cells kept whole, lines of many cells. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csvout.h"

static void unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1]) {
            p++;
            *o++ = *p == 't' ? '\t' : *p == 'r' ? '\r' : *p == 'n' ? '\n' : *p;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

static void cells_from_data(void **state)
{
    (void)state;
    const char *root = getenv("PREGON_TESTDATA");
    char path[512], line[4096];
    snprintf(path, sizeof path, "%s/csv-export/cells.txt", root && root[0] ? root : "tests/data");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n = 0;
    struct csvout l = {0};
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || !line[0])
            continue;
        char *want = strchr(line, '\t');
        assert_non_null(want);
        *want++ = '\0';
        unescape(line);
        unescape(want);
        csvout_clear(&l);
        assert_int_equal(csvout_cell(&l, line), 0);
        if (l.len != strlen(want) || memcmp(l.buf, want, l.len) != 0)
            fail_msg("cell [%s]: [%.*s], expected [%s]", line, (int)l.len, l.buf, want);
        n++;
    }
    fclose(f);
    csvout_free(&l);
    assert_true(n >= 10);
}

static void long_cells_and_lines(void **state)
{
    (void)state;
    struct csvout l = {0};
    char *big = malloc(100001);
    assert_non_null(big);
    memset(big, 'x', 100000);
    big[0] = '-';
    big[100000] = '\0';
    assert_int_equal(csvout_cell(&l, big), 0);
    assert_int_equal(l.len, 100003); /* quotes and the ', nothing cut */
    assert_memory_equal(l.buf, "\"'-xx", 5);
    assert_int_equal(csvout_cell(&l, NULL), 0);
    assert_int_equal(csvout_cell(&l, "b"), 0);
    assert_memory_equal(l.buf + l.len - 9, "x\",\"\",\"b\"", 9);
    assert_false(l.failed);
    csvout_free(&l);
    free(big);
    assert_false(csvout_formula_risky(NULL));
    assert_false(csvout_formula_risky(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cells_from_data),
        cmocka_unit_test(long_cells_and_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
