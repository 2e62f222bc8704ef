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

/* What json-c does not check in a document it parsed (issue #17): json-c 0.16 with
 * JSON_TOKENER_VALIDATE_UTF8 still takes overlong forms (C0 AF), surrogates (ED A0 80) and code
 * points above U+10FFFF (F4 90 80 80), turns "\u0000" into a string cut short (or a key cut
 * short) and lone surrogate escapes ("\ud800") into invalid UTF-8, and keeps the last of
 * duplicate keys silently. jsonparse_text_check walks the raw text of a document json-c already
 * accepted and refuses all of that. Returns JSONTEXT_OK, or the first problem with the member
 * it is in (innermost key; "" at the top) in member (NUL-terminated, non-ASCII bytes of a
 * name that is itself not text shown as '?') and an English reason in why. */
enum jsontext_rc {
    JSONTEXT_OK = 0,
    JSONTEXT_NOMEM,
    JSONTEXT_UTF8,      /* a string or key is not valid UTF-8, or a lone surrogate escape */
    JSONTEXT_NUL,       /* a string or key holds U+0000 */
    JSONTEXT_DUPLICATE, /* an object has the same key twice */
    JSONTEXT_SYNTAX,    /* outside strings, a character JSON has no use for ('single quotes') */
};
enum jsontext_rc jsonparse_text_check(const char *s, size_t len, char *member, size_t mlen,
                                      char *why, size_t wlen);

/* A short English reason for a failed parse ("truncated", "unexpected character", ...). */
const char *jsonparse_reason(enum jsonparse_rc rc, enum json_tokener_error jerr);

#endif
