/* Webhook deliveries: the X-Hub-Signature-256 check over the raw body, the strict JSON parse
 * the app does before storing, then the applier's own walk over entry[].changes[] (the real
 * one, lib/webhook_apply.c: webhook_walk_statuses), routing and status collection included.
 * Input: the signature header, a newline, the body. */
#include <json-c/json.h>

#include "accounts.h"
#include "db.h"
#include "fuzz.h"
#include "hmac.h"
#include "httpin.h"
#include "webhook_apply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : size;
    char *header = fuzz_cstr(data, hlen);
    const char *body = nl ? (const char *)nl + 1 : "";
    size_t blen = nl ? size - hlen - 1 : 0;
    static const unsigned char key[] = "fuzz app secret";
    int v = hmac_verify(header, key, sizeof key - 1, body, blen);
    if (v != HMAC_OK && v != HMAC_MISSING && v != HMAC_MALFORMED && v != HMAC_MISMATCH)
        abort();
    (void)hmac_verify(header, key, 0, body, blen); /* an empty secret never matches */
    char err[256];
    json_object *payload = httpin_json_object(body, blen, err, sizeof err);
    if (payload) {
        /* Two numbers of one business (the seeds name the first), as the sandbox has. */
        static struct account acc[2] = {
            {.id = 1, .waba_id = "102290129340398", .phone_number_id = "106540352242922"},
            {.id = 2, .waba_id = "102290129340398", .phone_number_id = "106540352242923"},
        };
        struct account_list l = {.v = acc, .n = 2};
        static const long long signed_by[] = {1};
        struct webhook_src srcs[2] = {
            {.accounts = &l, .verified = NULL, .nverified = 0},
            {.accounts = &l, .verified = signed_by, .nverified = 1},
        };
        for (size_t k = 0; k < 2; k++) {
            struct webhook_stats st;
            memset(&st, 0, sizeof st);
            size_t collected = 0;
            if (webhook_walk_statuses(payload, &srcs[k], &st, &collected) != DB_OK)
                abort(); /* no database: only running out of memory may fail */
            /* Every status seen is collected or ignored, never lost. */
            if ((size_t)st.statuses != (size_t)st.ignored + collected)
                abort();
        }
    }
    json_object_put(payload);
    free(header);
    return 0;
}
