#include "http.h"

#include "app.h"
#include "db.h"
#include "e164.h"
#include "log.h"
#include "msgcat.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpin.h"

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "";
    }
}

const char *http_env(struct request *req, const char *name)
{
    return FCGX_GetParam(name, req->fcgi->envp);
}

void http_begin(struct request *req, int status, const char *content_type, const char *extra)
{
    req->status = status;
    FCGX_FPrintF(req->fcgi->out,
                 "Status: %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\n%s%s\r\n", status,
                 reason(status), content_type, req->extra_headers, extra ? extra : "");
}

int http_add_header(struct request *req, const char *name, const char *value)
{
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return -1;
    size_t n = strlen(req->extra_headers);
    int w =
        snprintf(req->extra_headers + n, sizeof req->extra_headers - n, "%s: %s\r\n", name, value);
    if (w < 0 || (size_t)w >= sizeof req->extra_headers - n) {
        req->extra_headers[n] = '\0';
        return -1;
    }
    return 0;
}

int http_is_https(struct request *req)
{
    /* Only nginx's own HTTPS parameter: a client's X-Forwarded-Proto is the client's word
     * (issue #17). Behind a TLS proxy, nginx sets HTTPS (docs/operations.md). */
    const char *https = http_env(req, "HTTPS");
    return https && (strcasecmp(https, "on") == 0 || strcmp(https, "1") == 0);
}

void http_write(struct request *req, const char *data, size_t len)
{
    FCGX_PutStr(data, (int)len, req->fcgi->out);
}

void http_text(struct request *req, int status, const char *content_type, const char *body,
               size_t len)
{
    http_begin(req, status, content_type, NULL);
    http_write(req, body, len);
}

void http_json(struct request *req, int status, json_object *o)
{
    size_t len = 0;
    const char *s = o ? json_object_to_json_string_length(
                            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len)
                      : "null";
    if (!o)
        len = 4;
    http_text(req, status, "application/json; charset=utf-8", s, len);
    json_object_put(o);
}

json_object *http_error_object(struct request *req, const char *code, const char *field,
                               const char *key, json_object *params, const char *detail)
{
    const char *lang = req->lang ? req->lang : "es";
    char gen[64], msg[1024] = "";
    if (!params)
        params = json_object_new_object();
    /* field fills {field} in the text; it is the error's own member, not a parameter */
    int added = field && !json_object_object_get_ex(params, "field", NULL);
    if (added)
        json_object_object_add(params, "field", json_object_new_string(field));
    snprintf(gen, sizeof gen, "error.%s", code);
    /* English callers keep the precise developer text when no catalogue key was given. */
    int have = key ? msgcat_render(key, lang, params, msg, sizeof msg) == 0 : 0;
    /* A developer text that names a file's line ("line 7: ..." from lib/csvin and the
     * importers): the operator's words name it too ("error.<code>_line"); English keeps the
     * developer's own text, which does. */
    unsigned long line;
    int at = 0;
    if (!have && detail && strcmp(lang, "en") != 0 &&
        sscanf(detail, "line %lu:%n", &line, &at) == 1 && at > 0) {
        char lkey[80];
        snprintf(lkey, sizeof lkey, "error.%s_line", code);
        json_object_object_add(params, "line", json_object_new_int64((int64_t)line));
        have = msgcat_render(lkey, lang, params, msg, sizeof msg) == 0;
        if (!have)
            json_object_object_del(params, "line");
    }
    if (!have && !(detail && strcmp(lang, "en") == 0))
        have = msgcat_render(gen, lang, params, msg, sizeof msg) == 0;
    json_object *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_string(code));
    json_object_object_add(e, "message",
                           json_object_new_string(have     ? msg
                                                  : detail ? detail
                                                           : code));
    if (field)
        json_object_object_add(e, "field", json_object_new_string(field));
    if (key)
        json_object_object_add(e, "key", json_object_new_string(key));
    if (added)
        json_object_object_del(params, "field");
    json_object_object_add(e, "params", params);
    if (detail && have && strcmp(msg, detail) != 0)
        json_object_object_add(e, "detail", json_object_new_string(detail));
    return e;
}

void http_localize_items(struct request *req, json_object *arr, const char *code_member,
                         const char *prefix)
{
    msgcat_localize_items(arr, code_member, prefix, req->lang);
}

void http_fail(struct request *req, int status, const char *code, const char *field,
               const char *key, json_object *params, const char *detail)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", http_error_object(req, code, field, key, params, detail));
    http_json(req, status, o);
}

void http_fail_str(struct request *req, int status, const char *code, const char *field,
                   const char *key, const char *detail, const char *name, const char *value)
{
    json_object *p = json_object_new_object();
    if (name)
        json_object_object_add(p, name, json_object_new_string(value ? value : ""));
    http_fail(req, status, code, field, key, p, detail);
}

void http_fail_phone(struct request *req, const char *field, int e164_status, const char *value)
{
    char detail[128], key[48];
    snprintf(detail, sizeof detail, "%s is not a valid phone number (%s)", field,
             e164_strerror(e164_status));
    /* the import's words for the same verdict (lib/msgcat "import.phone_*") */
    snprintf(key, sizeof key, "import.%s", e164_reason_code(e164_status));
    http_fail_str(req, 400, "invalid_field", field, key, detail, "value", value ? value : "");
}

void http_fail_range(struct request *req, int status, const char *code, const char *field,
                     const char *key, const char *detail, long long min, long long max)
{
    json_object *p = json_object_new_object();
    json_object_object_add(p, "min", json_object_new_int64(min));
    json_object_object_add(p, "max", json_object_new_int64(max));
    http_fail(req, status, code, field, key, p, detail);
}

void http_error(struct request *req, int status, const char *code, const char *message,
                const char *field)
{
    http_fail(req, status, code, field, NULL, NULL, message);
}

void http_errorf(struct request *req, int status, const char *code, const char *field,
                 const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    http_error(req, status, code, msg, field);
}

int http_read_chunk(struct request *req, char *buf, size_t len)
{
    if (req->body_read)
        return req->body_read(req->body_ctx, buf, len);
    return FCGX_GetStr(buf, (int)len, req->fcgi->in);
}

int http_read_body(struct request *req, size_t limit)
{
    if (req->body)
        return 0;
    if (req->content_length > (long long)limit) {
        http_errorf(req, 413, "body_too_large", NULL, "the request body is over %zu bytes", limit);
        return -1;
    }
    /* One byte over the announced length, so the end of the body is seen without growing. */
    size_t cap = req->content_length > 0 ? (size_t)req->content_length + 2 : 4096;
    char *buf = malloc(cap);
    if (!buf) {
        http_error(req, 500, "internal", "out of memory", NULL);
        return -1;
    }
    size_t n = 0;
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > limit) {
                free(buf);
                http_errorf(req, 413, "body_too_large", NULL, "the request body is over %zu bytes",
                            limit);
                return -1;
            }
            size_t ncap = cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                http_error(req, 500, "internal", "out of memory", NULL);
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        int got = FCGX_GetStr(buf + n, (int)(cap - n - 1), req->fcgi->in);
        if (got <= 0)
            break;
        n += (size_t)got;
        if (n > limit) {
            free(buf);
            http_errorf(req, 413, "body_too_large", NULL, "the request body is over %zu bytes",
                        limit);
            return -1;
        }
    }
    buf[n] = '\0';
    req->body = buf;
    req->body_len = n;
    return 0;
}

json_object *http_json_body(struct request *req, size_t limit)
{
    if (http_read_body(req, limit) < 0)
        return NULL;
    if (req->body_len == 0) {
        http_error(req, 400, "invalid_json", "the request body must be a JSON object", NULL);
        return NULL;
    }
    char err[512], member[128];
    json_object *o =
        httpin_json_member(req->body, req->body_len, err, sizeof err, member, sizeof member);
    if (!o)
        http_error(req, 400, "invalid_json", err, member[0] ? member : NULL);
    return o;
}

json_object *http_json_array_body(struct request *req, size_t limit)
{
    if (http_read_body(req, limit) < 0)
        return NULL;
    char err[512], member[128];
    json_object *a = httpin_json_typed(req->body, req->body_len, json_type_array, err, sizeof err,
                                       member, sizeof member);
    if (!a)
        http_error(req, 400, "invalid_json", err, member[0] ? member : NULL);
    return a;
}

char *http_query_param(const char *query, const char *name)
{
    return httpin_query_param(query, name);
}

int http_json_only(struct request *req, json_object *in, const char *const *known, const char *what)
{
    json_object_object_foreach(in, key, val)
    {
        (void)val;
        const char *const *k = known;
        while (*k && strcmp(*k, key) != 0)
            k++;
        if (!*k) {
            http_errorf(req, 400, "unknown_field", key, "%s is not %s", key, what);
            return -1;
        }
    }
    return 0;
}

const char *json_str(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

json_object *json_str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

/* 400 code naming field: an integer from min to max, in the request's language. */
static void range_fail(struct request *req, const char *code, const char *field, long long min,
                       long long max)
{
    char detail[256];
    snprintf(detail, sizeof detail, "%s must be an integer from %lld to %lld", field, min, max);
    json_object *p = json_object_new_object();
    json_object_object_add(p, "min", json_object_new_int64(min));
    json_object_object_add(p, "max", json_object_new_int64(max));
    http_fail(req, 400, code, field, "field.int_range", p, detail);
}

int http_query_ll(struct request *req, const char *name, long long dflt, long long min,
                  long long max, long long *out)
{
    char *v = http_query_param(req->query, name);
    *out = dflt;
    if (!v)
        return 0;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    int bad = !*v || *end || errno || n < min || n > max;
    free(v);
    if (bad) {
        range_fail(req, "invalid_parameter", name, min, max);
        return -1;
    }
    *out = n;
    return 0;
}

int json_int_member(struct request *req, json_object *o, const char *key, long long min,
                    long long max, long long *out, int *present)
{
    json_object *v;
    if (present)
        *present = 0;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    long long n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : min - 1;
    if (!json_object_is_type(v, json_type_int) || n < min || n > max) {
        range_fail(req, "invalid_field", key, min, max);
        return -1;
    }
    *out = n;
    if (present)
        *present = 1;
    return 0;
}

int json_bool_member(struct request *req, json_object *o, const char *key, int *out, int *present)
{
    json_object *v;
    if (present)
        *present = 0;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_boolean)) {
        char detail[160];
        snprintf(detail, sizeof detail, "%s must be true or false", key);
        http_fail(req, 400, "invalid_field", key, "field.bool", NULL, detail);
        return -1;
    }
    *out = json_object_get_boolean(v);
    if (present)
        *present = 1;
    return 0;
}

void http_db_error(struct request *req, const char *what)
{
    log_error("%s: %s", what, db_error(req->app->db));
    http_errorf(req, 500, "database_error", NULL, "the database failed: %s", what);
}

void http_like_contains(const char *q, char *out, size_t len)
{
    size_t n = 0;
    out[n++] = '%';
    for (const char *c = q; *c && n < len - 3; c++) {
        if (*c == '%' || *c == '_' || *c == '\\')
            out[n++] = '\\';
        out[n++] = *c;
    }
    out[n++] = '%';
    out[n] = 0;
}
