/* The control API under /_sandbox/ that tests use to inject errors, read what was sent and
 * push arbitrary webhooks. No auth: server.c only lets loopback peers reach it. */
#include "sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGES_LIMIT_MAX 10000

/* Parses the request body as JSON; an empty body reads as {}. NULL = not JSON. */
static json_object *body_json(const struct sb_req *rq)
{
    json_tokener *tok;
    json_object *o;

    if (rq->body_len == 0)
        return json_object_new_object();
    if (!(tok = json_tokener_new()))
        return NULL;
    o = json_tokener_parse_ex(tok, rq->body, (int)rq->body_len);
    if (o && json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static void handle_config(const struct sb_req *rq, struct sb_reply *rp)
{
    char err[256];
    json_object *in;

    if (!strcmp(rq->method, "GET")) {
        sb_reply_json(rp, 200, sb_cfg_json());
        return;
    }
    if (!(in = body_json(rq))) {
        sb_reply_plain_error(rp, 400, "body must be a JSON object");
        return;
    }
    if (sb_cfg_apply(in, err, sizeof err) < 0) {
        json_object_put(in);
        sb_reply_plain_error(rp, 400, "%s", err);
        return;
    }
    if (json_object_object_get_ex(in, "app_secret", NULL)) /* never log the secret */
        json_object_object_add(in, "app_secret", json_object_new_string("(hidden)"));
    sb_log("config changed: %.400s",
           json_object_to_json_string_ext(in,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(in);
    sb_reply_json(rp, 200, sb_cfg_json());
}

static void handle_messages(const struct sb_req *rq, struct sb_reply *rp)
{
    const char *after_s = sb_req_arg(rq, "after"), *limit_s = sb_req_arg(rq, "limit"),
               *to = sb_req_arg(rq, "to");
    unsigned long long after = 0, limit = 100;
    char digits[24];

    if (after_s && sb_parse_uint(after_s, UINT64_MAX, &after) < 0) {
        sb_reply_plain_error(rp, 400, "after must be a message seq (integer >= 0)");
        return;
    }
    if (limit_s && (sb_parse_uint(limit_s, MESSAGES_LIMIT_MAX, &limit) < 0 || limit == 0)) {
        sb_reply_plain_error(rp, 400, "limit must be an integer 1..%d", MESSAGES_LIMIT_MAX);
        return;
    }
    if (to) {
        size_t n = 0;
        for (const char *p = to; *p && n < sizeof digits - 1; p++)
            if (*p >= '0' && *p <= '9')
                digits[n++] = *p;
        digits[n] = '\0';
        if (!sb_msisdn_pack(digits)) {
            sb_reply_plain_error(rp, 400, "to must be a phone number (8-15 digits)");
            return;
        }
        to = digits;
    }
    sb_reply_json(rp, 200, sb_store_messages_json(after, (unsigned)limit, to));
}

static void handle_stats(struct sb_reply *rp)
{
    json_object *o = json_object_new_object();
    sb_store_stats(o);
    sb_wh_stats(o);
    json_object_object_add(o, "uptime_s",
                           json_object_new_int64((int64_t)((sb_mono_ms() - sb_started_ms) / 1000)));
    sb_reply_json(rp, 200, o);
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static void handle_webhook(const struct sb_req *rq, struct sb_reply *rp)
{
    json_object *in = body_json(rq), *payload, *sigv;
    char *text = NULL, *answer = NULL, sig[128], err[256];
    const char *raw, *signature = NULL;
    size_t len = 0;
    long status = 0;

    if (!in || !json_object_is_type(in, json_type_object)) {
        sb_reply_plain_error(rp, 400, "body must be {\"payload\":{...}} or {\"raw\":\"...\"}");
        goto out;
    }
    if (json_object_object_get_ex(in, "signature", &sigv)) {
        const char *s = sb_json_str(in, "signature");
        if (!s || strlen(s) > 100 || !printable(s)) {
            sb_reply_plain_error(rp, 400, "signature must be a short printable string");
            goto out;
        }
        /* "" = send no signature header at all */
        snprintf(sig, sizeof sig, "%s%s", *s && strncmp(s, "sha256=", 7) ? "sha256=" : "", s);
        signature = sig;
    }
    if ((raw = sb_json_str(in, "raw")) != NULL) {
        len = (size_t)json_object_get_string_len(json_object_object_get(in, "raw"));
        text = malloc(len + 1);
        if (text)
            memcpy(text, raw, len + 1);
    } else if (json_object_object_get_ex(in, "payload", &payload) &&
               json_object_is_type(payload, json_type_object)) {
        text = sb_json_take_text(json_object_get(payload), &len);
    } else {
        sb_reply_plain_error(rp, 400, "body must be {\"payload\":{...}} or {\"raw\":\"...\"}");
        goto out;
    }
    if (!text) {
        sb_reply_plain_error(rp, 500, "out of memory");
        goto out;
    }
    if (sb_wh_post_now(text, len, signature, &status, &answer, err, sizeof err) < 0) {
        sb_reply_plain_error(rp, 502, "webhook POST failed: %s", err);
        goto out;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_int64(status));
    json_object_object_add(o, "body", json_object_new_string(answer));
    sb_reply_json(rp, 200, o);
out:
    free(answer);
    free(text);
    json_object_put(in);
}

void sb_control_handle(const struct sb_req *rq, struct sb_reply *rp)
{
    const char *path = rq->url + strlen("/_sandbox/");
    bool get = !strcmp(rq->method, "GET"), post = !strcmp(rq->method, "POST");

    if (!strcmp(path, "health") && get) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(1));
        sb_reply_json(rp, 200, o);
    } else if (!strcmp(path, "config") && (get || post)) {
        handle_config(rq, rp);
    } else if (!strcmp(path, "reset") && post) {
        sb_cfg_reset();
        sb_wh_reset();
        sb_store_reset();
        sb_log("reset");
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(1));
        sb_reply_json(rp, 200, o);
    } else if (!strcmp(path, "messages") && get) {
        handle_messages(rq, rp);
    } else if (!strcmp(path, "stats") && get) {
        handle_stats(rp);
    } else if (!strcmp(path, "webhook") && post) {
        handle_webhook(rq, rp);
    } else {
        sb_reply_plain_error(rp, 404, "unknown control endpoint %s %.100s", rq->method, rq->url);
    }
}
