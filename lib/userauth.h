/* People and their credentials: the password policy, Argon2id password hashes, e-mail
 * addresses as sign-in names, role names, and session/CSRF tokens. Pure functions on top of
 * libsodium (call sodium_init() first), shared by pregon-fcgi and pregonctl. */
#ifndef PREGON_USERAUTH_H
#define PREGON_USERAUTH_H

#include <sodium.h>
#include <stddef.h>

#define USERAUTH_PASSWORD_MIN 10   /* characters */
#define USERAUTH_PASSWORD_MAX 1024 /* bytes: Argon2 takes any length, the policy does not */
#define USERAUTH_EMAIL_MAX    254
#define USERAUTH_HASH_MAX     crypto_pwhash_STRBYTES
#define USERAUTH_TOKEN_BYTES  32 /* 256 random bits */
#define USERAUTH_TOKEN_TEXT   44 /* base64url without padding: 43 characters and NUL */
#define USERAUTH_TOKEN_HASH   65 /* hex of a 32-byte BLAKE2b: 64 characters and NUL */

/* Roles, least to most; the same numbers as enum role in fcgi/http.h. */
enum { USERAUTH_VIEWER = 1, USERAUTH_ADMIN = 2, USERAUTH_SUPERADMIN = 3 };

/* "viewer"/"admin"/"superadmin" -> 1/2/3; -1 for anything else. */
int userauth_role_parse(const char *s);
/* 1/2/3 -> the name; "anonymous" for anything else. Never NULL. */
const char *userauth_role_name(int role);

/* Trims, lowercases (ASCII) and checks an e-mail address used as a sign-in name: 3 to 254
 * bytes of UTF-8 without spaces or control characters, one '@' with something on each side.
 * Returns 0, or -1 (out is then ""). */
int userauth_email_normalize(const char *in, char *out, size_t outlen);

/* The password policy: valid UTF-8 of USERAUTH_PASSWORD_MIN characters or more and at most
 * USERAUTH_PASSWORD_MAX bytes, no control characters, not one repeated character, not the
 * e-mail address (email may be NULL), and not a known, common or easily guessed password
 * (cracklib's dictionary, ASVS 2.1.7: "Password123" is refused). Returns 0, or -1
 * (USERAUTH_PW_COMMON for the last rule) with *why set to a short English reason (static, or
 * this thread's until its next call). The one policy: the API and pregonctl call it. */
#define USERAUTH_PW_COMMON (-2)
int userauth_password_check(const char *pw, size_t len, const char *email, const char **why);
/* The API's error code for a refusal of userauth_password_check: "breached_password" for
 * USERAUTH_PW_COMMON, else "weak_password". */
const char *userauth_password_error_code(int rc);

/* Argon2id (crypto_pwhash_str) with the interactive limits: fast enough for many sign-ins,
 * memory-hard against offline guessing. Returns 0, or -1 (out of memory). */
int userauth_password_hash(const char *pw, size_t len, char out[USERAUTH_HASH_MAX]);
/* Returns 1 when pw matches hash, 0 otherwise (also for a malformed hash). When it matches and
 * needs_rehash is not NULL, *needs_rehash says whether the hash uses other limits. */
int userauth_password_verify(const char *hash, const char *pw, size_t len, int *needs_rehash);
/* Spends the time of one verification against a fixed hash: used when the account does not
 * exist, so timing does not reveal it. */
void userauth_password_dummy(const char *pw, size_t len);

/* Sign-in throttling that cannot be turned into a lockout (docs/security.md). Failed sign-ins
 * within the window are counted per (e-mail, address), per address and per e-mail. Past
 * pair_free failures of one e-mail from one address, or addr_free from one address, the next
 * attempt from there waits 1 s after the last failure, then 2, 4, 8 ... up to window: the
 * guesser slows down, the owner elsewhere does not notice. Only acct_lock failures of one
 * e-mail from every address together (a distributed attack, far above the others) lock it for
 * everyone; pregonctl user-unlock lifts that from the machine. */
struct userauth_throttle {
    long long pair_n, addr_n, acct_n; /* failures within the window */
    double pair_age_s, addr_age_s;    /* seconds since the last of them (any when n is 0) */
};
struct userauth_throttle_limits {
    int window_s, pair_free, addr_free, acct_lock;
};
enum {
    USERAUTH_THROTTLE_NONE,
    USERAUTH_THROTTLE_PAIR,
    USERAUTH_THROTTLE_ADDRESS,
    USERAUTH_THROTTLE_LOCKED
};
/* Seconds the next attempt must still wait (0: it may go on now), with the reason in *why
 * (USERAUTH_THROTTLE_*; may be NULL). */
int userauth_throttle_wait(const struct userauth_throttle *t,
                           const struct userauth_throttle_limits *l, int *why);

/* A new random session token: raw bytes and their cookie text. */
void userauth_token_new(unsigned char raw[USERAUTH_TOKEN_BYTES], char text[USERAUTH_TOKEN_TEXT]);
/* Cookie text -> raw bytes. Returns 0, or -1 unless text is exactly a token's text. */
int userauth_token_decode(const char *text, unsigned char raw[USERAUTH_TOKEN_BYTES]);
/* What the database keeps of a session token: hex BLAKE2b, never the token itself. */
void userauth_token_hash(const unsigned char raw[USERAUTH_TOKEN_BYTES],
                         char hex[USERAUTH_TOKEN_HASH]);
/* The session's CSRF token, derived from the session token with another key (so neither the
 * database nor the CSRF token gives the session token away). base64url text. */
void userauth_csrf_token(const unsigned char raw[USERAUTH_TOKEN_BYTES],
                         char text[USERAUTH_TOKEN_TEXT]);
/* Constant-time comparison of a presented CSRF token with the expected one. 1 when equal. */
int userauth_csrf_equal(const char *presented, const char *expected);

#endif
