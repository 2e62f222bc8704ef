/* Which database servers Pregón runs on: MariaDB 10.6 or later, and a message naming the
 * server otherwise (db_server_supported, checked on every connection). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "db.h"

static void mariadb_10_6_and_later_pass(void **state)
{
    (void)state;
    char why[256] = "";
    assert_int_equal(db_server_supported("10.6.12-MariaDB", 100612, why, sizeof why), 0);
    assert_int_equal(db_server_supported("10.11.6-MariaDB-0+deb12u1", 101106, why, sizeof why), 0);
    assert_int_equal(db_server_supported("11.4.2-MariaDB-log", 110402, why, sizeof why), 0);
}

static void older_mariadb_is_named(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(db_server_supported("10.5.23-MariaDB", 100523, why, sizeof why), -1);
    assert_non_null(strstr(why, "MariaDB 10.5.23-MariaDB is too old"));
    assert_non_null(strstr(why, "10.6 or later"));
}

static void mysql_is_refused_by_name(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(db_server_supported("8.0.36", 80036, why, sizeof why), -1);
    assert_non_null(strstr(why, "unsupported database server 8.0.36"));
    assert_non_null(strstr(why, "MySQL is not supported"));
    assert_int_equal(db_server_supported(NULL, 0, why, sizeof why), -1);
    assert_non_null(strstr(why, "(unknown)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mariadb_10_6_and_later_pass),
        cmocka_unit_test(older_mariadb_is_named),
        cmocka_unit_test(mysql_is_refused_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
