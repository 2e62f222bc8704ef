/* Unit tests for lib/e164: per-country accepted and rejected forms, idempotence, hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "e164.h"

struct tcase {
    const char *in;
    const char *country;
    int status;
    const char *want; /* when status == E164_OK */
};

/* clang-format off */
#define OK(in, cc, want) { in, cc, E164_OK, want }
#define NO(in, cc, st)   { in, cc, st, NULL }
/* clang-format on */

static const struct tcase cases[] = {
    /* Argentina */
    OK("0387 15 555-1234", "AR", "+5493875551234"),
    OK("387 155551234", "AR", "+5493875551234"),
    OK("(0387) 155-551234", "AR", "+5493875551234"),
    OK("(011) 15-5555-1234", "AR", "+5491155551234"),
    OK("11 5555 1234", "AR", "+5491155551234"),
    OK("011 4555-1234", "AR", "+5491145551234"),
    OK("+54 387 555 1234", "AR", "+5493875551234"),
    OK("+54 9 387 555 1234", "AR", "+5493875551234"),
    OK("5493875551234", "AR", "+5493875551234"),
    OK("543875551234", "AR", "+5493875551234"),
    OK("54 9 11 15 5555 1234", "AR", "+5491155551234"),
    OK("+54 9 11 15 5555-1234", "AR", "+5491155551234"),
    OK("+54 (011) 15 5555-1234", "AR", "+5491155551234"),
    OK("+54 9 (011) 5555-1234", "AR", "+5491155551234"),
    OK("0054 9 11 5555 1234", "AR", "+5491155551234"),
    OK("9 11 5555 1234", "AR", "+5491155551234"),
    OK("09 11 5555 1234", "AR", "+5491155551234"),
    OK("+54 11 15 5555 1234", "MX", "+5491155551234"),
    OK("+54 9 11 5555 1234", NULL, "+5491155551234"),
    OK("0351 15 234-5678", "AR", "+5493512345678"),
    OK("0341 15 612 3456", "AR", "+5493416123456"),
    OK("0261 15 412-3456", "AR", "+5492614123456"),
    OK("0299 15 412 3456", "AR", "+5492994123456"),
    OK("0381 15 412 3456", "AR", "+5493814123456"),
    OK("0388 15 412 3456", "AR", "+5493884123456"),
    /* Bariloche in the old 4-digit and current 3-digit forms is the same number */
    OK("02944 15 42 1234", "AR", "+5492944421234"),
    OK("0294 15 442 1234", "AR", "+5492944421234"),
    /* 4-digit areas that start like a 3-digit one (2202 vs 220, 2302 vs 230) */
    OK("02202 15 45 6789", "AR", "+5492202456789"),
    OK("0220 15 456 7890", "AR", "+5492204567890"),
    OK("02302 15 43 2109", "AR", "+5492302432109"),
    OK("0230 15 443 2109", "AR", "+5492304432109"),
    OK("03482 15 67 8901", "AR", "+5493482678901"),
    OK("02901 15 60 1234", "AR", "+5492901601234"),
    OK("2901 601234", "AR", "+5492901601234"),
    /* an area missing from the 3-digit list still finds its "15" */
    OK("0399 15 123 4567", "AR", "+5493991234567"),
    OK("tel:+54-9-11-5555-1234", "AR", "+5491155551234"),
    NO("15 5555 1234", "AR", E164_BAD_NUMBER),
    /* libphonenumber's AR metadata: 3-digit areas, and 4-digit ones that begin like them */
    OK("+54 9 11 1234 5678", "AR", "+5491112345678"),
    OK("02972 15 41 2345", "AR", "+5492972412345"), /* San Martin de los Andes, 4 digits */
    OK("03435 15 41 2345", "AR", "+5493435412345"), /* 4-digit code inside 343 */
    OK("+54 9 3435 41 2345", "AR", "+5493435412345"),
    OK("0223 15 412 3456", "AR", "+5492234123456"), /* Mar del Plata */
    OK("0264 15 412 3456", "AR", "+5492644123456"), /* San Juan */
    OK("0280 15 412 3456", "AR", "+5492804123456"), /* Trelew */
    OK("0376 15 412 3456", "AR", "+5493764123456"), /* Posadas */
    OK("0379 15 412 3456", "AR", "+5493794123456"), /* Corrientes */
    NO("0387 15 555 123", "AR", E164_TOO_SHORT),
    NO("387 555 123", "AR", E164_TOO_SHORT),
    NO("0387 4 555 12345", "AR", E164_TOO_LONG),
    NO("+54 5 387 555 1234", "AR", E164_BAD_NUMBER),
    NO("4387 555 1234", "AR", E164_BAD_NUMBER),
    NO("12 3456 7890", "AR", E164_BAD_NUMBER),
    NO("5 11 5555 1234", "AR", E164_BAD_NUMBER),
    NO("+54 9 11 5555 12345", "AR", E164_TOO_LONG),
    NO("+54 11 5555 123", "AR", E164_TOO_SHORT),
    NO("+54 9 11 15 5555 12345", "AR", E164_TOO_LONG),
    NO("555-1234", "AR", E164_TOO_SHORT),
    NO("0800 333 1234", "AR", E164_BAD_NUMBER),

    /* Mexico */
    OK("+52 1 442 259 1631", "MX", "+524422591631"),
    OK("+521 442 259 1631", "AR", "+524422591631"),
    OK("+52 442 259 1631", "MX", "+524422591631"),
    OK("442 259 1631", "MX", "+524422591631"),
    OK("(55) 1234-5678", "MX", "+525512345678"),
    OK("044 55 1234 5678", "MX", "+525512345678"),
    OK("045 33 1234 5678", "MX", "+523312345678"),
    OK("01 81 1234 5678", "MX", "+528112345678"),
    OK("5215512345678", "MX", "+525512345678"),
    OK("525512345678", "MX", "+525512345678"),
    OK("00 52 1 55 1234 5678", "MX", "+525512345678"),
    NO("55 1234 567", "MX", E164_TOO_SHORT),
    NO("5512 3456", "MX", E164_TOO_SHORT),
    NO("1 55 1234 5678", "MX", E164_TOO_LONG),
    NO("+52 05512345678", "MX", E164_TOO_LONG),
    NO("+52 123 456 7890", "MX", E164_BAD_NUMBER),
    NO("046 55 1234 5678", "MX", E164_TOO_LONG),

    /* Colombia */
    OK("300 123 4567", "CO", "+573001234567"),
    OK("+57 310 555 1234", "CO", "+573105551234"),
    OK("601 234 5678", "CO", "+576012345678"),
    OK("(604) 444 5555", "CO", "+576044445555"),
    OK("573001234567", "CO", "+573001234567"),
    OK("+57 (321) 555-12-34", "ES", "+573215551234"),
    NO("1 234 5678", "CO", E164_TOO_SHORT),
    NO("603 123 4567", "CO", E164_BAD_NUMBER),
    NO("609 123 4567", "CO", E164_BAD_NUMBER),
    NO("200 123 4567", "CO", E164_BAD_NUMBER),
    NO("+57 300 123 45678", "CO", E164_TOO_LONG),

    /* Spain */
    OK("612 34 56 78", "ES", "+34612345678"),
    OK("+34 912 345 678", "ES", "+34912345678"),
    OK("0034 712 345 678", "ES", "+34712345678"),
    OK("34612345678", "ES", "+34612345678"),
    OK("6.12.34.56.78", "ES", "+34612345678"),
    OK("(+34) 612-345-678", "AR", "+34612345678"),
    OK("  612 345 678  ", "es", "+34612345678"),
    NO("512 345 678", "ES", E164_BAD_NUMBER),
    NO("61234567", "ES", E164_TOO_SHORT),
    NO("6123456789", "ES", E164_TOO_LONG),
    NO("+34 0612 345 678", "ES", E164_TOO_LONG),

    /* NANP */
    OK("(415) 555-2671", "US", "+14155552671"),
    OK("1-415-555-2671", "US", "+14155552671"),
    OK("415.555.2671", "US", "+14155552671"),
    OK("+1 416 555 0123", "CA", "+14165550123"),
    OK("416-555-0123", "CA", "+14165550123"),
    OK("787 555 1234", "PR", "+17875551234"),
    OK("+1 (809) 555-1234", "AR", "+18095551234"),
    OK("011 54 9 11 5555 1234", "US", "+5491155551234"),
    NO("(015) 555-2671", "US", E164_BAD_NUMBER),
    NO("415 155 2671", "US", E164_BAD_NUMBER),
    NO("411 555 1234", "US", E164_BAD_NUMBER),
    NO("415 911 1234", "US", E164_BAD_NUMBER),
    NO("555-2671", "US", E164_TOO_SHORT),
    NO("+1 1 415 555 2671", "US", E164_TOO_LONG),
    NO("2 415 555 2671", "US", E164_TOO_LONG),

    /* Chile */
    OK("9 8765 4321", "CL", "+56987654321"),
    OK("+56 9 8765 4321", "CL", "+56987654321"),
    OK("09 8765 4321", "CL", "+56987654321"),
    OK("2 2123 4567", "CL", "+56221234567"),
    OK("56987654321", "CL", "+56987654321"),
    NO("8765 4321", "CL", E164_TOO_SHORT),
    NO("1 2345 6789", "CL", E164_BAD_NUMBER),
    NO("+56 9 8765 43210", "CL", E164_TOO_LONG),

    /* Peru */
    OK("987 654 321", "PE", "+51987654321"),
    OK("+51 987 654 321", "PE", "+51987654321"),
    OK("(01) 234 5678", "PE", "+5112345678"),
    OK("044 123456", "PE", "+5144123456"),
    OK("51987654321", "PE", "+51987654321"),
    NO("98 765 432", "PE", E164_TOO_SHORT),
    NO("387 654 321", "PE", E164_BAD_NUMBER),
    NO("+51 9876 543 210", "PE", E164_TOO_LONG),

    /* Uruguay */
    OK("099 123 456", "UY", "+59899123456"),
    OK("+598 99 123 456", "UY", "+59899123456"),
    OK("+598 099 123 456", "AR", "+59899123456"),
    OK("2900 1234", "UY", "+59829001234"),
    OK("4722 1234", "UY", "+59847221234"),
    OK("59899123456", "UY", "+59899123456"),
    NO("099 123 45", "UY", E164_BAD_NUMBER),
    NO("3123 4567", "UY", E164_BAD_NUMBER),
    NO("099 123 4567", "UY", E164_TOO_LONG),

    /* Brazil */
    OK("(11) 91234-5678", "BR", "+5511912345678"),
    OK("+55 11 91234 5678", "BR", "+5511912345678"),
    OK("011 91234-5678", "BR", "+5511912345678"),
    OK("0 21 11 91234 5678", "BR", "+5511912345678"),
    OK("(21) 2345-6789", "BR", "+552123456789"),
    OK("(21) 8765-4321", "BR", "+5521987654321"),
    OK("5511912345678", "BR", "+5511912345678"),
    NO("(20) 91234-5678", "BR", E164_BAD_NUMBER),
    NO("(11) 81234-5678", "BR", E164_BAD_NUMBER),
    NO("(11) 1234-5678", "BR", E164_BAD_NUMBER),
    NO("91234-5678", "BR", E164_TOO_SHORT),

    /* other countries: trunk prefix and length only */
    OK("030 1234567", "DE", "+49301234567"),
    OK("+49 (0)30 1234567", "DE", "+49301234567"),
    OK("0151 12345678", "DE", "+4915112345678"),
    OK("07911 123456", "GB", "+447911123456"),
    OK("+44 (0)7911 123456", "AR", "+447911123456"),
    OK("06 1234 5678", "IT", "+390612345678"),
    OK("+39 06 1234 5678", "IT", "+390612345678"),
    OK("+39 (0)6 1234 5678", "IT", "+390612345678"),
    OK("06 12 34 56 78", "FR", "+33612345678"),
    OK("8 916 123-45-67", "RU", "+79161234567"),
    OK("+7 916 123 45 67", "RU", "+79161234567"),
    OK("06 30 123 4567", "HU", "+36301234567"),
    OK("0414 123 4567", "VE", "+584141234567"),
    OK("099 123 4567", "EC", "+593991234567"),
    OK("7123 4567", "BO", "+59171234567"),
    OK("0981 123456", "PY", "+595981123456"),
    OK("5512 3456", "GT", "+50255123456"),
    OK("8888 8888", "CR", "+50688888888"),
    OK("6123 4567", "PA", "+50761234567"),
    OK("05 212 3456", "CU", "+5352123456"),
    OK("+49 123456", "DE", "+49123456"),
    OK("+49 1234567890123", "DE", "+491234567890123"),
    OK("+882 1234 5678", "DE", "+88212345678"),
    NO("+49 12345", "DE", E164_TOO_SHORT),
    NO("+49 12345678901234", "DE", E164_TOO_LONG),
    NO("+86 123456789012345", "CN", E164_TOO_LONG),
    NO("+999 1234 5678", "AR", E164_BAD_COUNTRY),
    NO("+0 123456789", "AR", E164_BAD_COUNTRY),
    NO("+28 1234 5678", "AR", E164_BAD_COUNTRY),
    NO("+1 234567", "US", E164_TOO_SHORT),
    NO("1234 5678", "ZZ", E164_BAD_COUNTRY),
    NO("1234 5678", NULL, E164_BAD_COUNTRY),
    NO("1234 5678", "ARG", E164_BAD_COUNTRY),
    NO("1234 5678", "", E164_BAD_COUNTRY),
    NO("1234 5678", "A1", E164_BAD_COUNTRY),

    /* hostile or messy input */
    NO("", "AR", E164_EMPTY),
    NO("   ", "AR", E164_EMPTY),
    NO("()--..", "AR", E164_EMPTY),
    NO("tel:", "AR", E164_EMPTY),
    NO("+", "AR", E164_TOO_SHORT),
    OK("TEL:+5491155551234", "AR", "+5491155551234"),
    OK("\t+54 9 11 5555 1234\t", "AR", "+5491155551234"),
    NO("+54 9 11 5555 1234 ext 2", "AR", E164_BAD_CHARS),
    NO("11 5555 1234 a", "AR", E164_BAD_CHARS),
    NO("abc", "AR", E164_BAD_CHARS),
    NO("++54 9 11 5555 1234", "AR", E164_BAD_CHARS),
    NO("54+9 11 5555 1234", "AR", E164_BAD_CHARS),
    NO("5.49116E+12", "AR", E164_BAD_CHARS),
    NO("11 5555/1234", "AR", E164_BAD_CHARS),
    NO("11 5555 1234#", "AR", E164_BAD_CHARS),
    NO("tel:tel:+5491155551234", "AR", E164_BAD_CHARS),
    NO("x+5491155551234", "AR", E164_BAD_CHARS),
    NO("\r\n", "AR", E164_BAD_CHARS),
    /* no-break spaces, narrow no-break spaces, en dashes and minus signs from spreadsheets */
    OK("+54\xC2\xA0"
       "9\xC2\xA0"
       "11\xE2\x80\xAF"
       "5555\xE2\x80\x93"
       "1234",
       "AR", "+5491155551234"),
    OK("\xC2\xA0"
       "11\xE2\x88\x92"
       "5555\xE2\x80\x90"
       "1234",
       "AR", "+5491155551234"),
    NO("\xD9\xA1\xD9\xA1 5555 1234", "AR", E164_BAD_CHARS),         /* Arabic-Indic digits */
    NO("\xEF\xBC\x91\xEF\xBC\x91 5555 1234", "AR", E164_BAD_CHARS), /* fullwidth digits */
    NO("11 5555 1234\xC2", "AR", E164_BAD_CHARS),                   /* truncated UTF-8 */
    NO("11 5555 1234\xE2\x80", "AR", E164_BAD_CHARS),
    NO("\xF0\x9F\x93\xB1 11 5555 1234", "AR", E164_BAD_CHARS), /* emoji */
    NO("\xFF\xFE"
       "1\0001\000",
       "AR", E164_BAD_CHARS),
    NO("11 5555 1234 \xC3\xB1", "AR", E164_BAD_CHARS),
};

static void test_cases(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct tcase *t = &cases[i];
        char out[E164_MAX + 1];
        memset(out, 'x', sizeof out);
        int r = e164_normalize(t->in, strlen(t->in), t->country, out);
        if (r != t->status || (r == E164_OK && strcmp(out, t->want) != 0) ||
            (r != E164_OK && out[0] != '\0')) {
            fprintf(stderr, "case %zu: \"%s\" (%s): got %d \"%s\", want %d \"%s\"\n", i, t->in,
                    t->country ? t->country : "NULL", r, r == E164_OK ? out : "", t->status,
                    t->want ? t->want : "");
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

/* Normalizing a normalized number gives itself, whatever the default country. */
static void test_idempotent(void **state)
{
    (void)state;
    static const char *const countries[] = {"AR", "MX", "CO", "ES", "US", "CL", "PE",
                                            "UY", "BR", "DE", "IT", "ZZ", NULL};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].status != E164_OK)
            continue;
        for (size_t k = 0; k < sizeof countries / sizeof countries[0]; k++) {
            char out[E164_MAX + 1];
            int r = e164_normalize(cases[i].want, strlen(cases[i].want), countries[k], out);
            if (r != E164_OK || strcmp(out, cases[i].want) != 0)
                fprintf(stderr, "%s (%s): got %d %s\n", cases[i].want,
                        countries[k] ? countries[k] : "NULL", r, out);
            assert_int_equal(r, E164_OK);
            assert_string_equal(out, cases[i].want);
            /* "00" instead of "+" is the same number */
            char zz[E164_MAX + 2];
            snprintf(zz, sizeof zz, "00%s", cases[i].want + 1);
            r = e164_normalize(zz, strlen(zz), countries[k], out);
            assert_int_equal(r, E164_OK);
            assert_string_equal(out, cases[i].want);
        }
    }
}

static void test_length_is_respected(void **state)
{
    (void)state;
    char out[E164_MAX + 1];
    /* only the first len bytes count: the rest of the buffer is never read */
    const char *s = "+5491155551234999";
    assert_int_equal(e164_normalize(s, 14, "AR", out), E164_OK);
    assert_string_equal(out, "+5491155551234");
    /* NUL bytes inside the length are invalid characters, not terminators */
    const char nul[] = "+54911\0"
                       "55551234";
    assert_int_equal(e164_normalize(nul, sizeof nul - 1, "AR", out), E164_BAD_CHARS);
    assert_string_equal(out, "");
    assert_int_equal(e164_normalize(NULL, 0, "AR", out), E164_EMPTY);
    assert_int_equal(e164_normalize(NULL, 5, "AR", out), E164_EMPTY);
    assert_int_equal(e164_normalize("1155551234", 0, "AR", out), E164_EMPTY);
}

static void test_huge_input(void **state)
{
    (void)state;
    size_t n = 4u << 20;
    char *buf = malloc(n);
    assert_non_null(buf);
    char out[E164_MAX + 1];

    memset(buf, '1', n);
    assert_int_equal(e164_normalize(buf, n, "AR", out), E164_TOO_LONG);
    buf[n - 1] = 'x';
    assert_int_equal(e164_normalize(buf, n, "AR", out), E164_BAD_CHARS);

    memset(buf, ' ', n);
    assert_int_equal(e164_normalize(buf, n, "AR", out), E164_EMPTY);
    memcpy(buf + n - 14, "+5491155551234", 14);
    assert_int_equal(e164_normalize(buf, n, "AR", out), E164_OK);
    assert_string_equal(out, "+5491155551234");

    memset(buf, '-', n);
    assert_int_equal(e164_normalize(buf, n, "AR", out), E164_EMPTY);

    /* every byte value, alone, never crashes and never yields a number */
    for (int c = 0; c < 256; c++) {
        char b = (char)c;
        int r = e164_normalize(&b, 1, "AR", out);
        assert_true(r < 0);
        assert_string_equal(out, "");
    }
    free(buf);
}

/* Random bytes and random mutations of valid numbers: never crashes, output well-formed. */
static void test_fuzz(void **state)
{
    (void)state;
    static const char alphabet[] = "0123456789+-. ()9150+tel:\xC2\xA0\xE2\x80\x93x";
    uint32_t seed = 12345;
    char in[40], out[E164_MAX + 1];
    for (int iter = 0; iter < 200000; iter++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 16) % sizeof in;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] =
                (iter & 1) ? alphabet[(seed >> 16) % (sizeof alphabet - 1)] : (char)(seed >> 16);
        }
        static const char *const cs[] = {"AR", "MX", "CO", "ES", "US",
                                         "CL", "PE", "UY", "BR", "DE"};
        const char *cc = cs[iter % 10];
        int r = e164_normalize(in, n, cc, out);
        if (r == E164_OK) {
            size_t len = strlen(out);
            assert_true(len >= 9 && len <= E164_MAX);
            assert_true(out[0] == '+');
            for (size_t i = 1; i < len; i++)
                assert_true(out[i] >= '0' && out[i] <= '9');
            char again[E164_MAX + 1];
            assert_int_equal(e164_normalize(out, len, cc, again), E164_OK);
            assert_string_equal(again, out);
        } else {
            assert_true(r >= E164_BAD_NUMBER && r <= E164_EMPTY);
            assert_string_equal(out, "");
        }
    }
}

static void test_country_codes(void **state)
{
    (void)state;
    assert_int_equal(e164_country_calling_code("AR"), 54);
    assert_int_equal(e164_country_calling_code("ar"), 54);
    assert_int_equal(e164_country_calling_code("Mx"), 52);
    assert_int_equal(e164_country_calling_code("CO"), 57);
    assert_int_equal(e164_country_calling_code("ES"), 34);
    assert_int_equal(e164_country_calling_code("US"), 1);
    assert_int_equal(e164_country_calling_code("CA"), 1);
    assert_int_equal(e164_country_calling_code("CL"), 56);
    assert_int_equal(e164_country_calling_code("PE"), 51);
    assert_int_equal(e164_country_calling_code("UY"), 598);
    assert_int_equal(e164_country_calling_code("BR"), 55);
    assert_int_equal(e164_country_calling_code("VE"), 58);
    assert_int_equal(e164_country_calling_code("BO"), 591);
    assert_int_equal(e164_country_calling_code("PY"), 595);
    assert_int_equal(e164_country_calling_code("EC"), 593);
    assert_int_equal(e164_country_calling_code("GB"), 44);
    assert_int_equal(e164_country_calling_code("KZ"), 7);
    assert_int_equal(e164_country_calling_code("XK"), 383);
    assert_int_equal(e164_country_calling_code("ZZ"), 0);
    assert_int_equal(e164_country_calling_code("BV"), 0);
    assert_int_equal(e164_country_calling_code(""), 0);
    assert_int_equal(e164_country_calling_code("A"), 0);
    assert_int_equal(e164_country_calling_code("ARG"), 0);
    assert_int_equal(e164_country_calling_code("A\xC3"), 0);
    assert_int_equal(e164_country_calling_code(NULL), 0);

    /* every country we know maps to an assigned code */
    int known = 0;
    for (char a = 'A'; a <= 'Z'; a++) {
        for (char b = 'A'; b <= 'Z'; b++) {
            char iso[3] = {a, b, 0};
            int cc = e164_country_calling_code(iso);
            if (cc) {
                known++;
                assert_true(e164_cc_assigned(cc));
            }
        }
    }
    assert_true(known >= 240);

    assert_true(e164_cc_assigned(1));
    assert_true(e164_cc_assigned(598));
    assert_true(e164_cc_assigned(800));
    assert_false(e164_cc_assigned(0));
    assert_false(e164_cc_assigned(28));
    assert_false(e164_cc_assigned(999));
    assert_false(e164_cc_assigned(1000));
    assert_false(e164_cc_assigned(-1));
}

static void test_messages(void **state)
{
    (void)state;
    static const int all[] = {E164_OK,       E164_EMPTY,       E164_BAD_CHARS, E164_TOO_SHORT,
                              E164_TOO_LONG, E164_BAD_COUNTRY, E164_BAD_NUMBER};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        assert_non_null(e164_strerror(all[i]));
        assert_non_null(e164_reason_code(all[i]));
        assert_int_equal(strncmp(e164_reason_code(all[i]), "phone_", 6), 0);
        for (size_t k = 0; k < i; k++) {
            assert_string_not_equal(e164_strerror(all[i]), e164_strerror(all[k]));
            assert_string_not_equal(e164_reason_code(all[i]), e164_reason_code(all[k]));
        }
    }
    assert_string_equal(e164_strerror(E164_TOO_SHORT), "too short");
    assert_string_equal(e164_reason_code(E164_TOO_SHORT), "phone_too_short");
    assert_non_null(e164_strerror(42));
    assert_non_null(e164_reason_code(-42));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_idempotent),
        cmocka_unit_test(test_length_is_respected),
        cmocka_unit_test(test_huge_input),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_country_codes),
        cmocka_unit_test(test_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
