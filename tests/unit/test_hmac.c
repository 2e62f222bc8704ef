/* Unit tests for lib/hmac.c: RFC 4231 vectors and X-Hub-Signature-256 verification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hmac.h"

static void check_hex(const void *key, size_t keylen, const void *msg, size_t len, const char *want)
{
    char out[65];

    assert_int_equal(hmac_sha256_hex(key, keylen, msg, len, out), 0);
    assert_string_equal(out, want);
}

static void test_rfc4231(void **state)
{
    unsigned char k[131], d[50];
    (void)state;

    memset(k, 0x0b, 20); /* case 1 */
    check_hex(k, 20, "Hi There", 8,
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    check_hex("Jefe", 4, "what do ya want for nothing?", 28, /* case 2 */
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(k, 0xaa, 20); /* case 3 */
    memset(d, 0xdd, 50);
    check_hex(k, 20, d, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    for (int i = 0; i < 25; i++) /* case 4 */
        k[i] = (unsigned char)(i + 1);
    memset(d, 0xcd, 50);
    check_hex(k, 25, d, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    memset(k, 0xaa, 131); /* case 6: key longer than the block, hashed first */
    check_hex(k, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    const char *m7 = "This is a test using a larger than block-size key and a larger than "
                     "block-size data. The key needs to be hashed before being used by the "
                     "HMAC algorithm.";
    check_hex(k, 131, m7, strlen(m7), /* case 7 */
              "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

static void test_hex_bad_args(void **state)
{
    char out[65] = "x";
    (void)state;
    assert_int_equal(hmac_sha256_hex(NULL, 3, "a", 1, out), -1);
    assert_string_equal(out, "");
    assert_int_equal(hmac_sha256_hex((const unsigned char *)"k", 1, NULL, 1, out), -1);
    /* NULL with zero length is an empty key / empty message. */
    assert_int_equal(hmac_sha256_hex((const unsigned char *)"secret", 6, NULL, 0, out), 0);
    assert_string_equal(out, "f9e66e179b6747ae54108f82f8ade8b3c25d76fd30afde6c395822c530196169");
    assert_int_equal(hmac_sha256_hex(NULL, 0, "", 0, out), 0);
    assert_int_equal(strlen(out), 64);
}

#define SECRET     "6b1c0e3a9f0d4e7c8a2b5d1f3e9c7a40"
#define SECRET_LEN (sizeof SECRET - 1)
static const char meta_body[] =
    "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"102290129340398\","
    "\"changes\":[{\"value\":{\"messaging_product\":\"whatsapp\",\"statuses\":[{\"id\":"
    "\"wamid.HBgN\",\"status\":\"read\"}]},\"field\":\"messages\"}]}]}";
#define META_SIG "cd03930276e26ce9d80fc90e8157f605ae1c3a9051a429f08b041cab5248c6aa"

static int verify_meta(const char *header)
{
    return hmac_verify(header, (const unsigned char *)SECRET, SECRET_LEN, meta_body,
                       sizeof meta_body - 1);
}

static void test_verify_meta_header(void **state)
{
    (void)state;
    assert_int_equal(verify_meta("sha256=" META_SIG), HMAC_OK);
    /* hmac_sha256_hex agrees with the header Meta would send. */
    char out[65];
    assert_int_equal(hmac_sha256_hex((const unsigned char *)SECRET, SECRET_LEN, meta_body,
                                     sizeof meta_body - 1, out),
                     0);
    assert_string_equal(out, META_SIG);
}

static void test_verify_uppercase_hex(void **state)
{
    char h[80] = "sha256=";
    (void)state;
    for (size_t i = 0; i < 64; i++) {
        char c = META_SIG[i];
        h[7 + i] = (c >= 'a' && c <= 'f') ? (char)(c - 'a' + 'A') : c;
    }
    h[71] = '\0';
    assert_int_equal(verify_meta(h), HMAC_OK);
}

static void test_verify_missing(void **state)
{
    (void)state;
    assert_int_equal(verify_meta(NULL), HMAC_MISSING);
    assert_int_equal(verify_meta(""), HMAC_MISSING);
}

static void test_verify_malformed(void **state)
{
    (void)state;
    assert_int_equal(verify_meta("sha1=" META_SIG), HMAC_MALFORMED);
    assert_int_equal(verify_meta("SHA256=" META_SIG), HMAC_MALFORMED);
    assert_int_equal(verify_meta(META_SIG), HMAC_MALFORMED);
    assert_int_equal(verify_meta(" sha256=" META_SIG), HMAC_MALFORMED);
    assert_int_equal(verify_meta("sha256="), HMAC_MALFORMED);
    /* short: 63 and 62 digits */
    assert_int_equal(
        verify_meta("sha256=cd03930276e26ce9d80fc90e8157f605ae1c3a9051a429f08b041cab5248c6a"),
        HMAC_MALFORMED);
    assert_int_equal(
        verify_meta("sha256=cd03930276e26ce9d80fc90e8157f605ae1c3a9051a429f08b041cab5248c6"),
        HMAC_MALFORMED);
    /* trailing garbage, long, whitespace, non-hex */
    assert_int_equal(verify_meta("sha256=" META_SIG "x"), HMAC_MALFORMED);
    assert_int_equal(verify_meta("sha256=" META_SIG "00"), HMAC_MALFORMED);
    assert_int_equal(verify_meta("sha256=" META_SIG " "), HMAC_MALFORMED);
    assert_int_equal(verify_meta("sha256=" META_SIG "\r\n"), HMAC_MALFORMED);
    assert_int_equal(verify_meta("sha256=" META_SIG ",sha256=" META_SIG), HMAC_MALFORMED);
    assert_int_equal(
        verify_meta("sha256=zd03930276e26ce9d80fc90e8157f605ae1c3a9051a429f08b041cab5248c6aa"),
        HMAC_MALFORMED);
    assert_int_equal(
        verify_meta("sha256=cd039302 6e26ce9d80fc90e8157f605ae1c3a9051a429f08b041cab5248c6aa"),
        HMAC_MALFORMED);
}

static void test_verify_mismatch(void **state)
{
    (void)state;
    /* last digit changed */
    assert_int_equal(
        verify_meta("sha256=cd03930276e26ce9d80fc90e8157f605ae1c3a9051a429f08b041cab5248c6ab"),
        HMAC_MISMATCH);
    /* body changed by one byte */
    char copy[sizeof meta_body];
    memcpy(copy, meta_body, sizeof copy);
    copy[10] ^= 1;
    assert_int_equal(hmac_verify("sha256=" META_SIG, (const unsigned char *)SECRET, SECRET_LEN,
                                 copy, sizeof copy - 1),
                     HMAC_MISMATCH);
    /* body with one extra byte (the NUL) */
    assert_int_equal(hmac_verify("sha256=" META_SIG, (const unsigned char *)SECRET, SECRET_LEN,
                                 meta_body, sizeof meta_body),
                     HMAC_MISMATCH);
    /* other key */
    assert_int_equal(hmac_verify("sha256=" META_SIG, (const unsigned char *)"other", 5, meta_body,
                                 sizeof meta_body - 1),
                     HMAC_MISMATCH);
    /* an unset secret never verifies, even with the signature of the empty key */
    char out[65], h[80];
    assert_int_equal(hmac_sha256_hex(NULL, 0, meta_body, sizeof meta_body - 1, out), 0);
    strcpy(h, "sha256=");
    strcat(h, out);
    assert_int_equal(hmac_verify(h, NULL, 0, meta_body, sizeof meta_body - 1), HMAC_MISMATCH);
    assert_int_equal(hmac_verify(h, (const unsigned char *)"", 0, meta_body, sizeof meta_body - 1),
                     HMAC_MISMATCH);
}

static void test_verify_empty_body(void **state)
{
    (void)state;
    const char *h = "sha256=f9e66e179b6747ae54108f82f8ade8b3c25d76fd30afde6c395822c530196169";
    assert_int_equal(hmac_verify(h, (const unsigned char *)"secret", 6, "", 0), HMAC_OK);
    assert_int_equal(hmac_verify(h, (const unsigned char *)"secret", 6, NULL, 0), HMAC_OK);
    assert_int_equal(hmac_verify(h, (const unsigned char *)"secret", 6, " ", 1), HMAC_MISMATCH);
}

static void test_verify_3mb_body(void **state)
{
    size_t n = 3u * 1024 * 1024;
    unsigned char *big = malloc(n);
    (void)state;
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)((i * 7 + 3) & 0xff);
    const char *h = "sha256=9691c10fb31767140e138c5fdc2d842bbdfd831b0a751ae437232ab56c9e3b70";
    assert_int_equal(hmac_verify(h, (const unsigned char *)SECRET, SECRET_LEN, big, n), HMAC_OK);
    big[n - 1] ^= 0x80;
    assert_int_equal(hmac_verify(h, (const unsigned char *)SECRET, SECRET_LEN, big, n),
                     HMAC_MISMATCH);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4231),
        cmocka_unit_test(test_hex_bad_args),
        cmocka_unit_test(test_verify_meta_header),
        cmocka_unit_test(test_verify_uppercase_hex),
        cmocka_unit_test(test_verify_missing),
        cmocka_unit_test(test_verify_malformed),
        cmocka_unit_test(test_verify_mismatch),
        cmocka_unit_test(test_verify_empty_body),
        cmocka_unit_test(test_verify_3mb_body),
    };
    return cmocka_run_group_tests_name("hmac", tests, NULL, NULL);
}
