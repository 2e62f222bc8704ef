/* Webhook signatures: HMAC-SHA256 as Meta computes it for X-Hub-Signature-256. */
#ifndef PREGON_HMAC_H
#define PREGON_HMAC_H

#include <stddef.h>

/* HMAC-SHA256 of msg[0..len) keyed with key[0..keylen) (any length, e.g. Meta's App Secret),
   written as 64 lowercase hex digits plus NUL into out. key/msg may be NULL only when their
   length is 0. Returns 0, or -1 (libsodium unusable or bad arguments; out is then ""). */
int hmac_sha256_hex(const unsigned char *key, size_t keylen, const void *msg, size_t len,
                    char out[65]);

enum { HMAC_OK = 0, HMAC_MISSING = -1, HMAC_MALFORMED = -2, HMAC_MISMATCH = -3 };

/* Verifies an X-Hub-Signature-256 header value over the exact raw body, in constant time.
   The header must be exactly "sha256=" followed by 64 hex digits (either case), nothing
   before or after. Returns HMAC_OK, HMAC_MISSING (NULL or empty header), HMAC_MALFORMED
   (anything else that is not that shape) or HMAC_MISMATCH (wrong signature; also when the
   key is empty, so an unset App Secret never accepts anything, and on internal failure). */
int hmac_verify(const char *header, const unsigned char *key, size_t keylen, const void *body,
                size_t len);

#endif
