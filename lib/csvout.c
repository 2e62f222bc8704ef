#include "csvout.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

int csvout_formula_risky(const char *s)
{
    return s && (*s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t' || *s == '\r');
}

static int reserve(struct csvout *l, size_t more)
{
    if (l->len + more <= l->cap)
        return 0;
    size_t cap = l->cap ? l->cap : 256;
    while (cap < l->len + more)
        cap *= 2;
    char *b = realloc(l->buf, cap);
    if (!b) {
        l->failed = 1;
        return -1;
    }
    l->buf = b;
    l->cap = cap;
    return 0;
}

int csvout_cell(struct csvout *l, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    int risky = csvout_formula_risky(s);
    char *tmp = NULL;
    if (risky) {
        tmp = malloc(n + 2);
        if (!tmp) {
            l->failed = 1;
            return -1;
        }
        tmp[0] = '\'';
        memcpy(tmp + 1, s, n + 1);
        s = tmp;
        n++;
    }
    /* a ',', both quotes and every byte doubled at worst */
    int rc = reserve(l, 2 * n + 3);
    if (rc == 0) {
        if (l->len)
            l->buf[l->len++] = ',';
        l->len += csv_write(l->buf + l->len, l->cap - l->len, s, n);
    }
    free(tmp);
    return rc;
}

void csvout_clear(struct csvout *l)
{
    l->len = 0;
}

void csvout_free(struct csvout *l)
{
    free(l->buf);
    l->buf = NULL;
    l->len = l->cap = 0;
}
