/* Matching request paths against route patterns such as "/api/campaigns/{id}/start".
 * A "{name}" segment matches a positive decimal id of at most 18 digits; a "{*name}" segment
 * any key of 1 to 64 unreserved URL characters (letters, digits, '-', '.', '_', '~'), which
 * the handler reads from the path itself (route_last_segment). */
#ifndef PREGON_ROUTE_H
#define PREGON_ROUTE_H

#include <stddef.h>

#define ROUTE_MAX_IDS 4

/* Returns 1 when path matches pattern, filling ids[0..*nids) in order; 0 otherwise.
 * A path with empty segments, "." or "..", or over 1024 bytes never matches. */
int route_match(const char *pattern, const char *path, long long ids[ROUTE_MAX_IDS], int *nids);

/* The text after the path's last '/'. */
const char *route_last_segment(const char *path);

#endif
