/* Free-form text messages (cloudapi.h): the body of a customer-service answer. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cloudapi.h"
#include "cloudapi_internal.h"
#include "csvin.h"

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

char *cloudapi_text_json(const char *to, const char *body, const char *reply_to, size_t *len,
                         char *err, size_t errlen)
{
    if (!to || !cloudapi_valid_e164(to)) {
        cloudapi_seterr(err, errlen, "recipient is not an E.164 number with '+'");
        return NULL;
    }
    size_t bl = body ? strlen(body) : 0;
    if (!bl || !csvin_utf8_valid(body, bl) || utf8_chars(body) > CLOUDAPI_TEXT_MAX) {
        cloudapi_seterr(err, errlen, "the text is 1 to 4096 characters of UTF-8");
        return NULL;
    }
    if (reply_to && (!*reply_to || strlen(reply_to) > 160)) {
        cloudapi_seterr(err, errlen, "the message answered is not a wamid");
        return NULL;
    }
    json_object *o = json_object_new_object(), *t = json_object_new_object();
    json_object_object_add(o, "messaging_product", json_object_new_string("whatsapp"));
    json_object_object_add(o, "recipient_type", json_object_new_string("individual"));
    json_object_object_add(o, "to", json_object_new_string(to));
    json_object_object_add(o, "type", json_object_new_string("text"));
    json_object_object_add(t, "preview_url", json_object_new_boolean(0));
    json_object_object_add(t, "body", json_object_new_string(body));
    json_object_object_add(o, "text", t);
    if (reply_to) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "message_id", json_object_new_string(reply_to));
        json_object_object_add(o, "context", c);
    }
    const char *s =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = s ? strdup(s) : NULL;
    json_object_put(o);
    if (!out) {
        cloudapi_seterr(err, errlen, "out of memory");
        return NULL;
    }
    if (len)
        *len = strlen(out);
    return out;
}
