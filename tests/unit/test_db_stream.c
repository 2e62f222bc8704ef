/* db_load_stream (LOAD DATA LOCAL INFILE from memory) against a real MariaDB: rows arrive byte
 * for byte, and the server can never make the client read a file. Needs a server: the
 * integration suite (tests/integration/test_import_stream.py) runs this program with
 * PREGON_TEST_DB_SOCKET set; without it every test is skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "db.h"

struct feed {
    const char *data;
    size_t len, pos, chunk;
    int calls;
    int fail_after; /* calls before answering -1; 0: never */
};

static int feed_read(void *ctx, char *buf, unsigned int len)
{
    struct feed *f = ctx;
    f->calls++;
    if (f->fail_after && f->calls > f->fail_after)
        return -1;
    size_t n = f->len - f->pos;
    if (n > len)
        n = len;
    if (f->chunk && n > f->chunk)
        n = f->chunk;
    memcpy(buf, f->data + f->pos, n);
    f->pos += n;
    return (int)n;
}

static struct config cfg;

static int setup(void **state)
{
    const char *sock = getenv("PREGON_TEST_DB_SOCKET");
    if (!sock || !*sock) {
        *state = NULL;
        return 0;
    }
    cfg.db_socket = (char *)sock;
    cfg.db_user = getenv("PREGON_TEST_DB_USER");
    cfg.db_name = (char *)"pregon";
    cfg.db_password = (char *)"";
    struct db *db = db_open(&cfg);
    assert_non_null(db);
    assert_int_equal(db_ping(db), DB_OK);
    assert_int_equal(db_simple(db, "CREATE TEMPORARY TABLE t_stream (a VARCHAR(200) CHARACTER SET "
                                   "utf8mb4, b LONGTEXT CHARACTER SET utf8mb4)"),
                     DB_OK);
    *state = db;
    return 0;
}

static int teardown(void **state)
{
    db_close(*state);
    return 0;
}

#define NEED_DB(db)                                                                                \
    struct db *db = *state;                                                                        \
    if (!db)                                                                                       \
    skip()

static long long count(struct db *db)
{
    struct db_rows r;
    assert_int_equal(db_query(db, "SELECT COUNT(*) FROM t_stream", DB_NOARGS, &r), DB_OK);
    long long n = db_int(&r, 0, 0, -1);
    db_rows_free(&r);
    return n;
}

#define LOAD(file)                                                                                 \
    "LOAD DATA LOCAL INFILE '" file "' INTO TABLE t_stream CHARACTER SET utf8mb4 FIELDS "          \
    "TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (a, b)"

static void streams_rows_byte_for_byte(void **state)
{
    NEED_DB(db);
    assert_int_equal(db_simple(db, "DELETE FROM t_stream"), DB_OK);
    /* escaped as the import escapes: \\ \t \n \r \0; \N is NULL */
    static const char data[] = "uno\t{\"k\": \"C:\\\\\\\\x\"}\n"
                               "tab\\there\tnl\\nhere\\r\n"
                               "nul\\0byte\t\\N\n"
                               "emoji \xf0\x9f\x8e\x89\t\\\\N\n";
    struct feed f = {.data = data, .len = sizeof data - 1, .chunk = 7};
    struct db_res res;
    unsigned int warnings = 99;
    int started = 0;
    assert_int_equal(db_load_stream(db, LOAD("pregon:test"), "pregon:test", feed_read, &f, &res,
                                    &warnings, &started),
                     DB_OK);
    assert_int_equal(started, 1);
    assert_int_equal(res.affected, 4);
    assert_int_equal(warnings, 0);
    struct db_rows r;
    assert_int_equal(db_query(db, "SELECT a, b, LENGTH(a) FROM t_stream ORDER BY a", DB_NOARGS, &r),
                     DB_OK);
    assert_int_equal(r.nrows, 4);
    assert_string_equal(db_val(&r, 0, 0), "emoji \xf0\x9f\x8e\x89");
    assert_string_equal(db_val(&r, 0, 1), "\\N");
    assert_int_equal(db_int(&r, 1, 2, 0), 8); /* "nul\0byte" */
    assert_memory_equal(db_val(&r, 1, 0), "nul\0byte", 8);
    assert_null(db_val(&r, 1, 1));
    assert_string_equal(db_val(&r, 2, 0), "tab\there");
    assert_string_equal(db_val(&r, 2, 1), "nl\nhere\r");
    assert_string_equal(db_val(&r, 3, 1), "{\"k\": \"C:\\\\x\"}");
    db_rows_free(&r);
}

static void never_reads_a_file_the_server_asks_for(void **state)
{
    NEED_DB(db);
    assert_int_equal(db_simple(db, "DELETE FROM t_stream"), DB_OK);
    /* No stream registered: a plain statement cannot make the client send a file. */
    assert_int_not_equal(db_simple(db, LOAD("/etc/passwd")), DB_OK);
    assert_int_equal(count(db), 0);
    /* A stream registered under another name: refused before reading anything. */
    struct feed f = {.data = "x\ty\n", .len = 4};
    int started = 1;
    assert_int_not_equal(
        db_load_stream(db, LOAD("/etc/passwd"), "pregon:test", feed_read, &f, NULL, NULL, &started),
        DB_OK);
    assert_int_equal(started, 0);
    assert_int_equal(f.calls, 0);
    assert_int_equal(count(db), 0);
    /* The connection is still usable and the handler is gone after the call. */
    assert_int_not_equal(db_simple(db, LOAD("pregon:test")), DB_OK);
    assert_int_equal(count(db), 0);
}

static void a_producer_can_abort_the_stream(void **state)
{
    NEED_DB(db);
    assert_int_equal(db_begin(db), DB_OK);
    assert_int_equal(db_simple(db, "DELETE FROM t_stream"), DB_OK);
    char big[64 * 1024];
    for (size_t i = 0; i < sizeof big; i += 8)
        memcpy(big + i, "row\tabc\n", 8);
    struct feed f = {.data = big, .len = sizeof big, .chunk = 4096, .fail_after = 3};
    int started = 0;
    assert_int_not_equal(
        db_load_stream(db, LOAD("pregon:test"), "pregon:test", feed_read, &f, NULL, NULL, &started),
        DB_OK);
    assert_int_equal(started, 1);
    assert_true(strstr(db_error(db), "aborted") != NULL);
    assert_int_equal(db_rollback(db), DB_OK);
    assert_int_equal(count(db), 0);
}

static void tells_whether_the_server_allows_it(void **state)
{
    NEED_DB(db);
    assert_int_equal(db_local_infile(db), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(streams_rows_byte_for_byte),
        cmocka_unit_test(never_reads_a_file_the_server_asks_for),
        cmocka_unit_test(a_producer_can_abort_the_stream),
        cmocka_unit_test(tells_whether_the_server_allows_it),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
