/* Users as the domain layer writes them: the one path that creates a user and the one path
 * that sets a new password, shared by the API (fcgi/api-users.c, fcgi/api-session.c) and
 * pregonctl (ctl/ctl-users.c). Same validation, same hashing, same audit row (lib/audit_log.h)
 * in the same transaction, whoever asks. The password policy itself is userauth_password_check
 * (lib/userauth.h); users_password_new is the one place a new password is judged, so every
 * rule about new passwords belongs there. */
#ifndef PREGON_USERS_H
#define PREGON_USERS_H

#include <stddef.h>

#include "userauth.h"

struct db;

enum users_rc {
    USERS_OK = 0,
    USERS_WEAK = 1,      /* the new password breaks the policy: *why says how (English) */
    USERS_EXISTS = 2,    /* a user with this e-mail address exists already */
    USERS_NOT_FOUND = 3, /* no such user */
    USERS_NOMEM = 4,
    USERS_DB = 5,      /* a database failure; db_error() says which; nothing was changed */
    USERS_BREACHED = 6 /* a known-breached or common password: *why says so (English) */
};

/* The API's error code for USERS_WEAK or USERS_BREACHED ("weak_password", "breached_password"). */
const char *users_weak_code(int rc);

/* Who makes the change, for users.created_by and the audit log: the signed-in user's e-mail
 * and the client's address (API), or "pregonctl" and NULL. */
struct users_actor {
    const char *actor;
    const char *address;
};

/* Judges a new password for the user with this e-mail address and hashes it (Argon2id).
 * Returns USERS_OK (hash filled), USERS_WEAK (*why set, a static string) or USERS_NOMEM. */
int users_password_new(const char *pw, size_t len, const char *email, char hash[USERAUTH_HASH_MAX],
                       const char **why);

/* Creates a user: email normalized already (userauth_email_normalize), name NULL for none,
 * role USERAUTH_*. Audits "user.create" with the e-mail and the role. *id gets the new id.
 * Returns USERS_OK, USERS_WEAK, USERS_EXISTS, USERS_NOMEM or USERS_DB. */
int users_create(struct db *db, const struct users_actor *who, const char *email, const char *name,
                 int role, const char *pw, size_t len, long long *id, const char **why);

/* Sets the password of user id (a reset by an administrator or pregonctl): ends every session
 * of theirs, forgets their failed sign-ins, and with enable also enables a disabled user.
 * Audits "user.password_reset" (or "user.password_reset_enable"). Returns USERS_OK,
 * USERS_WEAK, USERS_NOT_FOUND, USERS_NOMEM or USERS_DB. */
int users_password_reset(struct db *db, const struct users_actor *who, long long id, const char *pw,
                         size_t len, int enable, const char **why);

/* A user changes their own password (they proved the current one already): ends every session
 * of theirs (the caller starts a new one for this client) and audits "user.password_change".
 * email: theirs, for the policy. Returns USERS_OK, USERS_WEAK, USERS_NOMEM or USERS_DB. */
int users_password_change(struct db *db, const struct users_actor *who, long long id,
                          const char *email, const char *pw, size_t len, const char **why);

/* The id of the user with this normalized e-mail address: USERS_OK, USERS_NOT_FOUND or
 * USERS_DB. */
int users_find_email(struct db *db, const char *email, long long *id);

/* Ends every open session of a user (reason: "password_reset", "disabled", ...). Runs in the
 * caller's transaction. Returns a db_rc. */
int users_sessions_revoke(struct db *db, long long id, const char *reason);

#endif
