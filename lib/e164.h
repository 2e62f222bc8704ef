/* E.164 phone number normalization for the numbers people type into uploads and forms.
 *
 * Pure functions: no allocation, no locale, no global state; safe from any thread. */
#ifndef PREGON_E164_H
#define PREGON_E164_H

#include <stddef.h>

#define E164_MAX 16 /* '+' and at most 15 digits */

enum e164_status {
    E164_OK = 0,
    E164_EMPTY = -1,       /* no digits at all */
    E164_BAD_CHARS = -2,   /* letters, symbols, NUL bytes, a misplaced '+' */
    E164_TOO_SHORT = -3,   /* fewer digits than the country (or E.164) needs */
    E164_TOO_LONG = -4,    /* more digits than the country (or E.164) allows */
    E164_BAD_COUNTRY = -5, /* unassigned calling code, or unknown default country */
    E164_BAD_NUMBER = -6,  /* right length but impossible for its country */
};

/* Normalizes in[0..len) to "+<country code><number>" (8-15 digits), NUL-terminated in out.
 * National numbers (no '+' or "00") are read as numbers of default_country (ISO 3166 alpha-2,
 * either case). Spaces, tabs, dashes, dots, parentheses, a leading "tel:" and the Unicode
 * no-break spaces and dashes spreadsheets produce are ignored. Returns E164_OK or a negative
 * enum e164_status; on failure out is "". */
int e164_normalize(const char *in, size_t len, const char *default_country, char out[E164_MAX + 1]);

/* Short English reason, e.g. "too short". Never NULL. */
const char *e164_strerror(int status);

/* Stable machine code for APIs and reports, e.g. "phone_too_short". Never NULL. */
const char *e164_reason_code(int status);

/* Country calling code of an ISO 3166 alpha-2 code, either case: "AR" -> 54; 0 when unknown.
 * Also knows XK (Kosovo), AC (Ascension) and TA (Tristan da Cunha). */
int e164_country_calling_code(const char *iso2);

/* 1 when cc (1-999) is a country calling code assigned by the ITU (geographic or global
 * service), 0 otherwise. */
int e164_cc_assigned(int cc);

#endif
