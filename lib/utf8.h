/* The one UTF-8 validity rule (CSV fields, JSON bodies): well-formed, shortest form, no
 * surrogates, nothing above U+10FFFF. */
#ifndef PREGON_UTF8_H
#define PREGON_UTF8_H

#include <stddef.h>

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs such as C0 AF, no surrogates such as
 * ED A0 80, no code points above U+10FFFF such as F4 90 80 80), 0 otherwise. NUL bytes are
 * valid UTF-8: callers that want text refuse them themselves. */
int utf8_valid(const char *s, size_t len);

/* Copies s into out (outlen > 0 bytes), cut to fit on a character boundary; returns out, or
 * NULL when s is NULL. For text bound for a column of a fixed width. */
const char *utf8_cut(const char *s, char *out, size_t outlen);

#endif
