/* Pure parsers for what arrives with an HTTP request: query strings, cookies, the Origin
 * header, JSON bodies. No FastCGI and no global state, so they are unit-tested and fuzzed on
 * their own (tests/unit/test_httpin.c, tests/fuzz/). Every input is treated as hostile. */
#ifndef PREGON_HTTPIN_H
#define PREGON_HTTPIN_H

#include <json-c/json.h>
#include <stddef.h>

/* Finds a query parameter, URL-decoded ('+' is a space) into a newly malloc'd string (caller
 * frees); NULL if absent, on allocation failure, or when the decoded value holds a NUL. The
 * first occurrence wins. */
char *httpin_query_param(const char *query, const char *name);

/* Finds cookie name in a Cookie header value ("a=1; b=2"). Copies its value (surrounding
 * double quotes removed) into out, NUL-terminated. Returns the value's length, -1 when absent
 * or malformed (a control character, a value of outlen bytes or more). The first occurrence
 * wins, as browsers send the most specific cookie first. */
int httpin_cookie(const char *header, const char *name, char *out, size_t outlen);

/* Writes the origin ("scheme://host[:port]", lowercase, default ports dropped) of an absolute
 * http(s) URL such as public_url into out. Returns 0, or -1 when url is not one. */
int httpin_origin_of(const char *url, char *out, size_t outlen);

/* 1 when the Origin header value names the same origin as the URL (after the normalization of
 * httpin_origin_of), 0 otherwise (also for "null" and anything malformed). */
int httpin_origin_matches(const char *origin, const char *url);

/* Parses buf[0..len) as exactly one JSON object (white space around it allowed, nothing
 * else). Returns the object (caller owns it) or NULL with a short reason in err. */
json_object *httpin_json_object(const char *buf, size_t len, char *err, size_t errlen);
/* The same, and on failure the member the problem is in (its innermost key; "" when the
 * problem is not inside one) in member (may be NULL). Strict JSON, strict UTF-8 (no overlongs,
 * surrogates, U+0000) in every key and string, no key twice in an object. */
json_object *httpin_json_member(const char *buf, size_t len, char *err, size_t errlen, char *member,
                                size_t mlen);
/* The same for a body that must be of type want (json_type_object or json_type_array). */
json_object *httpin_json_typed(const char *buf, size_t len, enum json_type want, char *err,
                               size_t errlen, char *member, size_t mlen);

#endif
