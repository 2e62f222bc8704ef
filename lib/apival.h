/* Small pure helpers for values the API takes and gives: times, consent cells,
 * spreadsheet-safe cells (the messaging tier: lib/account_health). No I/O, no locale, no global
 * state. */
#ifndef PREGON_APIVAL_H
#define PREGON_APIVAL_H

#include <stddef.h>
#include <time.h>

/* Parses an ISO 8601 time with an explicit offset: "2026-03-01T09:30:00Z",
 * "2026-03-01T09:30-03:00", "2026-03-01 09:30:00.250+01:00". Writes the UTC time as
 * "YYYY-MM-DD HH:MM:SS.mmm" into out and the Unix time into *t (t may be NULL).
 * Returns 0, or -1 when malformed, out of range or without offset. */
int apival_parse_time(const char *s, char out[24], time_t *t);

/* Consent written by a person (a CSV cell, the contact form's "how it was given", the API's
 * consent.source): one rule for the CSV import, the contacts import, the contact form and the
 * API. 0 blank ("", "-", "n/a"), -1 an explicit negative ("no", "no acepta", "false", "0",
 * "rechazado", "opt-out", "nunca", "sin consentimiento"), 1 anything else: "sí", "x", a date,
 * "formulario web", "inscripción presencial" are all a consent record, kept as written. Case
 * and surrounding spaces are ignored. */
int apival_consent(const char *s, size_t len);

/* The consent record kept for a contact: what was written (cell, unless a bare yes-word
 * such as "sí"/"x"/"1"), and from where (source: "import 2026-12-03 10:00 UTC", "web form"),
 * as "what (source)" cut to fit out (<= 120 bytes, on a UTF-8 boundary). Returns out. */
char *apival_consent_record(const char *cell, size_t len, const char *source, char *out,
                            size_t outlen);

#endif
