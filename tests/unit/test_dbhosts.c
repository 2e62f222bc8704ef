/* db_host as a list of servers (lib/dbhosts): what is accepted and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dbhosts.h"

static void one_host_takes_the_default_port(void **state)
{
    (void)state;
    struct db_hostport h[DB_HOSTS_MAX];
    assert_int_equal(db_hosts_parse("127.0.0.1", 3306, h, DB_HOSTS_MAX), 1);
    assert_string_equal(h[0].host, "127.0.0.1");
    assert_int_equal(h[0].port, 3306);
}

static void a_list_keeps_its_order_and_ports(void **state)
{
    (void)state;
    struct db_hostport h[DB_HOSTS_MAX];
    assert_int_equal(db_hosts_parse(" db1:3307, db2 ,[::1]:3309 ::1\tdb5:1", 3306, h, DB_HOSTS_MAX),
                     5);
    assert_string_equal(h[0].host, "db1");
    assert_int_equal(h[0].port, 3307);
    assert_string_equal(h[1].host, "db2");
    assert_int_equal(h[1].port, 3306);
    assert_string_equal(h[2].host, "::1");
    assert_int_equal(h[2].port, 3309);
    assert_string_equal(h[3].host, "::1");
    assert_int_equal(h[3].port, 3306);
    assert_string_equal(h[4].host, "db5");
    assert_int_equal(h[4].port, 1);
}

static void bad_lists_are_refused(void **state)
{
    (void)state;
    struct db_hostport h[2];
    const char *bad[] = {"",      " , ",  "db1:",    "db1:0",     "db1:65536",  "db1:33x",
                         ":3306", "[::1", "[]:3306", "[::1]3306", "db1,db2,db3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(db_hosts_parse(bad[i], 3306, h, 2), -1);
    assert_int_equal(db_hosts_parse(NULL, 3306, h, 2), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_host_takes_the_default_port),
        cmocka_unit_test(a_list_keeps_its_order_and_ports),
        cmocka_unit_test(bad_lists_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
