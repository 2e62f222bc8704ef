#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
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
                 "Status: %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\n%s\r\n", status,
                 reason(status), content_type, extra ? extra : "");
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

void http_error(struct request *req, int status, const char *code, const char *message,
                const char *field)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_string(code));
    json_object_object_add(e, "message", json_object_new_string(message));
    if (field)
        json_object_object_add(e, "field", json_object_new_string(field));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", e);
    http_json(req, status, o);
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
    return FCGX_GetStr(buf, (int)len, req->fcgi->in);
}

int http_read_body(struct request *req, size_t limit)
{
    if (req->body)
        return 0;
    if (req->content_length > (long long)limit) {
        http_errorf(req, 413, "body_too_large", NULL, "the request body is over %zu bytes",
                    limit);
        return -1;
    }
    size_t cap = req->content_length > 0 ? (size_t)req->content_length + 1 : 4096;
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
                http_errorf(req, 413, "body_too_large", NULL,
                            "the request body is over %zu bytes", limit);
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
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        http_error(req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    json_object *o = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr != json_tokener_success || !o) {
        json_object_put(o);
        http_errorf(req, 400, "invalid_json", NULL, "the request body is not valid JSON: %s",
                    json_tokener_error_desc(jerr == json_tokener_success
                                                ? json_tokener_continue
                                                : jerr));
        return NULL;
    }
    for (; used < req->body_len; used++) {
        char c = req->body[used];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
            json_object_put(o);
            http_error(req, 400, "invalid_json", "the request body has data after the JSON",
                       NULL);
            return NULL;
        }
    }
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        http_error(req, 400, "invalid_json", "the request body must be a JSON object", NULL);
        return NULL;
    }
    return o;
}

char *http_query_param(const char *query, const char *name)
{
    if (!query)
        return NULL;
    size_t nl = strlen(name);
    const char *p = query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t vl = seg - nl - 1;
            /* '+' means space in query strings; curl unescapes only %XX. */
            char *tmp = strndup(v, vl);
            if (!tmp)
                return NULL;
            for (char *c = tmp; *c; c++)
                if (*c == '+')
                    *c = ' ';
            int outlen = 0;
            char *dec = curl_easy_unescape(NULL, tmp, (int)vl, &outlen);
            free(tmp);
            if (!dec)
                return NULL;
            char *out = NULL;
            /* A NUL inside a parameter is never legitimate. */
            if (memchr(dec, '\0', (size_t)outlen) == NULL)
                out = strndup(dec, (size_t)outlen);
            curl_free(dec);
            return out;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    return NULL;
}

const char *json_str(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}
