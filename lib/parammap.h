/* A campaign's parameter mapping: where each value a template needs (lib/cloudapi.h slots)
 * comes from, a fixed value or a recipient column with an optional fallback.
 *
 * The mapping, as the API takes and stores it:
 *   {"header": S, "body": S, "buttons": {"<button index>": I}}
 *   S = [I, ...]            by position among the component's slots ({{1}}, {{2}}, ...)
 *     | {"<name>": I, ...}  by placeholder name ("1", "first_name"); "media" for a media header
 *   I = "fixed text" | {"value": "..."} | {"column": "name", "fallback": "..."}
 * Normalized, every I is an object. Pure json-c; no I/O. */
#ifndef PREGON_PARAMMAP_H
#define PREGON_PARAMMAP_H

#include <json-c/json.h>
#include <stddef.h>

#include "cloudapi.h"

#define PARAMMAP_MAX_ITEMS  64
#define PARAMMAP_MAX_VALUE  1024
#define PARAMMAP_MAX_COLUMN 64

/* Validates in (NULL = empty mapping) and returns a new normalized mapping the caller owns, or
 * NULL with err set and field naming the offending member ("params.body[2]"). */
json_object *parammap_normalize(json_object *in, char *err, size_t errlen, char *field,
                                size_t fieldlen);

/* The catalogue key (lib/msgcat "param.*") of an error parammap_normalize wrote, or NULL;
 * var gets the placeholder the field names ("params.body.1" -> "{{1}}"). */
const char *parammap_error_key(const char *err, const char *field, char *var, size_t varlen);

/* The same for the older body_params array: becomes {"body": [...]}. */
json_object *parammap_from_body_params(json_object *arr, char *err, size_t errlen, char *field,
                                       size_t fieldlen);

/* The body items as an array in slot order (s may be NULL: the mapping's own order), for
 * senders that only know positional body parameters. Caller owns the result. */
json_object *parammap_body_params(json_object *map, const struct cloudapi_slots *s);

/* The item for slot i of s, or NULL. Borrowed from map. */
json_object *parammap_item(json_object *map, const struct cloudapi_slots *s, size_t i);

/* Every slot has an item, and every item targets a slot the template has. Returns 0, or -1
 * with err naming the slot or item ("body {{3}} has no value in the mapping"). */
int parammap_check(json_object *map, const struct cloudapi_slots *s, char *err, size_t errlen);

/* The value of every slot for one recipient: the fixed value, else vars[column] when it is a
 * non-empty string, else the fallback. values[i] point into map or vars. Returns 0, or -1 with
 * err naming the first slot without a value. */
int parammap_values(json_object *map, const struct cloudapi_slots *s, json_object *vars,
                    const char **values, char *err, size_t errlen);
/* The same; on -1 *column is the column without a value (NULL when the slot has no item).
 * It points into map. */
int parammap_values_col(json_object *map, const struct cloudapi_slots *s, json_object *vars,
                        const char **values, char *err, size_t errlen, const char **column);

/* The columns the mapping reads: fills cols[k] and fallbacks[k] (NULL when none), at most max;
 * returns how many (a column read twice is listed once, keeping a fallback if any has one). */
size_t parammap_columns(json_object *map, const char **cols, const char **fallbacks, size_t max);

/* "header {{1}}", "body {{first_name}}", "header image", "button 0 {{1}}", "button 1 coupon". */
void parammap_slot_label(const struct cloudapi_slot *s, char *out, size_t len);

#endif
