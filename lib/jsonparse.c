#include "jsonparse.h"

#include <limits.h>
#include <pthread.h>

static pthread_key_t tok_key;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;
static int tok_key_ok;

static void tok_destroy(void *p)
{
    json_tokener_free(p);
}

static void tok_key_init(void)
{
    tok_key_ok = pthread_key_create(&tok_key, tok_destroy) == 0;
}

/* This thread's tokener, reset; NULL when out of memory. Freed when the thread ends. */
static json_tokener *tok_get(void)
{
    if (pthread_once(&tok_once, tok_key_init) != 0 || !tok_key_ok)
        return NULL;
    json_tokener *tok = pthread_getspecific(tok_key);
    if (tok) {
        json_tokener_reset(tok);
        return tok;
    }
    tok = json_tokener_new();
    if (tok && pthread_setspecific(tok_key, tok) != 0) {
        json_tokener_free(tok);
        tok = NULL;
    }
    return tok;
}

json_object *jsonparse_whole(const char *s, size_t len, int flags, enum jsonparse_rc *rc,
                             enum json_tokener_error *jerr)
{
    enum jsonparse_rc dummy_rc;
    enum json_tokener_error dummy_jerr;
    if (!rc)
        rc = &dummy_rc;
    if (!jerr)
        jerr = &dummy_jerr;
    *jerr = json_tokener_success;
    if (len > INT_MAX) {
        *rc = JSONPARSE_TOO_BIG;
        return NULL;
    }
    json_tokener *tok = tok_get();
    if (!tok) {
        *rc = JSONPARSE_NOMEM;
        return NULL;
    }
    json_tokener_set_flags(tok, flags);
    json_object *o = json_tokener_parse_ex(tok, s ? s : "", s ? (int)len : 0);
    *jerr = json_tokener_get_error(tok);
    if (*jerr != json_tokener_success || !o) {
        /* A literal null parses to NULL with success: not a document we take. */
        json_object_put(o);
        if (*jerr == json_tokener_success)
            *jerr = json_tokener_continue;
        *rc = JSONPARSE_INVALID;
        return NULL;
    }
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
            json_object_put(o);
            *rc = JSONPARSE_TRAILING;
            return NULL;
        }
    }
    *rc = JSONPARSE_OK;
    return o;
}

const char *jsonparse_reason(enum jsonparse_rc rc, enum json_tokener_error jerr)
{
    switch (rc) {
    case JSONPARSE_OK:
        return "ok";
    case JSONPARSE_NOMEM:
        return "out of memory";
    case JSONPARSE_TOO_BIG:
        return "too large";
    case JSONPARSE_TRAILING:
        return "garbage after the value";
    case JSONPARSE_INVALID:
        break;
    }
    return jerr == json_tokener_continue ? "truncated" : json_tokener_error_desc(jerr);
}
