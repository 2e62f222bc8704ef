/* The operator's words for a stored send error (lib/send_explain.h). */
#include "send_explain.h"

#include <string.h>

#include "cloudapi.h"
#include "msgcat.h"

/* The worker's texts without a code of Meta, by how they begin (worker/claim.c, lib/queue.c,
 * worker/recover.c, worker/send.c). */
static const struct {
    const char *prefix, *key;
} fixed[] = {
    {"opted out", "send.opted_out"},
    {"frequency cap", "send.frequency_cap"},
    {"the worker sending it stopped", "send.worker_stopped"},
    {"in doubt for", "send.resent"},
    {"a template parameter has no value", "send.missing_value"},
};

const char *send_explain(int has_code, int code, const char *text, const char *outcome,
                         const char *lang, char *out, size_t len, json_object **params)
{
    json_object *p = json_object_new_object();
    const char *key = NULL;
    if (has_code) {
        key = "send.meta_error";
        json_object_object_add(p, "code", json_object_new_int(code));
        json_object_object_add(p, "explanation",
                               json_object_new_string(cloudapi_explain(code, lang)));
    }
    for (size_t i = 0; !key && text && i < sizeof fixed / sizeof fixed[0]; i++)
        if (strncmp(text, fixed[i].prefix, strlen(fixed[i].prefix)) == 0)
            key = fixed[i].key;
    if (!key)
        key = outcome && strcmp(outcome, "unknown") == 0 ? "send.unknown"
              : outcome && strcmp(outcome, "retry") == 0 ? "send.retry"
                                                         : "send.failed";
    if (msgcat_render(key, lang, p, out, len) != 0 && len)
        out[0] = '\0';
    if (params)
        *params = p;
    else
        json_object_put(p);
    return key;
}

json_object *send_explain_json(int has_code, int code, const char *text, const char *outcome,
                               const char *lang)
{
    if (!has_code && !text)
        return NULL;
    char msg[1024];
    json_object *p = NULL, *e = json_object_new_object();
    const char *key = send_explain(has_code, code, text, outcome, lang, msg, sizeof msg, &p);
    json_object_object_add(e, "code", has_code ? json_object_new_int(code) : NULL);
    json_object_object_add(e, "text", text ? json_object_new_string(text) : NULL);
    json_object_object_add(e, "explanation",
                           has_code ? json_object_new_string(cloudapi_explain(code, lang)) : NULL);
    json_object_object_add(e, "key", json_object_new_string(key));
    json_object_object_add(e, "params", p);
    json_object_object_add(e, "message", json_object_new_string(msg));
    return e;
}
