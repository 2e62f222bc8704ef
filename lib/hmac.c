#include "hmac.h"

#include <string.h>

#include <sodium.h>

#define HMAC_PREFIX "sha256="

/* Raw 32-byte HMAC; 0 or -1. */
static int hmac_raw(const unsigned char *key, size_t keylen, const void *msg, size_t len,
                    unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
    static const unsigned char none[1];
    crypto_auth_hmacsha256_state st;

    if ((key == NULL && keylen > 0) || (msg == NULL && len > 0))
        return -1;
    if (sodium_init() < 0)
        return -1;
    /* libsodium declares these pointers nonnull even for zero lengths. */
    if (crypto_auth_hmacsha256_init(&st, key ? key : none, keylen) != 0 ||
        crypto_auth_hmacsha256_update(&st, msg ? msg : none, (unsigned long long)len) != 0 ||
        crypto_auth_hmacsha256_final(&st, mac) != 0) {
        sodium_memzero(&st, sizeof st);
        return -1;
    }
    sodium_memzero(&st, sizeof st);
    return 0;
}

int hmac_sha256_hex(const unsigned char *key, size_t keylen, const void *msg, size_t len,
                    char out[65])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];

    out[0] = '\0';
    if (hmac_raw(key, keylen, msg, len, mac) != 0)
        return -1;
    sodium_bin2hex(out, 65, mac, sizeof mac);
    return 0;
}

int hmac_verify(const char *header, const unsigned char *key, size_t keylen, const void *body,
                size_t len)
{
    unsigned char want[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
    const char *hex;
    size_t hexlen, binlen = 0;
    int rc;

    if (header == NULL || header[0] == '\0')
        return HMAC_MISSING;
    if (strncmp(header, HMAC_PREFIX, sizeof HMAC_PREFIX - 1) != 0)
        return HMAC_MALFORMED;
    hex = header + sizeof HMAC_PREFIX - 1;
    hexlen = strlen(hex);
    /* Exactly 64 digits; with hex_end NULL sodium_hex2bin fails on any non-hex character. */
    if (hexlen != 2 * sizeof got ||
        sodium_hex2bin(got, sizeof got, hex, hexlen, NULL, &binlen, NULL) != 0 ||
        binlen != sizeof got)
        return HMAC_MALFORMED;
    if (keylen == 0 || hmac_raw(key, keylen, body, len, want) != 0)
        return HMAC_MISMATCH;
    rc = sodium_memcmp(want, got, sizeof want) == 0 ? HMAC_OK : HMAC_MISMATCH;
    sodium_memzero(want, sizeof want);
    return rc;
}
