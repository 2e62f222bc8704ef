/* Whole-document JSON parsing with one json-c tokener per thread, reused: the worker parses
 * two small documents per message (the recipient's variables, Meta's answer) and webhooks
 * one per request, and a fresh tokener is a calloc of several kilobytes each time. */
#ifndef PREGON_JSONPARSE_H
#define PREGON_JSONPARSE_H

#include <json-c/json.h>
#include <stddef.h>

enum jsonparse_rc {
    JSONPARSE_OK = 0,
    JSONPARSE_NOMEM,    /* no tokener */
    JSONPARSE_TOO_BIG,  /* over INT_MAX bytes (json-c takes an int) */
    JSONPARSE_INVALID,  /* not JSON, or truncated: see *jerr */
    JSONPARSE_TRAILING, /* something other than whitespace after the value */
};

/* Parses exactly one JSON value from s[0..len), whitespace allowed after it. flags are
 * json-c's (JSON_TOKENER_STRICT, JSON_TOKENER_VALIDATE_UTF8, or 0). Returns the value, which
 * the caller puts, or NULL with *rc set (rc may be NULL) and, for JSONPARSE_INVALID, json-c's
 * reason in *jerr (may be NULL; json_tokener_continue means truncated). */
json_object *jsonparse_whole(const char *s, size_t len, int flags, enum jsonparse_rc *rc,
                             enum json_tokener_error *jerr);

/* A short English reason for a failed parse ("truncated", "unexpected character", ...). */
const char *jsonparse_reason(enum jsonparse_rc rc, enum json_tokener_error jerr);

#endif
