/* Matching request paths against route patterns such as "/api/campaigns/{id}/start".
 * A "{name}" segment matches a positive decimal id of at most 18 digits. */
#ifndef PREGON_ROUTE_H
#define PREGON_ROUTE_H

#include <stddef.h>

#define ROUTE_MAX_IDS 4

/* Returns 1 when path matches pattern, filling ids[0..*nids) in order; 0 otherwise.
 * A path with empty segments, "." or "..", or over 1024 bytes never matches. */
int route_match(const char *pattern, const char *path, long long ids[ROUTE_MAX_IDS], int *nids);

#endif
