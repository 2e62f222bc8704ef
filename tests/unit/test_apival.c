/* API values: times with offsets, consent cells, messaging tiers, spreadsheet-safe cells. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "apival.h"

static void times_need_an_offset(void **state)
{
    (void)state;
    char out[24];
    time_t t;
    assert_int_equal(apival_parse_time("2026-03-02T09:00:00-03:00", out, &t), 0);
    assert_string_equal(out, "2026-03-02 12:00:00.000");
    assert_int_equal(apival_parse_time("2026-03-02T12:00:00Z", out, NULL), 0);
    assert_int_equal((long long)t, 1772452800LL);
    assert_int_equal(apival_parse_time("2024-02-29 23:30:15.25+0530", out, NULL), 0);
    assert_string_equal(out, "2024-02-29 18:00:15.250");
    assert_int_equal(apival_parse_time("2026-12-31T23:59Z", out, NULL), 0);
    assert_string_equal(out, "2026-12-31 23:59:00.000");
    static const char *bad[] = {"2026-03-02T09:00:00",
                                "2026-02-29T09:00:00Z",
                                "2026-13-01T09:00:00Z",
                                "2026-03-02T24:00:00Z",
                                "2026-03-02T09:00:00+15:00",
                                "mañana",
                                "",
                                "2026-03-02Z",
                                "2026-03-02T09:00:00Zjunk",
                                "2026-03-02T09:60:00Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (apival_parse_time(bad[i], out, NULL) == 0)
            fail_msg("accepted %s", bad[i]);
}

static void consent_cells(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int want;
    } c[] = {{"si", 1},
             {" Sí ", 1},
             {"SÍ", 1},
             {"yes", 1},
             {"TRUE", 1},
             {"1", 1},
             {"x", 1},
             {"2025-03-01", 1},
             {"01/03/2025 10:00", 1},
             {"", 0},
             {"  ", 0},
             {"no", -1},
             {"NO", -1},
             {"0", -1},
             {"false", -1},
             {"formulario web", 1},
             {"inscripción presencial", 1},
             {"quizás", 1},
             {"nombre", 1},
             {"no acepta", -1},
             {"No, gracias", -1},
             {"nunca", -1},
             {"sin consentimiento", -1},
             {"rechazado", -1},
             {"opt-out", -1},
             {"-", 0},
             {"n/a", 0}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (apival_consent(c[i].s, strlen(c[i].s)) != c[i].want)
            fail_msg("'%s': %d, want %d", c[i].s, apival_consent(c[i].s, strlen(c[i].s)),
                     c[i].want);
}

static void consent_records(void **state)
{
    (void)state;
    char out[121];
    assert_string_equal(apival_consent_record(" sí ", 4, "import X", out, sizeof out), "import X");
    assert_string_equal(apival_consent_record("formulario web", 14, "import X", out, sizeof out),
                        "formulario web (import X)");
    char big[400];
    memset(big, 'a', sizeof big);
    apival_consent_record(big, sizeof big, "import X", out, sizeof out);
    assert_true(strlen(out) <= 120);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(times_need_an_offset),
        cmocka_unit_test(consent_cells),
        cmocka_unit_test(consent_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
