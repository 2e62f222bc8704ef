/* The Graph API addresses of an account: one builder for the worker, the API's test send and
 * pregonctl check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "accounts.h"

static void messages_url_of_the_configured_base(void **state)
{
    (void)state;
    struct account a = {.graph_version = "v25.0", .phone_number_id = "1234567890"};
    char *u = accounts_messages_url(&a, "https://graph.facebook.com");
    assert_string_equal(u, "https://graph.facebook.com/v25.0/1234567890/messages");
    free(u);
    u = accounts_phone_url(&a, "https://graph.facebook.com", NULL);
    assert_string_equal(u, "https://graph.facebook.com/v25.0/1234567890");
    free(u);
}

static void the_account_base_wins(void **state)
{
    (void)state;
    char base[] = "http://127.0.0.1:9/graph";
    struct account a = {.graph_version = "v24.0", .phone_number_id = "42", .graph_base_url = base};
    char *u = accounts_messages_url(&a, "https://graph.facebook.com");
    assert_string_equal(u, "http://127.0.0.1:9/graph/v24.0/42/messages");
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(messages_url_of_the_configured_base),
        cmocka_unit_test(the_account_base_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
