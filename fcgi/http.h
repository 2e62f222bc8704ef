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
    const char *user;  /* who acts, for created_by and audit */
    const char *route; /* the matched route's pattern, for metrics; NULL when none */
    const char *lang;  /* "es" or "en": the lang parameter, else Accept-Language (msgcat_lang) */
    int status;        /* status sent, 0 before answering */
    char *body;        /* read by http_read_body; freed after the request */
    size_t body_len;
    /* who signed in (fcgi/auth.c); user points at user_email then */
    long long user_id;    /* 0: nobody (anonymous, or auth_mode none) */
    long long session_id; /* 0: no session */
    char user_email[256];
    char csrf[48]; /* the session's CSRF token */
    /* Authorization: Bearer (lib/apikey.h): the key that signed the request (0: none), and
     * why a presented key was refused (APIKEY_INVALID/LIMITED; 0: not refused) */
    long long api_key_id;
    int api_key_refused;
    int retry_after;
    char extra_headers[1024]; /* added to the answer's headers, e.g. Set-Cookie */
    /* When set, http_read_chunk reads the body from here instead of the request (a chunked
     * upload assembled by fcgi/api-imports.c); returns the count, 0 at the end. */
    int (*body_read)(void *ctx, char *buf, size_t len);
    void *body_ctx;
};

const char *http_env(struct request *req, const char *name);

/* Reads the whole body, at most limit bytes. Returns 0, or answers 413/400 and returns -1. */
int http_read_body(struct request *req, size_t limit);
/* Reads up to len bytes of the body into buf; returns the count, 0 at the end. */
int http_read_chunk(struct request *req, char *buf, size_t len);

/* Parses the body as a JSON object (answers 400 with the parse error and returns NULL on
 * failure). The caller owns the result. */
json_object *http_json_body(struct request *req, size_t limit);

/* The same for a body that must be a JSON array. */
json_object *http_json_array_body(struct request *req, size_t limit);

/* Answers with o serialized; takes ownership of o. */
void http_json(struct request *req, int status, json_object *o);
/* Answers {"error":{"code":code,"message":message,"field":field}} (field may be NULL). */
void http_error(struct request *req, int status, const char *code, const char *message,
                const char *field);
void http_errorf(struct request *req, int status, const char *code, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The error object of code in the request's language: message = the catalogue's key (or, with
 * key NULL, the code's generic text; else detail) rendered with params and field; params and
 * key are in it for clients that render their own words, detail (developer English) beside
 * when it says more. Takes ownership of params (NULL: none). Returns a new object. */
json_object *http_error_object(struct request *req, const char *code, const char *field,
                               const char *key, json_object *params, const char *detail);
/* msgcat_localize_items in the request's language. */
void http_localize_items(struct request *req, json_object *arr, const char *code_member,
                         const char *prefix);
/* Answers {"error": http_error_object(...)}. */
void http_fail(struct request *req, int status, const char *code, const char *field,
               const char *key, json_object *params, const char *detail);
/* http_fail with one string parameter name = value (name NULL: none). */
void http_fail_str(struct request *req, int status, const char *code, const char *field,
                   const char *key, const char *detail, const char *name, const char *value);
/* 400 invalid_field: value in field is not a phone number (e164_status, lib/e164.h), in the
 * words the imports use for the same verdict. */
void http_fail_phone(struct request *req, const char *field, int e164_status, const char *value);
/* http_fail with the parameters min and max (a length's or a number's limits). */
void http_fail_range(struct request *req, int status, const char *code, const char *field,
                     const char *key, const char *detail, long long min, long long max);
void http_text(struct request *req, int status, const char *content_type, const char *body,
               size_t len);
/* Writes a status line and headers; the caller then writes the body with http_write. */
void http_begin(struct request *req, int status, const char *content_type, const char *extra);
void http_write(struct request *req, const char *data, size_t len);

/* Adds "Name: value" to the headers of the answer still to be sent (values with CR or LF
 * are refused). Returns 0, or -1 when refused or out of room. */
int http_add_header(struct request *req, const char *name, const char *value);
/* 1 when nginx says the request came over HTTPS (its HTTPS parameter; never a client's
 * X-Forwarded-Proto). */
int http_is_https(struct request *req);

/* Finds a query parameter, URL-decoded into a newly malloc'd string (caller frees); NULL if
 * absent. */
char *http_query_param(const char *query, const char *name);

/* Checks that every member of the object in is named in known (NULL-terminated); otherwise
 * answers 400 unknown_field naming the member ("X is not <what>") and returns -1. */
int http_json_only(struct request *req, json_object *in, const char *const *known,
                   const char *what);

/* Reads a JSON member as a string; NULL when absent or not a string. */
const char *json_str(json_object *o, const char *key);

/* A new JSON string, or NULL (JSON null) when s is NULL. */
json_object *json_str_or_null(const char *s);

/* out = a LIKE pattern for text containing q: '%' q '%', with the wildcards and the
 * backslash in q escaped, cut to fit len (at least 4). */
void http_like_contains(const char *q, char *out, size_t len);

/* Reads query parameter name as an integer in [min, max]; dflt when absent. Returns 0, or
 * answers 400 naming the parameter and returns -1. */
int http_query_ll(struct request *req, const char *name, long long dflt, long long min,
                  long long max, long long *out);

/* Reads JSON member key as an integer in [min, max] into *out when present (*present = 1).
 * Returns 0, or answers 400 naming the member and returns -1. null counts as absent. */
int json_int_member(struct request *req, json_object *o, const char *key, long long min,
                    long long max, long long *out, int *present);

/* Reads JSON member key as a boolean into *out when present. Returns 0 or answers 400, -1. */
int json_bool_member(struct request *req, json_object *o, const char *key, int *out, int *present);

/* Logs the database error and answers 500 database_error naming what failed. */
void http_db_error(struct request *req, const char *what);

#endif
