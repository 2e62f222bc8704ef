/* Webhook deliveries: the X-Hub-Signature-256 check over the raw body, the strict JSON parse
 * the app does before storing, then the applier's own walk over entry[].changes[] (the real
 * one, lib/webhook_walk.c): pass 1 with its status collection (webhook_walk_statuses), pass 2
 * (webhook_walk) with visitors that check what the walk hands over (routed to an account of
 * ours that signed it, the shape each visitor expects). Input: the signature header, a
 * newline, the body. */
#include <json-c/json.h>

#include "accounts.h"
#include "db.h"
#include "fuzz.h"
#include "hmac.h"
#include "httpin.h"
#include "webhook_apply.h"

/* What pass 2 may hand over: an account of the list, signed by it when the source says. */
static const struct webhook_src *cur_src;

static void check_account(long long account)
{
    const struct account_list *l = cur_src->accounts;
    int known = 0, signed_by = cur_src->nverified == 0;
    for (size_t i = 0; i < l->n; i++)
        known |= l->v[i].id == account;
    for (size_t i = 0; i < cur_src->nverified; i++)
        signed_by |= cur_src->verified[i] == account;
    if (!known || !signed_by)
        abort();
}

static int visit_item(void *ctx, json_object *x, long long account, long long event_id)
{
    (void)event_id;
    check_account(account);
    ++*(size_t *)ctx;
    (void)json_object_get_type(x); /* any element of the list, as applying gets it */
    return DB_OK;
}

static int visit_value(void *ctx, json_object *v, long long account)
{
    check_account(account);
    ++*(size_t *)ctx;
    if (!json_object_is_type(v, json_type_object) && !json_object_is_type(v, json_type_null))
        abort(); /* a change's value is an object (or, for an element, anything) */
    return DB_OK;
}

static int visit_element(void *ctx, json_object *x, long long account)
{
    check_account(account);
    ++*(size_t *)ctx;
    (void)json_object_get_type(x);
    return DB_OK;
}

static int visit_quality(void *ctx, json_object *v, const long long *acc, size_t n)
{
    if (n == 0 || !json_object_is_type(v, json_type_object))
        abort();
    for (size_t i = 0; i < n; i++)
        check_account(acc[i]);
    ++*(size_t *)ctx;
    return DB_OK;
}

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
        /* The ingestion's priority: one of the two values, whatever the payload. */
        int prio = webhook_priority(payload);
        if (prio != WEBHOOK_PRIORITY_PLAIN && prio != WEBHOOK_PRIORITY_AHEAD)
            abort();
        for (size_t k = 0; k < 2; k++) {
            struct webhook_stats st;
            memset(&st, 0, sizeof st);
            size_t collected = 0;
            if (webhook_walk_statuses(payload, &srcs[k], &st, &collected) != DB_OK)
                abort(); /* no database: only running out of memory may fail */
            /* Every status seen is collected or ignored, never lost. */
            if ((size_t)st.statuses != (size_t)st.ignored + collected)
                abort();
            /* Pass 2, everything else, as applying walks it. */
            size_t visits = 0;
            cur_src = &srcs[k];
            struct webhook_visitor vis = {.ctx = &visits,
                                          .user_ids = visit_value,
                                          .message = visit_item,
                                          .preference = visit_element,
                                          .template_update = visit_value,
                                          .quality = visit_quality,
                                          .account_update = visit_value};
            struct webhook_stats st2;
            memset(&st2, 0, sizeof st2);
            if (webhook_walk(payload, &srcs[k], 1, 0, &vis, &st2) != DB_OK)
                abort();
        }
    }
    json_object_put(payload);
    free(header);
    return 0;
}
