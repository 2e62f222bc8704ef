/* The one UTF-8 validity rule (CSV fields, JSON bodies): well-formed, shortest form, no
 * surrogates, nothing above U+10FFFF. */
#ifndef PREGON_UTF8_H
#define PREGON_UTF8_H

#include <stddef.h>

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs such as C0 AF, no surrogates such as
 * ED A0 80, no code points above U+10FFFF such as F4 90 80 80), 0 otherwise. NUL bytes are
 * valid UTF-8: callers that want text refuse them themselves. */
int utf8_valid(const char *s, size_t len);

#endif
