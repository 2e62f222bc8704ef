/* API keys (issue 20): `Authorization: Bearer <key>` instead of a session, for CRMs and
 * scripts. A key is "pgn_" and 43 base64url characters (32 random bytes); the database keeps
 * its first 12 characters (the prefix, shown and used to find the row) and a hex BLAKE2b of
 * the random bytes, compared in constant time. A key acts with its role, never above its
 * creator's current role, and stops when revoked or when its creator is disabled. The one
 * implementation of the api_keys table: pregon-fcgi's access check and /api/keys call it. */
#ifndef PREGON_APIKEY_H
#define PREGON_APIKEY_H

#include <json-c/json.h>
#include <stddef.h>

struct db;

#define APIKEY_TEXT   48 /* "pgn_" + 43 characters and NUL */
#define APIKEY_PREFIX 13 /* the first 12 characters and NUL */
#define APIKEY_HASH   65 /* hex of a 32-byte BLAKE2b and NUL */

/* What a presented key turned out to be. */
enum apikey_verdict {
    APIKEY_VALID = 0,   /* *out is filled */
    APIKEY_INVALID = 1, /* malformed, unknown, revoked, or its creator disabled: one answer */
    APIKEY_LIMITED = 2  /* over the per-key rate limit: *retry_after seconds to wait */
};

struct apikey_who {
    long long id;
    int role; /* USERAUTH_VIEWER..SUPERADMIN: the key's, capped at its creator's */
    char prefix[APIKEY_PREFIX];
};

/* Checks the key text (e.g. the Bearer token) and counts the request against the key's limit:
 * per_minute requests per UNIX minute, shared by every process through the key's row, from
 * which a process reserves about a second's worth at a time (per_minute / 60, 1 to 50); the
 * row, last_used_at with it, is written once per reservation, not per request. Runs its own
 * short transaction: call it outside one. Returns a verdict, or -1 when the database could
 * not be asked. */
int apikey_authenticate(struct db *db, const char *text, int per_minute, struct apikey_who *out,
                        int *retry_after);

/* Creates a key; its text goes to text (shown once, never stored) and its id to *id. role is
 * a USERAUTH_* value; created_by names the creator (audit actor), user_id is theirs (0: none,
 * auth_mode none). Returns a db_rc. Call it inside the transaction that audits it. */
int apikey_create(struct db *db, const char *name, int role, const char *created_by,
                  long long user_id, char text[APIKEY_TEXT], char prefix[APIKEY_PREFIX],
                  long long *id);

/* The keys, newest first: [{"id", "prefix", "name", "role", "created_by", "created_at",
 * "last_used_at", "revoked_at", "revoked_by"}]; revoked ones only when with_revoked. Returns
 * a db_rc; *out is the caller's on DB_OK. */
int apikey_list_json(struct db *db, int with_revoked, json_object **out);

/* Revokes key id on behalf of by, when its role is at most max_role. Returns a db_rc with
 * *found = 0 (no such live key), 1 (revoked; *prefix filled), 2 (its role is above
 * max_role: left alone). */
int apikey_revoke(struct db *db, long long id, const char *by, int max_role, int *found,
                  char prefix[APIKEY_PREFIX]);

#endif
