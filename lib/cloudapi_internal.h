/* Shared by the lib/cloudapi*.c files only (the public header is cloudapi.h): input caps and the
 * string, buffer and JSON helpers every part of the wire format uses. */
#ifndef PREGON_CLOUDAPI_INTERNAL_H
#define PREGON_CLOUDAPI_INTERNAL_H

#include <stddef.h>

#include <json-c/json.h>

#include "cloudapi.h"

/* Input caps: far above anything Meta sends, low enough that hostile input stays cheap. */
#define SEND_ANSWER_MAX        (1u << 20)
#define TEMPLATE_PAGE_MAX      (32u << 20)
#define COMPONENTS_MAX         (1u << 20)
#define NEXT_URL_MAX           8192
#define PLACEHOLDERS_MAX       100 /* per component; Meta allows far fewer */
#define POSITIONAL_MAX         999 /* three digits */
#define NAME_MAX_LEN           63  /* fits cloudapi_slot.name */
#define BUTTONS_MAX            10
#define TEMPLATES_PER_PAGE_MAX 10000 /* Graph API pages hold at most a few hundred */

/* A growable buffer; oom is set once an allocation failed (buf_take then returns NULL). */
struct cloudapi_buf {
    char *p;
    size_t n, cap;
    int oom;
};

void cloudapi_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cloudapi_seterr(char *err, size_t errlen, const char *fmt, ...);
int cloudapi_utf8_valid(const char *s, size_t len);
void cloudapi_copy_trunc(char *dst, size_t size, const char *src, size_t len);
void cloudapi_copy_ascii(char *dst, size_t size, const char *src, size_t len);
int cloudapi_is_lower(char c);
int cloudapi_is_digit(char c);
int cloudapi_valid_template_name(const char *s);
int cloudapi_valid_language(const char *s);
int cloudapi_valid_param_name(const char *s, size_t n);
int cloudapi_valid_e164(const char *s);
void cloudapi_buf_add(struct cloudapi_buf *b, const char *s, size_t len);
char *cloudapi_buf_take(struct cloudapi_buf *b);
json_object *cloudapi_parse_json(const char *s, size_t len, size_t max, char *err, size_t errlen);
const char *cloudapi_jget_str(json_object *o, const char *key, size_t *len);
json_object *cloudapi_jget_type(json_object *o, const char *key, json_type t);
int cloudapi_jadd(json_object *o, const char *key, json_object *v);
int cloudapi_jadd_str(json_object *o, const char *key, const char *s);
int cloudapi_jappend(json_object *a, json_object *v);
char *cloudapi_jdump(json_object *o, size_t *len);
const char *cloudapi_ctype_name(enum cloudapi_ctype t);
const char *cloudapi_ptype_name(enum cloudapi_ptype t);

#endif
