/* CSV uploads: csvin fed in chunks of varying size, each row's phone through e164_normalize,
 * as the recipients upload does. */
#include "csvin.h"
#include "e164.h"
#include "fuzz.h"

struct ctx {
    int phone_col;
    size_t rows;
};

static int on_row(void *vctx, size_t line, size_t nfields, char **fields, const size_t *lens)
{
    struct ctx *c = vctx;
    (void)line;
    if (fields[nfields] != NULL)
        abort();
    for (size_t i = 0; i < nfields; i++) {
        if (lens[i] > 1024)
            abort(); /* max_field */
        (void)csvin_utf8_valid(fields[i], lens[i]);
    }
    if (c->rows++ == 0) {
        c->phone_col = csvin_header_index(fields, nfields, "phone");
        if (c->phone_col >= (int)nfields)
            abort();
        return 0;
    }
    size_t col = c->phone_col >= 0 ? (size_t)c->phone_col : 0;
    if (col < nfields) {
        char out[E164_MAX + 1];
        int rc = e164_normalize(fields[col], lens[col], "AR", out);
        if (rc == E164_OK && (out[0] != '+' || strlen(out) > E164_MAX))
            abort();
        if (rc != E164_OK && out[0] != '\0')
            abort();
        (void)e164_reason_code(rc);
    }
    return c->rows > 100000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] % 17 + 1; /* 1..17 bytes at a time */
    data++;
    size--;
    struct csvin *c = csvin_new(1024, 64);
    if (!c)
        abort();
    struct ctx ctx = {-1, 0};
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        rc = csvin_feed(c, (const char *)data + off, n, on_row, &ctx);
    }
    if (rc == 0)
        rc = csvin_finish(c, on_row, &ctx);
    if (rc < 0 && !csvin_error(c)[0])
        abort(); /* every failure names its reason */
    (void)csvin_delimiter(c);
    csvin_free(c);
    return 0;
}
