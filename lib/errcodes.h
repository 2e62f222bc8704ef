/* Meta's error codes, one table: for each code (or range of codes) its class, what a bulk
 * sender does about it (enum cloudapi_action) and the plain-language explanation of what
 * happened and what to do, in Spanish and English. cloudapi_classify (the worker's policy,
 * the webhook applier's) and cloudapi_explain (the API's texts) read it, and the admin panel's
 * texts are generated from it at build time (tools/errcodes_js.c -> www/js/errcodes.js), so
 * a code is described in one place. */
#ifndef PREGON_ERRCODES_H
#define PREGON_ERRCODES_H

#include <stddef.h>

#include "cloudapi.h"

struct errcode {
    int lo, hi;                  /* the codes lo..hi (one code: lo == hi) */
    const char *class_name;      /* throttle, transient, engagement, recipient, parameter,
                                    template, number, account, network */
    enum cloudapi_action action; /* for 0 only with a 4xx answer: see cloudapi_classify */
    const char *es, *en;         /* what happened and what to do */
};

/* The row of code, or NULL for a code Meta's documentation does not describe. */
const struct errcode *errcodes_find(int code);
/* Every row, in table order (*n rows). */
const struct errcode *errcodes_all(size_t *n);
/* The text for a code without a row, in Spanish (lang NULL, "es", anything else) or English
 * (lang starting with "en"). */
const char *errcodes_unknown(const char *lang);
/* The explanation of code in that language: its row's, else errcodes_unknown. Never NULL. */
const char *errcodes_explain(int code, const char *lang);

#endif
