/* A set of phone numbers as integers (E.164 digits, at most 15, fit in 64 bits) with open
 * addressing: dedupe and opt-out checks over a million-row upload without a million
 * allocations. Zero-initialise; free with phoneset_free. */
#ifndef PREGON_PHONESET_H
#define PREGON_PHONESET_H

#include <stddef.h>
#include <stdint.h>

struct phoneset {
    uint64_t *slots;
    size_t cap, n;
};

/* The key of "+5493875551234": its digits as a number. */
uint64_t phoneset_key(const char *e164);
/* 1 added, 0 already there, -1 out of memory. v must not be 0. */
int phoneset_add(struct phoneset *s, uint64_t v);
int phoneset_has(const struct phoneset *s, uint64_t v);
void phoneset_free(struct phoneset *s);

#endif
