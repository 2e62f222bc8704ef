/* Opt-out keywords: whole message, case- and accent-insensitive, punctuation ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "optout.h"

static int dflt(const char *text)
{
    return optout_match(text, optout_default_keywords, optout_default_nkeywords);
}

static void normalize_folds_case_accents_and_spaces(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(optout_normalize("  No   MÁS!! ", out, sizeof out), 6);
    assert_string_equal(out, "no mas");
    optout_normalize("¡Bája!", out, sizeof out);
    assert_string_equal(out, "baja");
    optout_normalize("ÑANDÚ Ü", out, sizeof out);
    assert_string_equal(out, "nandu u");
    optout_normalize("no\u00a0más", out, sizeof out);
    assert_string_equal(out, "no mas");
    optout_normalize("...", out, sizeof out);
    assert_string_equal(out, "");
    /* other scripts and emoji are kept byte for byte */
    optout_normalize("stop \xF0\x9F\x9B\x91", out, sizeof out);
    assert_string_equal(out, "stop \xF0\x9F\x9B\x91");
}

static void normalize_reports_small_buffers(void **state)
{
    (void)state;
    char out[4];
    assert_int_equal(optout_normalize("stop", out, sizeof out), -1);
    assert_int_equal(optout_normalize(NULL, out, sizeof out), -1);
    assert_int_equal(optout_normalize("abc", out, sizeof out), 3);
}

static void default_keywords_match(void **state)
{
    (void)state;
    assert_true(dflt("STOP"));
    assert_true(dflt("stop"));
    assert_true(dflt("Stop."));
    assert_true(dflt("BAJA"));
    assert_true(dflt("baja"));
    assert_true(dflt("¡Baja!"));
    assert_true(dflt("NO MAS"));
    assert_true(dflt("no más"));
    assert_true(dflt("No  Más"));
    assert_true(dflt("NO MÁS"));
    assert_true(dflt("cancelar"));
    assert_true(dflt("CANCELÁR"));
    assert_true(dflt(" Cancelar \n"));
}

static void other_texts_do_not(void **state)
{
    (void)state;
    assert_false(dflt(NULL));
    assert_false(dflt(""));
    assert_false(dflt("   "));
    assert_false(dflt("no pares"));
    assert_false(dflt("stopped"));
    assert_false(dflt("quiero darme de baja del curso de robótica"));
    assert_false(dflt("nomas"));
    assert_false(dflt("no mas tarde"));
    assert_false(dflt("STOP STOP"));
    char big[400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_false(dflt(big));
}

static void configured_list(void **state)
{
    (void)state;
    const char *const kw[] = {"Salir", "DESUSCRIBIR", NULL};
    assert_true(optout_match("salir", kw, 3));
    assert_true(optout_match("desuscribír", kw, 3));
    assert_false(optout_match("stop", kw, 3));
    assert_false(optout_match("salir", kw, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalize_folds_case_accents_and_spaces),
        cmocka_unit_test(normalize_reports_small_buffers),
        cmocka_unit_test(default_keywords_match),
        cmocka_unit_test(other_texts_do_not),
        cmocka_unit_test(configured_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
