#include "phoneset.h"

#include <stdlib.h>

/* Fibonacci hashing spreads consecutive numbers (typical of imported lists). */
static size_t slot_of(uint64_t v, size_t cap)
{
    return (size_t)(v * 0x9E3779B97F4A7C15ull) & (cap - 1);
}

uint64_t phoneset_key(const char *e164)
{
    return strtoull(e164[0] == '+' ? e164 + 1 : e164, NULL, 10);
}

int phoneset_add(struct phoneset *s, uint64_t v)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 4096;
        uint64_t *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i])
                continue;
            size_t j = slot_of(s->slots[i], ncap);
            while (ns[j])
                j = (j + 1) & (ncap - 1);
            ns[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = ns;
        s->cap = ncap;
    }
    size_t j = slot_of(v, s->cap);
    while (s->slots[j]) {
        if (s->slots[j] == v)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slots[j] = v;
    s->n++;
    return 1;
}

int phoneset_has(const struct phoneset *s, uint64_t v)
{
    if (!s->cap)
        return 0;
    size_t j = slot_of(v, s->cap);
    while (s->slots[j]) {
        if (s->slots[j] == v)
            return 1;
        j = (j + 1) & (s->cap - 1);
    }
    return 0;
}

void phoneset_free(struct phoneset *s)
{
    free(s->slots);
    s->slots = NULL;
    s->cap = s->n = 0;
}
