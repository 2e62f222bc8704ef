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

/* Consent cell of a CSV row: 1 yes ("yes", "si", "sí", "true", "1", "x", "y", "s", "ok",
 * a date), 0 empty, -1 an explicit no ("no", "false", "0", "n"), -2 anything else. Case and
 * surrounding spaces are ignored. */
int apival_consent(const char *s, size_t len);

#endif
