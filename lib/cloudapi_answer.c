/* Cloud API answers, parsed and bounded: the answer to a send (what an unclear one means is
 * lib/sendverdict's decision) and template listings. */

#include "cloudapi.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "cloudapi_internal.h"

/* ---- send answer ------------------------------------------------------------------- */

static int synth(struct cloudapi_result *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int synth(struct cloudapi_result *r, int code, const char *fmt, ...)
{
    va_list ap;

    r->accepted = r->held = 0;
    r->wamid[0] = r->wa_id[0] = '\0';
    r->code = code;
    r->action = CLOUDAPI_ACT_RETRY;
    va_start(ap, fmt);
    vsnprintf(r->details, sizeof r->details, fmt, ap);
    va_end(ap);
    return -1;
}

static int printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

int cloudapi_parse_send(long http_status, const char *body, size_t len, struct cloudapi_result *r)
{
    char why[128], excerpt[121];
    json_object *root, *error, *v;
    const char *s;
    size_t n;
    int rc = -1;

    if (r == NULL)
        return -1;
    memset(r, 0, sizeof *r);
    r->http_status = http_status;
    if (body == NULL)
        len = 0;
    if (http_status == 0) {
        cloudapi_copy_ascii(excerpt, sizeof excerpt, body, len);
        return synth(r, CLOUDAPI_CODE_NO_ANSWER,
                     "no HTTP answer (network failure, timeout or "
                     "connection refused)%s%s",
                     excerpt[0] ? ": " : "", excerpt);
    }
    if (len == 0)
        return synth(r, CLOUDAPI_CODE_BAD_ANSWER, "empty answer with HTTP %ld", http_status);
    root = cloudapi_parse_json(body, len, SEND_ANSWER_MAX, why, sizeof why);
    if (root == NULL) {
        cloudapi_copy_ascii(excerpt, sizeof excerpt, body, len);
        return synth(r, CLOUDAPI_CODE_BAD_ANSWER, "answer with HTTP %ld is %s: %s", http_status,
                     why, excerpt);
    }
    if (!json_object_is_type(root, json_type_object)) {
        synth(r, CLOUDAPI_CODE_BAD_ANSWER, "answer with HTTP %ld is JSON but not an object",
              http_status);
        goto out;
    }

    error = cloudapi_jget_type(root, "error", json_type_object);
    if (error != NULL) {
        if ((s = cloudapi_jget_str(error, "message", &n)) != NULL)
            cloudapi_copy_trunc(r->message, sizeof r->message, s, n);
        if ((s = cloudapi_jget_str(cloudapi_jget_type(error, "error_data", json_type_object),
                                   "details", &n)))
            cloudapi_copy_trunc(r->details, sizeof r->details, s, n);
        if ((s = cloudapi_jget_str(error, "fbtrace_id", &n)) != NULL)
            cloudapi_copy_trunc(r->fbtrace_id, sizeof r->fbtrace_id, s, n);
        v = cloudapi_jget_type(error, "code", json_type_int);
        int64_t code = v ? json_object_get_int64(v) : -1;
        if (code < 0 || code > INT_MAX) {
            char msg[sizeof r->message];
            memcpy(msg, r->message, sizeof msg);
            synth(r, CLOUDAPI_CODE_BAD_ANSWER,
                  "Graph API error with HTTP %ld and no valid code: %s", http_status,
                  msg[0] ? msg : "(no message)");
            goto out;
        }
        r->code = (int)code;
        r->action = cloudapi_classify(r->code, http_status);
        rc = 0;
        goto out;
    }
    if (http_status < 200 || http_status > 299) {
        synth(r, CLOUDAPI_CODE_BAD_ANSWER, "HTTP %ld without a Graph API error object",
              http_status);
        goto out;
    }
    v = cloudapi_jget_type(root, "messages", json_type_array);
    v = v && json_object_array_length(v) > 0 ? json_object_array_get_idx(v, 0) : NULL;
    s = json_object_is_type(v, json_type_object) ? cloudapi_jget_str(v, "id", &n) : NULL;
    if (s == NULL || n == 0 || n >= sizeof r->wamid || !printable_ascii(s)) {
        synth(r, CLOUDAPI_CODE_BAD_ANSWER, "HTTP %ld without a usable messages[0].id", http_status);
        goto out;
    }
    memcpy(r->wamid, s, n + 1);
    s = cloudapi_jget_str(v, "message_status", NULL);
    r->held = s != NULL && strcmp(s, "held_for_quality_assessment") == 0;
    v = cloudapi_jget_type(root, "contacts", json_type_array);
    v = v && json_object_array_length(v) > 0 ? json_object_array_get_idx(v, 0) : NULL;
    s = json_object_is_type(v, json_type_object) ? cloudapi_jget_str(v, "wa_id", &n) : NULL;
    if (s != NULL && n < sizeof r->wa_id && printable_ascii(s))
        memcpy(r->wa_id, s, n + 1);
    r->accepted = 1;
    r->action = CLOUDAPI_ACT_NONE;
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

/* ---- template listing -------------------------------------------------------------- */

static void template_free(struct cloudapi_template *t)
{
    free(t->id);
    free(t->name);
    free(t->language);
    free(t->status);
    free(t->category);
    free(t->components);
    memset(t, 0, sizeof *t);
}

void cloudapi_template_page_free(struct cloudapi_template_page *page)
{
    if (page == NULL)
        return;
    for (size_t i = 0; i < page->n; i++)
        template_free(&page->items[i]);
    free(page->items);
    free(page->next);
    memset(page, 0, sizeof *page);
}

/* 1 = filled, 0 = entry unusable (skipped), -1 = out of memory. */
static int template_from_json(json_object *o, struct cloudapi_template *t)
{
    char idbuf[32];
    const char *id, *name, *lang, *s;
    json_object *v;
    size_t n;

    memset(t, 0, sizeof *t);
    if (!json_object_is_type(o, json_type_object))
        return 0;
    id = cloudapi_jget_str(o, "id", &n);
    if (id == NULL && (v = cloudapi_jget_type(o, "id", json_type_int)) != NULL) {
        snprintf(idbuf, sizeof idbuf, "%" PRId64, json_object_get_int64(v));
        id = idbuf;
        n = strlen(id);
    }
    if (id == NULL || n == 0 || n > 64 || !printable_ascii(id))
        return 0;
    name = cloudapi_jget_str(o, "name", NULL);
    lang = cloudapi_jget_str(o, "language", NULL);
    if (!cloudapi_valid_template_name(name) || !cloudapi_valid_language(lang))
        return 0;
    v = NULL;
    if (json_object_object_get_ex(o, "components", &v) && v != NULL &&
        !json_object_is_type(v, json_type_array))
        return 0;
    t->id = strdup(id);
    t->name = strdup(name);
    t->language = strdup(lang);
    s = cloudapi_jget_str(o, "status", &n);
    t->status = strdup(s && n <= 64 ? s : "");
    s = cloudapi_jget_str(o, "category", &n);
    t->category = strdup(s && n <= 64 ? s : "");
    s = cloudapi_jget_str(o, "parameter_format", NULL);
    t->named = s != NULL && strcasecmp(s, "NAMED") == 0;
    t->components = v ? cloudapi_jdump(v, NULL) : strdup("[]");
    if (!t->id || !t->name || !t->language || !t->status || !t->category || !t->components) {
        template_free(t);
        return -1;
    }
    return 1;
}

int cloudapi_parse_templates(const char *body, size_t len, struct cloudapi_template_page *page,
                             char *err, size_t errlen)
{
    char why[128];
    json_object *root, *data, *error, *paging, *next;
    size_t count;

    if (page == NULL) {
        cloudapi_seterr(err, errlen, "no page");
        return -1;
    }
    memset(page, 0, sizeof *page);
    if (body == NULL || len == 0) {
        cloudapi_seterr(err, errlen, "template list: empty answer");
        return -1;
    }
    root = cloudapi_parse_json(body, len, TEMPLATE_PAGE_MAX, why, sizeof why);
    if (root == NULL) {
        cloudapi_seterr(err, errlen, "template list: %s", why);
        return -1;
    }
    if (!json_object_is_type(root, json_type_object)) {
        cloudapi_seterr(err, errlen, "template list: not a JSON object");
        goto fail;
    }
    if ((error = cloudapi_jget_type(root, "error", json_type_object)) != NULL) {
        json_object *c = cloudapi_jget_type(error, "code", json_type_int);
        const char *msg = cloudapi_jget_str(error, "message", NULL);
        cloudapi_seterr(err, errlen, "template list: Graph API error %d: %.200s",
                        c ? json_object_get_int(c) : 0, msg ? msg : "(no message)");
        goto fail;
    }
    data = cloudapi_jget_type(root, "data", json_type_array);
    if (data == NULL) {
        cloudapi_seterr(err, errlen, "template list: no \"data\" array");
        goto fail;
    }
    paging = cloudapi_jget_type(root, "paging", json_type_object);
    if (paging != NULL && json_object_object_get_ex(paging, "next", &next) && next != NULL) {
        size_t n;
        const char *s = cloudapi_jget_str(paging, "next", &n);
        if (s == NULL || n == 0 || n > NEXT_URL_MAX || !printable_ascii(s)) {
            cloudapi_seterr(err, errlen, "template list: paging.next is not a usable URL");
            goto fail;
        }
        if ((page->next = strdup(s)) == NULL)
            goto oom;
    }
    count = json_object_array_length(data);
    if (count > TEMPLATES_PER_PAGE_MAX) {
        cloudapi_seterr(err, errlen, "template list: %zu entries in one page", count);
        goto fail;
    }
    if (count > 0 && (page->items = calloc(count, sizeof *page->items)) == NULL)
        goto oom;
    for (size_t i = 0; i < count; i++) {
        int rc = template_from_json(json_object_array_get_idx(data, i), &page->items[page->n]);
        if (rc < 0)
            goto oom;
        if (rc == 0)
            page->skipped++;
        else
            page->n++;
    }
    json_object_put(root);
    return 0;
oom:
    cloudapi_seterr(err, errlen, "out of memory");
fail:
    cloudapi_template_page_free(page);
    json_object_put(root);
    return -1;
}
