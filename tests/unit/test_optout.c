/* Opt-out keywords: whole message, case- and accent-insensitive, punctuation ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Each line of a tests/data/optout file: two tab-separated columns (comments and blank lines
 * skipped). Calls fn for each; returns the number of lines that failed. */
static int each_case(const char *path, int (*fn)(const char *a, const char *b, void *ctx),
                     void *ctx, int *cases)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    int bad = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        *tab = '\0';
        (*cases)++;
        bad += fn(line, tab + 1, ctx);
    }
    fclose(f);
    return bad;
}

static int fold_case(const char *in, const char *want, void *ctx)
{
    (void)ctx;
    char out[1024];
    if (optout_normalize(in, out, sizeof out) < 0 || strcmp(out, want) != 0) {
        print_error("fold [%s]: want [%s], got [%s]\n", in, want, out);
        return 1;
    }
    return 0;
}

static void fold_from_data_file(void **state)
{
    (void)state;
    int cases = 0;
    assert_int_equal(each_case("tests/data/optout/fold.tsv", fold_case, NULL, &cases), 0);
    assert_true(cases >= 25);
}

/* The rules the migration seeds, read from it: ('text', 'kind', 'action') tuples. */
struct seeds {
    struct optout_rule v[64];
    char text[64][OPTOUT_RULE_MAX + 1];
    size_t n;
};

static void seeds_load(struct seeds *sd)
{
    FILE *f = fopen("sql/110_person_identity.sql", "r");
    assert_non_null(f);
    static char buf[65536];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    char *p = strstr(buf, "INSERT IGNORE INTO opt_out_keywords");
    assert_non_null(p);
    char *end = strchr(p, ';');
    assert_non_null(end);
    *end = '\0';
    sd->n = 0;
    while ((p = strchr(p, '(')) != NULL && sd->n < 64) {
        char t[OPTOUT_RULE_MAX + 1], k[16], a[16];
        if (sscanf(p, "('%64[^']', '%15[^']', '%15[^']')", t, k, a) == 3) {
            snprintf(sd->text[sd->n], sizeof sd->text[sd->n], "%s", t);
            sd->v[sd->n].text = sd->text[sd->n];
            sd->v[sd->n].kind = strcmp(k, "phrase") == 0 ? OPTOUT_PHRASE : OPTOUT_KEYWORD;
            sd->v[sd->n].action = strcmp(a, "resume") == 0 ? OPTOUT_RESUME : OPTOUT_STOP;
            sd->n++;
        }
        p++;
    }
    assert_true(sd->n >= 10);
}

static int classify_case(const char *in, const char *want, void *ctx)
{
    struct seeds *sd = ctx;
    long which;
    enum optout_action a = optout_classify(in, sd->v, sd->n, &which);
    const char *got = a == OPTOUT_STOP ? "stop" : a == OPTOUT_RESUME ? "resume" : "none";
    if (strcmp(got, want) != 0) {
        print_error("classify [%s]: want %s, got %s (rule %ld)\n", in, want, got, which);
        return 1;
    }
    return 0;
}

static void classify_from_data_file(void **state)
{
    (void)state;
    static struct seeds sd;
    seeds_load(&sd);
    int cases = 0;
    assert_int_equal(each_case("tests/data/optout/classify.tsv", classify_case, &sd, &cases), 0);
    assert_true(cases >= 20);
}

static void classify_edges(void **state)
{
    (void)state;
    const struct optout_rule r[] = {{"no quiero recibir", OPTOUT_PHRASE, OPTOUT_STOP},
                                    {"start", OPTOUT_KEYWORD, OPTOUT_RESUME},
                                    {NULL, OPTOUT_KEYWORD, OPTOUT_STOP},
                                    {"!!!", OPTOUT_KEYWORD, OPTOUT_STOP}};
    long which = 7;
    assert_int_equal(optout_classify(NULL, r, 4, &which), OPTOUT_NONE);
    assert_int_equal(which, -1);
    assert_int_equal(optout_classify("!!!", r, 4, &which), OPTOUT_NONE); /* folds to nothing */
    assert_int_equal(optout_classify("START", r, 4, &which), OPTOUT_RESUME);
    assert_int_equal(which, 1);
    /* a phrase deep in a long message still counts; one cut at OPTOUT_TEXT_MAX does not */
    static char big[OPTOUT_TEXT_MAX + 64];
    memset(big, 'a', sizeof big);
    memcpy(big + 100, " no quiero recibir ", 19);
    big[sizeof big - 1] = '\0';
    assert_int_equal(optout_classify(big, r, 4, &which), OPTOUT_STOP);
    memset(big, 'a', sizeof big);
    memcpy(big + OPTOUT_TEXT_MAX - 5, " no quiero recibir", 18);
    big[sizeof big - 1] = '\0';
    assert_int_equal(optout_classify(big, r, 4, &which), OPTOUT_NONE);
    /* invalid UTF-8 is dropped, not matched through */
    assert_int_equal(optout_classify("st\xC3op", r, 4, &which), OPTOUT_NONE);
    assert_int_equal(optout_classify("\xFF"
                                     "start\xC0",
                                     r, 4, &which),
                     OPTOUT_RESUME);
}

static void rule_check(void **state)
{
    (void)state;
    char out[OPTOUT_RULE_MAX + 1];
    const char *why = NULL;
    assert_int_equal(optout_rule_check("No quiero RECIBIR", out, &why), 0);
    assert_string_equal(out, "no quiero recibir");
    assert_int_equal(optout_rule_check("", out, &why), -1);
    assert_non_null(why);
    assert_int_equal(optout_rule_check(NULL, out, &why), -1);
    assert_int_equal(optout_rule_check("¡¿...?!", out, &why), -1);
    char big[OPTOUT_RULE_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(optout_rule_check(big, out, &why), -1);
    big[OPTOUT_RULE_MAX] = '\0';
    assert_int_equal(optout_rule_check(big, out, &why), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalize_folds_case_accents_and_spaces),
        cmocka_unit_test(normalize_reports_small_buffers),
        cmocka_unit_test(default_keywords_match),
        cmocka_unit_test(other_texts_do_not),
        cmocka_unit_test(configured_list),
        cmocka_unit_test(fold_from_data_file),
        cmocka_unit_test(classify_from_data_file),
        cmocka_unit_test(classify_edges),
        cmocka_unit_test(rule_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
