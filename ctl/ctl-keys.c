/* pregonctl rotate-key: re-encrypts every stored secret under a new key, atomically.
 *
 *  1. the new key is written to KEY.new (mode 0600, fsync'd) while KEY stays in place;
 *  2. one transaction decrypts every secret with the old key, encrypts it with the new one,
 *     checks the result decrypts, updates the row, and logs the rotation in the audit log;
 *  3. only after COMMIT: KEY is hard-linked to KEY.old (kept: old backups need it) and
 *     KEY.new renamed over KEY, each step atomic.
 * A failure before COMMIT leaves database and files as they were (KEY.new removed). A crash
 * between COMMIT and the renames leaves KEY.new holding the key the database uses: running
 * rotate-key again notices (every secret opens with KEY.new) and finishes the renames.
 * The running pregon-fcgi and pregon-worker keep the old key in memory: restart them. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_log.h"
#include "config.h"
#include "ctl.h"
#include "db.h"
#include "secret.h"

/* Every encrypted column (lib/secret.h). A new one must be added here, or rotate-key would
 * leave it under the old key; the integration test checks every *_enc column is listed. */
static const struct {
    const char *table, *column;
} secret_columns[] = {
    {"wa_accounts", "access_token_enc"},
    {"wa_accounts", "app_secret_enc"},
    {"hooks", "secret_enc"}, /* outbound events (fcgi/api-hooks.c) */
};
#define NCOLS (sizeof secret_columns / sizeof secret_columns[0])

/* Counts the secrets that open with key (*ok) and those that don't (*bad). */
static int count_opening(struct db *db, const struct secret_key *key, long long *ok, long long *bad)
{
    *ok = *bad = 0;
    for (size_t c = 0; c < NCOLS; c++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE %s IS NOT NULL",
                 secret_columns[c].column, secret_columns[c].table, secret_columns[c].column);
        struct db_rows rows;
        if (db_query(db, sql, DB_NOARGS, &rows) != DB_OK) {
            fprintf(stderr, "pregonctl: database: %s\n", db_error(db));
            db_rows_free(&rows);
            return -1;
        }
        for (size_t r = 0; r < rows.nrows; r++) {
            char *plain = secret_open(key, (const unsigned char *)rows.v[r * rows.ncols],
                                      rows.len[r * rows.ncols]);
            if (plain)
                (*ok)++;
            else
                (*bad)++;
            secret_free(plain);
        }
        db_rows_free(&rows);
    }
    return 0;
}

static int sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* KEY -> KEY.old (hard link, then rename over any older KEY.old), KEY.new -> KEY. */
static int swap_files(const char *path, const char *newp, const char *oldp)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", oldp);
    unlink(tmp);
    if (link(path, tmp) < 0 || rename(tmp, oldp) < 0) {
        fprintf(stderr, "pregonctl: keeping the old key as %s: %s\n", oldp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(newp, path) < 0) {
        fprintf(stderr, "pregonctl: rename %s to %s: %s\n", newp, path, strerror(errno));
        return -1;
    }
    sync_dir(path);
    return 0;
}

static int reencrypt(struct db *db, const struct secret_key *oldk, const struct secret_key *newk,
                     long long *count)
{
    *count = 0;
    int own = 0; /* the failure was reported here, not by the database */
    int rc = db_begin(db);
    for (size_t c = 0; c < NCOLS && rc == DB_OK; c++) {
        char sel[256], upd[256];
        snprintf(sel, sizeof sel, "SELECT id, %s FROM %s WHERE %s IS NOT NULL FOR UPDATE",
                 secret_columns[c].column, secret_columns[c].table, secret_columns[c].column);
        snprintf(upd, sizeof upd, "UPDATE %s SET %s = ? WHERE id = ?", secret_columns[c].table,
                 secret_columns[c].column);
        struct db_rows rows;
        rc = db_query(db, sel, DB_NOARGS, &rows);
        for (size_t r = 0; r < rows.nrows && rc == DB_OK; r++) {
            const unsigned char *blob = (const unsigned char *)rows.v[r * rows.ncols + 1];
            size_t blen = rows.len[r * rows.ncols + 1];
            char *plain = secret_open(oldk, blob, blen);
            if (!plain) {
                fprintf(stderr,
                        "pregonctl: %s.%s of row %s does not decrypt with the current key; "
                        "nothing was changed\n",
                        secret_columns[c].table, secret_columns[c].column, db_val(&rows, r, 0));
                rc = DB_ERR;
                own = 1;
                break;
            }
            size_t plen = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
            size_t nlen = 0;
            unsigned char *sealed = secret_seal(newk, plain, plen, &nlen);
            char *check = sealed ? secret_open(newk, sealed, nlen) : NULL;
            int same = check && memcmp(check, plain, plen) == 0;
            secret_free(check);
            secret_free(plain);
            if (!same) {
                fprintf(stderr, "pregonctl: re-encryption failed; nothing was changed\n");
                free(sealed);
                rc = DB_ERR;
                own = 1;
                break;
            }
            rc = db_exec(
                db, upd,
                DB_ARGS(DB_STRN((const char *)sealed, nlen), DB_INT(db_int(&rows, r, 0, 0))), NULL);
            free(sealed);
            if (rc == DB_OK)
                (*count)++;
        }
        db_rows_free(&rows);
    }
    if (rc == DB_OK) {
        json_object *detail = json_object_new_object();
        json_object_object_add(detail, "secrets", json_object_new_int64(*count));
        rc = audit_log_write(db, "pregonctl", NULL, "secrets.rotate_key", NULL, 0, 0, detail);
    }
    if (rc == DB_OK)
        rc = db_commit(db);
    if (rc != DB_OK) {
        if (!own)
            fprintf(stderr, "pregonctl: database: %s\n", db_error(db));
        db_rollback(db);
    }
    return rc;
}

int ctl_rotate_key(const struct config *cfg)
{
    const char *path = cfg->secrets_key_file;
    const char *env = getenv("PREGON_SECRETS_KEY");
    if (env && *env) {
        fprintf(stderr,
                "pregonctl: the key comes from PREGON_SECRETS_KEY; unset it to rotate "
                "the key file %s (docs/security.md)\n",
                path);
        return 2;
    }
    char newp[4096], oldp[4096];
    if (snprintf(newp, sizeof newp, "%s.new", path) >= (int)sizeof newp ||
        snprintf(oldp, sizeof oldp, "%s.old", path) >= (int)sizeof oldp) {
        fprintf(stderr, "pregonctl: key path too long\n");
        return 2;
    }
    char err[512] = "";
    struct secret_key oldk, newk;
    if (secret_key_load(&oldk, path, err, sizeof err) < 0) {
        fprintf(stderr, "pregonctl: %s\n", err);
        return 1;
    }
    struct db *db = db_open(cfg);
    int rc = 1;
    long long ok = 0, bad = 0, count = 0;
    if (!db || db_ensure(db) != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db ? db_error(db) : "out of memory");
        goto out;
    }
    if (access(newp, F_OK) == 0) {
        /* A previous run: finished in the database (finish the files) or not (start over). */
        if (secret_key_load(&newk, newp, err, sizeof err) == 0 &&
            count_opening(db, &newk, &ok, &bad) == 0 && bad == 0 && ok > 0) {
            secret_key_wipe(&newk);
            if (swap_files(path, newp, oldp) < 0)
                goto out;
            printf("finished an interrupted rotation: %s is the key now (the previous one is in "
                   "%s)\nrestart pregon-fcgi and pregon-worker\n",
                   path, oldp);
            rc = 0;
            goto out;
        }
        secret_key_wipe(&newk);
        if (count_opening(db, &oldk, &ok, &bad) < 0)
            goto out;
        if (bad) {
            fprintf(stderr,
                    "pregonctl: %lld secrets open with neither %s nor %s; not touching "
                    "anything\n",
                    bad, path, newp);
            goto out;
        }
        unlink(newp); /* left by a run that failed before its commit */
    }
    if (secret_key_create(newp, err, sizeof err) < 0 ||
        secret_key_load(&newk, newp, err, sizeof err) < 0) {
        fprintf(stderr, "pregonctl: %s\n", err);
        unlink(newp);
        goto out;
    }
    if (reencrypt(db, &oldk, &newk, &count) != DB_OK) {
        secret_key_wipe(&newk);
        unlink(newp);
        goto out;
    }
    secret_key_wipe(&newk);
    if (swap_files(path, newp, oldp) < 0) {
        fprintf(stderr,
                "pregonctl: the database now uses the key in %s: run rotate-key again to finish\n",
                newp);
        goto out;
    }
    printf("re-encrypted %lld secrets under a new key in %s\n"
           "the previous key is kept in %s (old database backups need it; shred it when none "
           "does)\nrestart pregon-fcgi and pregon-worker (make stop && make start)\n",
           count, path, oldp);
    rc = 0;
out:
    secret_key_wipe(&oldk);
    db_close(db);
    return rc;
}

int ctl_check_secrets(const struct config *cfg)
{
    struct secret_key key;
    char err[512] = "";
    if (secret_key_load(&key, cfg->secrets_key_file, err, sizeof err) < 0)
        return 1; /* check reports the key itself */
    struct db *db = db_open(cfg);
    long long ok = 0, bad = 0;
    int rc = 1;
    if (db && db_ensure(db) == DB_OK && count_opening(db, &key, &ok, &bad) == 0) {
        if (bad)
            printf("secrets: FAIL %lld of %lld do not decrypt with the key\n", bad, ok + bad);
        else
            printf("secrets: ok (%lld decrypt)\n", ok);
        rc = bad ? 1 : 0;
    }
    secret_key_wipe(&key);
    db_close(db);
    return rc;
}
