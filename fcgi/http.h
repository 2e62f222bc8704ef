/* One FastCGI request and its answer. Every JSON and error answer goes through here, so the
 * error format and the escaping live in one place. */
#ifndef PREGON_FCGI_HTTP_H
#define PREGON_FCGI_HTTP_H

#include <fcgiapp.h>
#include <json-c/json.h>
#include <stddef.h>

#include "route.h"

struct app;

enum role { ROLE_ANONYMOUS = 0, ROLE_VIEWER = 1, ROLE_ADMIN = 2, ROLE_SUPERADMIN = 3 };

struct request {
    FCGX_Request *fcgi;
    struct app *app;
    const char *method;
    const char *path;
    const char *query;
    const char *content_type;
    const char *remote_addr;
    long long content_length; /* -1 when absent */
    long long ids[ROUTE_MAX_IDS];
    int nids;
    enum role role;
    const char *user; /* who acts, for created_by and audit */
    int status;       /* status sent, 0 before answering */
    char *body;       /* read by http_read_body; freed after the request */
    size_t body_len;
};

const char *http_env(struct request *req, const char *name);

/* Reads the whole body, at most limit bytes. Returns 0, or answers 413/400 and returns -1. */
int http_read_body(struct request *req, size_t limit);
/* Reads up to len bytes of the body into buf; returns the count, 0 at the end. */
int http_read_chunk(struct request *req, char *buf, size_t len);

/* Parses the body as a JSON object (answers 400 with the parse error and returns NULL on
 * failure). The caller owns the result. */
json_object *http_json_body(struct request *req, size_t limit);

/* Answers with o serialized; takes ownership of o. */
void http_json(struct request *req, int status, json_object *o);
/* Answers {"error":{"code":code,"message":message,"field":field}} (field may be NULL). */
void http_error(struct request *req, int status, const char *code, const char *message,
                const char *field);
void http_errorf(struct request *req, int status, const char *code, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void http_text(struct request *req, int status, const char *content_type, const char *body,
               size_t len);
/* Writes a status line and headers; the caller then writes the body with http_write. */
void http_begin(struct request *req, int status, const char *content_type, const char *extra);
void http_write(struct request *req, const char *data, size_t len);

/* Finds a query parameter, URL-decoded into a newly malloc'd string (caller frees); NULL if
 * absent. */
char *http_query_param(const char *query, const char *name);

/* Reads a JSON member as a string; NULL when absent or not a string. */
const char *json_str(json_object *o, const char *key);

#endif
