/* The named statements (lib/sqlstmt.h) the query-plan tests EXPLAIN: every one findable by a
 * unique name, its argument shape true to its text (one letter per "?", an 'L' exactly where
 * the id list's "%s" goes), and an id list expanded to the padded count of placeholders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "idlist.h"
#include "sqlstmt.h"

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

struct walk {
    const char *names[128];
    size_t n;
};

static void check_one(const struct sql_statement *st, void *ctx)
{
    struct walk *w = ctx;
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->names[i], st->name) == 0)
            fail_msg("statement %s listed twice", st->name);
    assert_true(w->n < sizeof w->names / sizeof w->names[0]);
    w->names[w->n++] = st->name;
    assert_ptr_equal(sql_statement_find(st->name), st);
    size_t lists = count_char(st->shape, 'L');
    size_t scalars = strlen(st->shape) - lists;
    for (const char *p = st->shape; *p; p++)
        if (*p != 'i' && *p != 's' && *p != 'L')
            fail_msg("%s: shape letter %c", st->name, *p);
    if (count_char(st->sql, '?') != scalars)
        fail_msg("%s: %zu placeholders, shape %s", st->name, count_char(st->sql, '?'), st->shape);
    assert_true(lists <= 1);
    /* the id list goes in "IN (%s)"; a date format's seconds (%s) elsewhere is no list */
    assert_int_equal(strstr(st->sql, "IN (%s)") != NULL, lists == 1);
    if (lists) {
        char *sql = idlist_sql(st->sql, 3);
        assert_non_null(sql);
        assert_int_equal(count_char(sql, '?'), scalars + 4); /* 3 ids padded to 4 */
        free(sql);
    }
}

static void every_statement_is_true_to_its_shape(void **state)
{
    (void)state;
    struct walk w = {.n = 0};
    sql_statement_each(check_one, &w);
    assert_true(w.n >= 20);
    assert_non_null(sql_statement_find("queue.claim_first"));
    assert_non_null(sql_statement_find("person.blocked"));
    assert_null(sql_statement_find("queue.no_such_statement"));
}

static void id_lists_pad_to_a_power_of_two(void **state)
{
    (void)state;
    static const size_t in[] = {1, 2, 3, 5, 8, 9, 1000};
    static const size_t want[] = {1, 2, 4, 8, 8, 16, 1024};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        char *sql = idlist_sql("IN (%s)", in[i]);
        assert_non_null(sql);
        assert_int_equal(count_char(sql, '?'), want[i]);
        free(sql);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_statement_is_true_to_its_shape),
        cmocka_unit_test(id_lists_pad_to_a_power_of_two),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
