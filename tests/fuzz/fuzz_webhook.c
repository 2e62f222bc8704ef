/* Webhook deliveries: the X-Hub-Signature-256 check over the raw body, then the parsing the
 * app does before applying (strict JSON object; entry[].changes[].value.statuses[] with their
 * callback data and status names, and the status transitions they would cause).
 * Input: the signature header, a newline, the body. */
#include <json-c/json.h>

#include "fuzz.h"
#include "hmac.h"
#include "httpin.h"
#include "msgstatus.h"
#include "webhook_apply.h"

static json_object *member(json_object *o, const char *k, json_type t)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, t))
        return NULL;
    return v;
}

static const char *str(json_object *o, const char *k)
{
    json_object *v = member(o, k, json_type_string);
    return v ? json_object_get_string(v) : NULL;
}

static void statuses(json_object *value)
{
    json_object *arr = member(value, "statuses", json_type_array);
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *s = json_object_array_get_idx(arr, i);
        long long c, r;
        const char *cb = str(s, "biz_opaque_callback_data");
        if (cb && webhook_callback_parse(cb, &c, &r) == 0 && (c <= 0 || r <= 0))
            abort();
        enum msg_status next = msg_status_parse(str(s, "status") ? str(s, "status") : "");
        if (next == MSG_INVALID)
            continue;
        for (int cur = MSG_PENDING; cur <= MSG_UNKNOWN; cur++) {
            struct msg_delta d;
            memset(&d, 0, sizeof d);
            if (!msg_transition((enum msg_status)cur, next, &d) && !msg_delta_is_zero(&d))
                abort();
        }
        (void)str(s, "id");
        (void)str(s, "timestamp");
        (void)member(s, "errors", json_type_array);
    }
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
    json_object *entries = member(payload, "entry", json_type_array);
    for (size_t e = 0; entries && e < json_object_array_length(entries); e++) {
        json_object *changes =
            member(json_object_array_get_idx(entries, e), "changes", json_type_array);
        for (size_t c = 0; changes && c < json_object_array_length(changes); c++) {
            json_object *ch = json_object_array_get_idx(changes, c);
            (void)str(ch, "field");
            statuses(member(ch, "value", json_type_object));
        }
    }
    json_object_put(payload);
    free(header);
    return 0;
}
