/* Opt-out keywords and phrases in inbound messages. Pure: the webhook matches replies against
 * the rules kept in the opt_out_keywords table (lib/person.h loads them; the defaults below
 * serve when the table cannot be read). A rule is either a keyword, matched against the whole
 * message ("STOP", "¡Baja!"), or a phrase, matched inside it at word boundaries ("no quiero
 * recibir" in "No quiero recibir más, gracias"). Both sides are folded first (optout_normalize).
 * A rule either stops messages or, when the person wrote it, lifts an opt-out that came from
 * WhatsApp (never one an operator recorded: lib/person.h). */
#ifndef PREGON_OPTOUT_H
#define PREGON_OPTOUT_H

#include <stddef.h>

enum optout_kind {
    OPTOUT_KEYWORD = 0, /* the whole message */
    OPTOUT_PHRASE = 1,  /* inside the message, at word boundaries */
};

enum optout_action {
    OPTOUT_NONE = 0,
    OPTOUT_STOP = 1,
    OPTOUT_RESUME = 2,
};

struct optout_rule {
    const char *text;
    enum optout_kind kind;
    enum optout_action action;
};

/* Longest message text matched; longer texts are matched on their first OPTOUT_TEXT_MAX bytes. */
#define OPTOUT_TEXT_MAX 4096
/* Longest keyword or phrase (bytes), as the opt_out_keywords column. */
#define OPTOUT_RULE_MAX 64

/* STOP, BAJA, NO MAS, NO MÁS, CANCELAR: whole-message stop keywords, used when the table
 * cannot be read. */
extern const char *const optout_default_keywords[];
extern const size_t optout_default_nkeywords;

/* Folds s for comparison into out, decoding UTF-8: lowercase; accents removed from Latin
 * letters (U+00C0-U+017F: á -> a, Ñ -> n, ß -> ss, Œ -> oe) and combining marks (U+0300-U+036F)
 * dropped, so precomposed and decomposed forms fold alike; punctuation and symbols (ASCII,
 * Latin-1, General Punctuation, zero-width characters, variation selectors) dropped; white
 * space (also no-break and typographic spaces) made one space; trimmed. Invalid UTF-8 bytes
 * are dropped; other characters (other scripts, emoji) are kept. Returns the length written,
 * or -1 when s is NULL or out (outlen bytes with the NUL) is too small. */
int optout_normalize(const char *s, char *out, size_t outlen);

/* 1 when text, folded, equals one of the keywords, folded; 0 otherwise (also for NULL or
 * empty text, and texts longer than 256 bytes, which are never just a keyword). */
int optout_match(const char *text, const char *const *keywords, size_t n);

/* What text asks for under rules: OPTOUT_STOP when any stop rule matches (a stop wins over a
 * resume in the same message), else OPTOUT_RESUME when a resume rule matches, else
 * OPTOUT_NONE. *which (may be NULL) is the index of the rule that decided, or -1. */
enum optout_action optout_classify(const char *text, const struct optout_rule *rules, size_t n,
                                   long *which);

/* Checks a keyword or phrase an operator gives: folded, it must be 1..OPTOUT_RULE_MAX bytes
 * and hold a letter or digit. Writes the folded form to out (OPTOUT_RULE_MAX + 1 bytes).
 * Returns 0, or -1 with *why set to a short English reason. */
int optout_rule_check(const char *text, char out[OPTOUT_RULE_MAX + 1], const char **why);

#endif
