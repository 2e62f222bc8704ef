/* Cookie and Origin headers, and the session/CSRF tokens read from them. */
#include "fuzz.h"
#include "httpin.h"
#include "userauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        if (sodium_init() < 0)
            abort();
        init = 1;
    }
    char *h = fuzz_cstr(data, size);
    char out[USERAUTH_TOKEN_TEXT + 8];
    int n = httpin_cookie(h, "pregon_session", out, sizeof out);
    if (n >= 0) {
        if ((size_t)n != strlen(out) || (size_t)n >= sizeof out)
            abort();
        unsigned char raw[USERAUTH_TOKEN_BYTES];
        if (userauth_token_decode(out, raw) == 0) {
            char hash[USERAUTH_TOKEN_HASH], csrf[USERAUTH_TOKEN_TEXT];
            userauth_token_hash(raw, hash);
            userauth_csrf_token(raw, csrf);
            if (strlen(hash) != 64 || !userauth_csrf_equal(csrf, csrf))
                abort();
        }
    }
    (void)httpin_cookie(h, "", out, sizeof out);
    (void)httpin_cookie(h, "a", out, 1);
    char origin[300];
    if (httpin_origin_of(h, origin, sizeof origin) == 0) {
        /* A normalized origin is its own origin and matches itself. */
        char again[300];
        if (httpin_origin_of(origin, again, sizeof again) != 0 || strcmp(origin, again) != 0 ||
            !httpin_origin_matches(origin, h))
            abort();
    }
    (void)httpin_origin_matches(h, "http://127.0.0.1:8080");
    (void)userauth_csrf_equal(h, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    free(h);
    return 0;
}
