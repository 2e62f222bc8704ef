/* lib/identity: inbound WhatsApp ids to the canonical phone, from tests/data/identity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "identity.h"

#define DATA "tests/data/identity/wa_ids.tsv"

static void wa_ids_from_data_file(void **state)
{
    (void)state;
    FILE *f = fopen(DATA, "r");
    assert_non_null(f);
    char line[256];
    int cases = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        *tab = '\0';
        const char *in = line, *want = tab + 1;
        char out[E164_MAX + 1], again[E164_MAX + 1];
        int st = identity_from_wa(in, out);
        cases++;
        if (strcmp(want, "-") == 0) {
            if (st == E164_OK) {
                print_error("%s: want no phone, got %s\n", in, out);
                bad++;
            }
            continue;
        }
        if (st != E164_OK || strcmp(out, want) != 0) {
            print_error("%s: want %s, got %s (%d)\n", in, want, out, st);
            bad++;
            continue;
        }
        /* canonical is a fixed point: normalising the stored form changes nothing */
        if (identity_from_wa(out, again) != E164_OK || strcmp(again, out) != 0) {
            print_error("%s: %s is not a fixed point (%s)\n", in, out, again);
            bad++;
        }
    }
    fclose(f);
    assert_true(cases >= 20);
    assert_int_equal(bad, 0);
}

/* The import of "+52 1 55 1234 5678" and WhatsApp's 5215512345678 are one person. */
static void import_and_webhook_agree(void **state)
{
    (void)state;
    const char *typed = "+52 1 55 1234 5678";
    char a[E164_MAX + 1], b[E164_MAX + 1];
    assert_int_equal(e164_normalize(typed, strlen(typed), "MX", a), E164_OK);
    assert_int_equal(identity_from_wa("5215512345678", b), E164_OK);
    assert_string_equal(a, b);
}

static void user_id_shapes(void **state)
{
    (void)state;
    assert_true(identity_user_id_ok("AR.1234567890123456"));
    assert_true(identity_user_id_ok("some.username_1"));
    assert_false(identity_user_id_ok(NULL));
    assert_false(identity_user_id_ok(""));
    assert_false(identity_user_id_ok("has space"));
    assert_false(identity_user_id_ok("quote\"d"));
    assert_false(identity_user_id_ok("n\xC3\xB1"));
    char big[IDENTITY_USER_ID_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_false(identity_user_id_ok(big));
    big[IDENTITY_USER_ID_MAX] = '\0';
    assert_true(identity_user_id_ok(big));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wa_ids_from_data_file),
        cmocka_unit_test(import_and_webhook_agree),
        cmocka_unit_test(user_id_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
