/* Opt-out keywords in inbound messages. Pure: the webhook matches replies against the list
 * kept in the opt_out_keywords table (defaults below), whole message only, so "STOP" or
 * "¡Baja!" opt out and "no pares" does not. */
#ifndef PREGON_OPTOUT_H
#define PREGON_OPTOUT_H

#include <stddef.h>

/* STOP, BAJA, NO MAS, NO MÁS, CANCELAR: used when the table cannot be read. */
extern const char *const optout_default_keywords[];
extern const size_t optout_default_nkeywords;

/* Folds s for comparison into out: lowercase, accents removed from Latin letters (á -> a,
 * Ñ -> n, ü -> u), punctuation and symbols dropped, runs of white space made one space,
 * trimmed. Other characters are kept as they are. Returns the length written, or -1 when
 * s is NULL or out (outlen bytes with the NUL) is too small. */
int optout_normalize(const char *s, char *out, size_t outlen);

/* 1 when text, folded, equals one of the keywords, folded; 0 otherwise (also for NULL or
 * empty text, and texts longer than 256 bytes, which are never just a keyword). */
int optout_match(const char *text, const char *const *keywords, size_t n);

#endif
