/* The operator's words: every error and explanation the API gives, by stable key, in Spanish
 * and English, with {name} placeholders filled from the error's parameters. The API renders
 * them in the language a request asks for (msgcat_lang) and `make` writes the panel's copy
 * (tools/errcodes_js.c -> www/js/errcodes.js), so a text lives in one place. */
#ifndef PREGON_MSGCAT_H
#define PREGON_MSGCAT_H

#include <stddef.h>

#include <json-c/json.h>

struct msgcat_entry {
    const char *key; /* "error.<code>": the generic text of an error code; else a message */
    const char *es, *en;
};

/* Every entry, in table order (*n entries). */
const struct msgcat_entry *msgcat_all(size_t *n);
/* The entry of key, or NULL. */
const struct msgcat_entry *msgcat_find(const char *key);

/* The language of a request: "en" or "es" (static strings). The lang parameter when it names
 * one we speak, else the Accept-Language header's preferred one of ours (by q), else "es". */
const char *msgcat_lang(const char *param, const char *accept_language);

/* Writes key's text in lang into out with {name} replaced by params' member name (strings
 * as they are, numbers as JSON writes them; an unknown name stays as written). A parameter
 * that is an object {"key": k, "params": {..}} fills in as the text of k in the same language
 * (a campaign state's name); the panel renders it the same way. Returns 0, or -1 when key is
 * not in the catalogue (out = ""). */
int msgcat_render(const char *key, const char *lang, json_object *params, char *out, size_t len);
/* A new {"key": key_prefix name} parameter (caller owns it). */
json_object *msgcat_ref(const char *key_prefix, const char *name);

/* Puts every item of arr (objects) into lang: its "message" becomes the text of prefix +
 * item[code_member] filled from the item's "params" (else its own members), the text it had
 * kept as "detail", and "key" the key. Items without a text in the catalogue, or localized
 * already (with a detail or a key), are left.
 * The API's findings and import reports, and pregonctl's, alike. */
void msgcat_localize_items(json_object *arr, const char *code_member, const char *prefix,
                           const char *lang);

#endif
