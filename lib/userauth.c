#include "userauth.h"

#include <stddef.h> /* before crack.h, which uses size_t */

#include <crack.h>
#include <stdio.h>
#include <string.h>

#include "csvin.h"

static const char *const role_names[] = {"anonymous", "viewer", "admin", "superadmin"};

int userauth_role_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = USERAUTH_VIEWER; i <= USERAUTH_SUPERADMIN; i++)
        if (strcmp(s, role_names[i]) == 0)
            return i;
    return -1;
}

const char *userauth_role_name(int role)
{
    if (role < USERAUTH_VIEWER || role > USERAUTH_SUPERADMIN)
        return role_names[0];
    return role_names[role];
}

int userauth_email_normalize(const char *in, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return -1;
    out[0] = '\0';
    if (!in)
        return -1;
    while (*in == ' ' || *in == '\t' || *in == '\r' || *in == '\n')
        in++;
    size_t n = strlen(in);
    while (n > 0 &&
           (in[n - 1] == ' ' || in[n - 1] == '\t' || in[n - 1] == '\r' || in[n - 1] == '\n'))
        n--;
    if (n < 3 || n > USERAUTH_EMAIL_MAX || n >= outlen || !csvin_utf8_valid(in, n))
        return -1;
    size_t at = 0, nat = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == ',' ||
            c == ';') {
            out[0] = '\0';
            return -1;
        }
        if (c == '@') {
            at = i;
            nat++;
        }
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : (char)c;
    }
    out[n] = '\0';
    if (nat != 1 || at == 0 || at == n - 1) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int userauth_password_check(const char *pw, size_t len, const char *email, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    if (!pw) {
        *why = "a password is required";
        return -1;
    }
    if (len > USERAUTH_PASSWORD_MAX) {
        *why = "the password is longer than 1024 bytes";
        return -1;
    }
    if (!csvin_utf8_valid(pw, len)) {
        *why = "the password is not valid UTF-8";
        return -1;
    }
    size_t chars = 0;
    int all_same = 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)pw[i];
        if (c < 0x20 || c == 0x7f) {
            *why = "the password has control characters";
            return -1;
        }
        if ((c & 0xc0) != 0x80)
            chars++;
        if (c != (unsigned char)pw[0])
            all_same = 0;
    }
    if (chars < USERAUTH_PASSWORD_MIN) {
        *why = "the password must have at least 10 characters";
        return -1;
    }
    if (all_same) {
        *why = "the password is one character repeated";
        return -1;
    }
    if (email && strlen(email) == len && strncasecmp(email, pw, len) == 0) {
        *why = "the password must not be the e-mail address";
        return -1;
    }
    /* ASVS 2.1.7: not a known, common or easily guessed password. cracklib (Debian's
     * cracklib-runtime dictionary, /var/cache/cracklib, built from /usr/share/dict/cracklib-small:
     * common passwords and words, matched with cracklib's manglings: case, digits around,
     * leetspeak, reversal) and its checks for systematic ones (1234567890, abcdefghijk). Not
     * thread-safe: the API's handlers run one at a time per process, pregonctl has one thread. */
    char copy[USERAUTH_PASSWORD_MAX + 1]; /* cracklib reads a C string; pw has none of NUL */
    memcpy(copy, pw, len);
    copy[len] = '\0';
    const char *crack = FascistCheckUser(copy, GetDefaultCracklibDict(), NULL, NULL);
    sodium_memzero(copy, sizeof copy);
    if (crack) {
        static __thread char msg[200];
        if (strstr(crack, "dictionary") && strstr(crack, "error"))
            snprintf(msg, sizeof msg,
                     "the password cannot be checked against the list of common passwords "
                     "(cracklib: %s; install cracklib-runtime)",
                     crack);
        else
            snprintf(msg, sizeof msg,
                     "the password is a known, common or easily guessed one (%s): choose a "
                     "longer phrase of your own",
                     crack);
        *why = msg;
        return USERAUTH_PW_COMMON;
    }
    return 0;
}

const char *userauth_password_error_code(int rc)
{
    return rc == USERAUTH_PW_COMMON ? "breached_password" : "weak_password";
}

int userauth_password_hash(const char *pw, size_t len, char out[USERAUTH_HASH_MAX])
{
    return crypto_pwhash_str(out, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0
               ? 0
               : -1;
}

int userauth_password_verify(const char *hash, const char *pw, size_t len, int *needs_rehash)
{
    if (!hash || !pw || strncmp(hash, crypto_pwhash_STRPREFIX, strlen(crypto_pwhash_STRPREFIX)))
        return 0;
    if (crypto_pwhash_str_verify(hash, pw, len) != 0)
        return 0;
    if (needs_rehash)
        *needs_rehash = crypto_pwhash_str_needs_rehash(hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                                       crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
    return 1;
}

void userauth_password_dummy(const char *pw, size_t len)
{
    static char dummy[USERAUTH_HASH_MAX];
    if (!dummy[0] && userauth_password_hash("pregon dummy password", 21, dummy) < 0)
        return;
    volatile int rc = crypto_pwhash_str_verify(dummy, pw ? pw : "", pw ? len : 0);
    (void)rc;
}

/* Domain separation: the stored hash and the CSRF token come from the same session token
 * through BLAKE2b under different keys. */
static const unsigned char key_store[] = "pregon session token hash v1";
static const unsigned char key_csrf[] = "pregon session csrf token v1";

void userauth_token_new(unsigned char raw[USERAUTH_TOKEN_BYTES], char text[USERAUTH_TOKEN_TEXT])
{
    randombytes_buf(raw, USERAUTH_TOKEN_BYTES);
    sodium_bin2base64(text, USERAUTH_TOKEN_TEXT, raw, USERAUTH_TOKEN_BYTES,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int userauth_token_decode(const char *text, unsigned char raw[USERAUTH_TOKEN_BYTES])
{
    size_t bin_len = 0;
    const char *end = NULL;
    if (!text || strlen(text) != USERAUTH_TOKEN_TEXT - 1)
        return -1;
    if (sodium_base642bin(raw, USERAUTH_TOKEN_BYTES, text, USERAUTH_TOKEN_TEXT - 1, NULL, &bin_len,
                          &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        bin_len != USERAUTH_TOKEN_BYTES || !end || *end != '\0') {
        sodium_memzero(raw, USERAUTH_TOKEN_BYTES);
        return -1;
    }
    return 0;
}

void userauth_token_hash(const unsigned char raw[USERAUTH_TOKEN_BYTES],
                         char hex[USERAUTH_TOKEN_HASH])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, raw, USERAUTH_TOKEN_BYTES, key_store, sizeof key_store - 1);
    sodium_bin2hex(hex, USERAUTH_TOKEN_HASH, h, sizeof h);
}

void userauth_csrf_token(const unsigned char raw[USERAUTH_TOKEN_BYTES],
                         char text[USERAUTH_TOKEN_TEXT])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, raw, USERAUTH_TOKEN_BYTES, key_csrf, sizeof key_csrf - 1);
    sodium_bin2base64(text, USERAUTH_TOKEN_TEXT, h, sizeof h,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(h, sizeof h);
}

int userauth_csrf_equal(const char *presented, const char *expected)
{
    if (!presented || !expected)
        return 0;
    size_t lp = strlen(presented), le = strlen(expected);
    if (le == 0 || lp != le)
        return 0;
    return sodium_memcmp(presented, expected, le) == 0;
}

/* 2^(n - free) seconds after the last failure, from the first failure past free; at most
 * window. */
static double throttle_delay(long long n, int free_n, int window_s)
{
    if (n < free_n)
        return 0;
    long long k = n - free_n;
    double d = k >= 30 ? (double)window_s : (double)(1LL << k);
    return d < window_s ? d : window_s;
}

int userauth_throttle_wait(const struct userauth_throttle *t,
                           const struct userauth_throttle_limits *l, int *why)
{
    int dummy;
    if (!why)
        why = &dummy;
    *why = USERAUTH_THROTTLE_NONE;
    if (t->acct_n >= l->acct_lock) {
        *why = USERAUTH_THROTTLE_LOCKED;
        return l->window_s;
    }
    double wait = 0, w;
    w = throttle_delay(t->pair_n, l->pair_free, l->window_s) - t->pair_age_s;
    if (t->pair_n >= l->pair_free && w > wait) {
        wait = w;
        *why = USERAUTH_THROTTLE_PAIR;
    }
    w = throttle_delay(t->addr_n, l->addr_free, l->window_s) - t->addr_age_s;
    if (t->addr_n >= l->addr_free && w > wait) {
        wait = w;
        *why = USERAUTH_THROTTLE_ADDRESS;
    }
    if (wait <= 0) {
        *why = USERAUTH_THROTTLE_NONE;
        return 0;
    }
    int secs = (int)wait;
    return secs < wait ? secs + 1 : secs; /* whole seconds, rounded up, for Retry-After */
}
