/* Password policy, e-mail addresses, roles, Argon2id hashes, session and CSRF tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "userauth.h"

static void roles(void **state)
{
    (void)state;
    assert_int_equal(userauth_role_parse("viewer"), USERAUTH_VIEWER);
    assert_int_equal(userauth_role_parse("admin"), USERAUTH_ADMIN);
    assert_int_equal(userauth_role_parse("superadmin"), USERAUTH_SUPERADMIN);
    assert_int_equal(userauth_role_parse("Admin"), -1);
    assert_int_equal(userauth_role_parse("anonymous"), -1);
    assert_int_equal(userauth_role_parse(""), -1);
    assert_int_equal(userauth_role_parse(NULL), -1);
    assert_string_equal(userauth_role_name(USERAUTH_ADMIN), "admin");
    assert_string_equal(userauth_role_name(0), "anonymous");
    assert_string_equal(userauth_role_name(99), "anonymous");
}

static void emails(void **state)
{
    (void)state;
    char out[USERAUTH_EMAIL_MAX + 1];
    assert_int_equal(userauth_email_normalize("  Ana.Perez@Escuela.EDU.ar \n", out, sizeof out), 0);
    assert_string_equal(out, "ana.perez@escuela.edu.ar");
    assert_int_equal(userauth_email_normalize("josé@correo.ar", out, sizeof out), 0);
    static const char *const bad[] = {"",       "a",     "@x",    "x@",    "a@b@c",    "a b@c",
                                      "a@b\tc", "<a@b>", "a\"@b", "a@b;c", "\xff@x.y", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(userauth_email_normalize(bad[i], out, sizeof out), -1);
        assert_string_equal(out, "");
    }
    char longer[300];
    memset(longer, 'a', sizeof longer);
    longer[10] = '@';
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(userauth_email_normalize(longer, out, sizeof out), -1);
}

static void policy(void **state)
{
    (void)state;
    const char *why = NULL;
    assert_int_equal(userauth_password_check("correct horse", 13, "a@b.c", &why), 0);
    assert_int_equal(userauth_password_check("ñandú ñandú", strlen("ñandú ñandú"), NULL, &why), 0);
    assert_int_equal(userauth_password_check("short", 5, NULL, &why), -1);
    assert_non_null(why);
    /* ten bytes but five characters */
    assert_int_equal(userauth_password_check("ññññá", strlen("ññññá"), NULL, &why), -1);
    assert_int_equal(userauth_password_check("aaaaaaaaaaaa", 12, NULL, &why), -1);
    assert_int_equal(userauth_password_check("Ana@Escuela.ar", 14, "ana@escuela.ar", &why), -1);
    assert_int_equal(userauth_password_check("with\nnewline!", 13, NULL, &why), -1);
    assert_int_equal(userauth_password_check("nul\0inside12", 12, NULL, &why), -1);
    assert_int_equal(userauth_password_check("bad utf8 \xff\xfe!!", 13, NULL, &why), -1);
    assert_int_equal(userauth_password_check(NULL, 0, NULL, &why), -1);
    char big[USERAUTH_PASSWORD_MAX + 2];
    unsigned x = 17;
    for (size_t i = 0; i < sizeof big; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)('!' + (x >> 16) % 90);
    }
    assert_int_equal(userauth_password_check(big, sizeof big, NULL, &why), -1);
    assert_int_equal(userauth_password_check(big, USERAUTH_PASSWORD_MAX, NULL, &why), 0);
    /* ASVS 2.1.7: known, common or easily guessed passwords (cracklib) */
    static const char *common[] = {"Password123", "password123", "qwertyuiop", "iloveyou99",
                                   "1234567890",  "abcdefghijk", "zxcvbnm123"};
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) {
        why = NULL;
        if (userauth_password_check(common[i], strlen(common[i]), NULL, &why) != USERAUTH_PW_COMMON)
            fail_msg("%s accepted", common[i]);
        assert_non_null(strstr(why, "common"));
    }
    assert_string_equal(userauth_password_error_code(USERAUTH_PW_COMMON), "breached_password");
    assert_string_equal(userauth_password_error_code(-1), "weak_password");
    static const char *fine[] = {"correct horse battery staple", "otra clave segura",
                                 "Robótica 2024 en Salta", "ñandú-azul-del-río"};
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
        if (userauth_password_check(fine[i], strlen(fine[i]), NULL, &why) != 0)
            fail_msg("%s refused: %s", fine[i], why);
}

static void hashes(void **state)
{
    (void)state;
    char h[USERAUTH_HASH_MAX], h2[USERAUTH_HASH_MAX];
    assert_int_equal(userauth_password_hash("correct horse", 13, h), 0);
    assert_int_equal(strncmp(h, "$argon2id$", 10), 0);
    assert_int_equal(userauth_password_hash("correct horse", 13, h2), 0);
    assert_string_not_equal(h, h2); /* salted */
    int rehash = -1;
    assert_int_equal(userauth_password_verify(h, "correct horse", 13, &rehash), 1);
    assert_int_equal(rehash, 0);
    assert_int_equal(userauth_password_verify(h, "correct horsE", 13, NULL), 0);
    assert_int_equal(userauth_password_verify(h, "correct horse", 12, NULL), 0);
    assert_int_equal(userauth_password_verify("", "x", 1, NULL), 0);
    assert_int_equal(userauth_password_verify("$argon2id$garbage", "x", 1, NULL), 0);
    assert_int_equal(userauth_password_verify(NULL, "x", 1, NULL), 0);
    userauth_password_dummy("anything", 8);
}

static void tokens(void **state)
{
    (void)state;
    unsigned char raw[USERAUTH_TOKEN_BYTES], raw2[USERAUTH_TOKEN_BYTES];
    char text[USERAUTH_TOKEN_TEXT], text2[USERAUTH_TOKEN_TEXT];
    userauth_token_new(raw, text);
    userauth_token_new(raw2, text2);
    assert_int_equal(strlen(text), 43);
    assert_string_not_equal(text, text2);
    unsigned char back[USERAUTH_TOKEN_BYTES];
    assert_int_equal(userauth_token_decode(text, back), 0);
    assert_memory_equal(raw, back, sizeof raw);
    assert_int_equal(userauth_token_decode("", back), -1);
    assert_int_equal(userauth_token_decode(NULL, back), -1);
    char bad[50];
    snprintf(bad, sizeof bad, "%s=", text);
    assert_int_equal(userauth_token_decode(bad, back), -1);
    memcpy(bad, text, sizeof text);
    bad[5] = '+'; /* not base64url */
    assert_int_equal(userauth_token_decode(bad, back), -1);

    char h1[USERAUTH_TOKEN_HASH], h2[USERAUTH_TOKEN_HASH];
    userauth_token_hash(raw, h1);
    userauth_token_hash(raw, h2);
    assert_string_equal(h1, h2);
    assert_int_equal(strlen(h1), 64);
    char c1[USERAUTH_TOKEN_TEXT], c2[USERAUTH_TOKEN_TEXT];
    userauth_csrf_token(raw, c1);
    userauth_csrf_token(raw2, c2);
    assert_string_not_equal(c1, c2);
    assert_string_not_equal(c1, text);
    assert_int_equal(userauth_csrf_equal(c1, c1), 1);
    assert_int_equal(userauth_csrf_equal(c2, c1), 0);
    assert_int_equal(userauth_csrf_equal("", c1), 0);
    assert_int_equal(userauth_csrf_equal(NULL, c1), 0);
    assert_int_equal(userauth_csrf_equal("", ""), 0);
}

/* Throttling: delays grow per (e-mail, address) and per address; only the e-mail's failures
 * from every address together lock it for everyone. Limits: window 900, pair 5, address 30,
 * lock 200. */
static void throttle(void **state)
{
    (void)state;
    const struct userauth_throttle_limits l = {900, 5, 30, 200};
    static const struct {
        long long pair_n, addr_n, acct_n;
        double pair_age, addr_age;
        int wait, why;
    } c[] = {
        {0, 0, 0, 0, 0, 0, USERAUTH_THROTTLE_NONE},
        {4, 4, 4, 0.1, 0.1, 0, USERAUTH_THROTTLE_NONE},
        {5, 5, 5, 0.2, 0.2, 1, USERAUTH_THROTTLE_PAIR},    /* 1 s after the 5th */
        {5, 5, 5, 1.5, 1.5, 0, USERAUTH_THROTTLE_NONE},    /* waited */
        {6, 6, 6, 0.5, 0.5, 2, USERAUTH_THROTTLE_PAIR},    /* 2 s after the 6th */
        {8, 8, 8, 1.0, 1.0, 7, USERAUTH_THROTTLE_PAIR},    /* 8 s after the 8th */
        {40, 40, 40, 10, 10, 890, USERAUTH_THROTTLE_PAIR}, /* capped at the window */
        /* the owner from another address: this address has no failures of theirs */
        {0, 3, 150, 0, 1, 0, USERAUTH_THROTTLE_NONE},
        /* many e-mails sprayed from one address */
        {0, 30, 1, 0, 0.5, 1, USERAUTH_THROTTLE_ADDRESS},
        {0, 33, 1, 0, 0.5, 8, USERAUTH_THROTTLE_ADDRESS},
        /* a distributed attack on one e-mail, far above: locked for everyone */
        {0, 0, 200, 0, 0, 900, USERAUTH_THROTTLE_LOCKED},
        {0, 0, 199, 0, 0, 0, USERAUTH_THROTTLE_NONE},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        struct userauth_throttle t = {c[i].pair_n, c[i].addr_n, c[i].acct_n, c[i].pair_age,
                                      c[i].addr_age};
        int why = -1;
        int w = userauth_throttle_wait(&t, &l, &why);
        if (w != c[i].wait || why != c[i].why)
            fail_msg("case %zu: wait %d why %d, expected %d %d", i, w, why, c[i].wait, c[i].why);
    }
    assert_int_equal(userauth_throttle_wait(&(struct userauth_throttle){0}, &l, NULL), 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roles),  cmocka_unit_test(emails), cmocka_unit_test(policy),
        cmocka_unit_test(hashes), cmocka_unit_test(tokens), cmocka_unit_test(throttle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
