/* Giving up root, as OpenBSD's slowcgi does: pregon-fcgi and pregon-worker never serve as
 * root. Started as root they need run_as_user (the user to become) and become it after what
 * needs root is done (the socket bound, the key and the configuration read, the log open). */
#ifndef PREGON_PRIVDROP_H
#define PREGON_PRIVDROP_H

#include <stddef.h>

/* Not root (real or effective): returns 0 and does nothing. Root: refuses (-1, reason in err)
 * without user, or when user is unknown or is root itself; otherwise sets the supplementary
 * groups to user's (initgroups), then the group and user ids (real, effective and saved),
 * and verifies: every id is user's, no group 0 unless user is in it, and setuid(0) fails.
 * Returns 0 when the process is user, -1 with the reason in err. */
int privdrop_to(const char *user, char *err, size_t errlen);

#endif
