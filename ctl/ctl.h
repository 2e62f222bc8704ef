/* pregonctl commands that live in their own files (ctl/ctl-users.c, ctl/ctl-keys.c). Each
 * returns the process exit status: 0 done, 1 failed, 2 usage. */
#ifndef PREGON_CTL_H
#define PREGON_CTL_H

struct config;

/* user-create --email E --role R [--name N]: the password from $PREGON_PASSWORD, else a
 * random one printed once. */
int ctl_user_create(const struct config *cfg, int argc, char **argv);
/* user-reset-password --email E [--enable]: same password source; ends the user's sessions
 * and forgets their failed sign-ins. */
int ctl_user_reset_password(const struct config *cfg, int argc, char **argv);
/* user-unlock --email E: forgets the e-mail's failed sign-ins (a lock for everyone, and the
 * delays), from the machine, whatever the API says (docs/security.md). */
int ctl_user_unlock(const struct config *cfg, int argc, char **argv);
/* user-list */
int ctl_user_list(const struct config *cfg);
/* user-init: when there is no user at all, creates the first superadmin from
 * $PREGON_ADMIN_EMAIL (default admin@localhost) and $PREGON_ADMIN_PASSWORD (default: random,
 * printed once). Prints nothing when users exist. */
int ctl_user_init(const struct config *cfg);
/* rotate-key: re-encrypts every stored secret under a new key (docs/security.md). */
int ctl_rotate_key(const struct config *cfg);
/* Decrypts every stored secret with the current key; prints a line for check. */
int ctl_check_secrets(const struct config *cfg);

/* migrate --admin-defaults FILE [--host H]...: runs scripts/migrate.sh (ctl/ctl-ops.c). */
int ctl_migrate(const struct config *cfg, int argc, char **argv);
/* campaign-status ID: status, pause reason and counters of one campaign. */
int ctl_campaign_status(const struct config *cfg, int argc, char **argv);
/* contacts-import FILE|- [--tags a,b] [--consent-source S] [--country CC] [--dry-run] [--json]
 * (ctl/ctl-contacts.c): the API's contact import. Exit 0 every row stored, 3 stored with some
 * rows rejected (listed with their line), 1 nothing imported. */
int ctl_contacts_import(const struct config *cfg, int argc, char **argv);
/* Each account's Graph API with its token: GET /{version}/{phone_number_id}. */
int ctl_check_meta(const struct config *cfg);
/* sql-explain [NAME ARGS-JSON] (ctl/ctl-sqlexplain.c): without arguments lists the named
 * statements (name, argument shape, text); with them prints EXPLAIN of that statement as
 * JSON. */
int ctl_sql_explain(const struct config *cfg, int argc, char **argv);

#endif
