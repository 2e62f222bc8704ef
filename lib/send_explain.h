/* What a stored send error means, in the operator's words. The worker and the webhook applier
 * store Meta's code and an English text (send_log.error_text, recipients.last_error_text); the
 * API gives beside them a catalogue key, its parameters and the message in the language asked
 * (lib/msgcat "send.*"), and the exports the same message. */
#ifndef PREGON_SEND_EXPLAIN_H
#define PREGON_SEND_EXPLAIN_H

#include <stddef.h>

#include <json-c/json.h>

/* Writes the message into out and returns the key; *params (when params is not NULL) gets its
 * parameters (caller owns). has_code: code is Meta's (send.meta_error with its explanation);
 * else the worker's fixed texts by what they say, else by outcome (send_log's outcome or the
 * recipient's status). */
const char *send_explain(int has_code, int code, const char *text, const char *outcome,
                         const char *lang, char *out, size_t len, json_object **params);

/* The error object of a send: {"code", "text", "explanation", "key", "params", "message"};
 * NULL (JSON null) when there is neither code nor text. */
json_object *send_explain_json(int has_code, int code, const char *text, const char *outcome,
                               const char *lang);

#endif
