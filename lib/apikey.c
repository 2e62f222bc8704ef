/* API keys (apikey.h). */
#include "apikey.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "userauth.h"

#define APIKEY_RAW     32
#define APIKEY_TAG     "pgn_"
#define APIKEY_TAG_LEN 4
#define APIKEY_B64     43 /* base64url of 32 bytes, no padding */
#define APIKEY_TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%s.%fZ')"

/* A hash key of its own, so a key's hash is never a session token's. */
static const unsigned char hash_key[] = "pregon api key hash v1";

static void key_hash(const unsigned char raw[APIKEY_RAW], char hex[APIKEY_HASH])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, raw, APIKEY_RAW, hash_key, sizeof hash_key - 1);
    sodium_bin2hex(hex, APIKEY_HASH, h, sizeof h);
    sodium_memzero(h, sizeof h);
}

/* Key text -> prefix and hash. Returns 0, or -1 unless text is exactly a key's text. */
static int key_parse(const char *text, char prefix[APIKEY_PREFIX], char hash[APIKEY_HASH])
{
    unsigned char raw[APIKEY_RAW];
    size_t bin_len = 0;
    const char *end = NULL;
    if (!text || strlen(text) != APIKEY_TAG_LEN + APIKEY_B64 ||
        memcmp(text, APIKEY_TAG, APIKEY_TAG_LEN) != 0)
        return -1;
    if (sodium_base642bin(raw, sizeof raw, text + APIKEY_TAG_LEN, APIKEY_B64, NULL, &bin_len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        bin_len != APIKEY_RAW || !end || *end != '\0') {
        sodium_memzero(raw, sizeof raw);
        return -1;
    }
    memcpy(prefix, text, APIKEY_PREFIX - 1);
    prefix[APIKEY_PREFIX - 1] = '\0';
    key_hash(raw, hash);
    sodium_memzero(raw, sizeof raw);
    return 0;
}

/* Requests of the current minute this process reserved and has not used yet, per key. */
#define APIKEY_SLOTS 64
static struct {
    long long id, minute;
    int left;
} slots[APIKEY_SLOTS];
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;

static int local_take(long long id, long long minute)
{
    int ok = 0;
    pthread_mutex_lock(&slots_mu);
    for (size_t i = 0; i < APIKEY_SLOTS && !ok; i++)
        if (slots[i].id == id && slots[i].minute == minute && slots[i].left > 0) {
            slots[i].left--;
            ok = 1;
        }
    pthread_mutex_unlock(&slots_mu);
    return ok;
}

static void local_give(long long id, long long minute, int n)
{
    pthread_mutex_lock(&slots_mu);
    size_t pick = 0;
    for (size_t i = 0; i < APIKEY_SLOTS; i++) {
        if (slots[i].id == id) {
            pick = i;
            break;
        }
        if (slots[i].minute < slots[pick].minute) /* the stalest one makes room */
            pick = i;
    }
    slots[pick].id = id;
    slots[pick].minute = minute;
    slots[pick].left = n;
    pthread_mutex_unlock(&slots_mu);
}

/* Takes up to a second's worth of the minute's requests (at least 1) from the key's row;
 * *got = 0 when the minute's limit is reached. Writes last_used_at with them. */
static int reserve(struct db *db, long long id, long long minute, int per_minute, int *got)
{
    struct db_rows r;
    *got = 0;
    int rc = db_begin(db);
    if (rc == DB_OK)
        rc = db_query(db, "SELECT rate_window, rate_count FROM api_keys WHERE id = ? FOR UPDATE",
                      DB_ARGS(DB_INT(id)), &r);
    if (rc != DB_OK) {
        db_rollback(db);
        return rc;
    }
    long long used = r.nrows && db_int(&r, 0, 0, 0) == minute ? db_int(&r, 0, 1, 0) : 0;
    db_rows_free(&r);
    long long chunk = per_minute / 60 < 1 ? 1 : per_minute / 60 > 50 ? 50 : per_minute / 60;
    long long avail = per_minute - used;
    if (avail <= 0) {
        db_rollback(db);
        return DB_OK;
    }
    long long take = avail < chunk ? avail : chunk;
    rc = db_exec(db,
                 "UPDATE api_keys SET rate_window = ?, rate_count = ?, last_used_at = NOW(3) "
                 "WHERE id = ?",
                 DB_ARGS(DB_INT(minute), DB_INT(used + take), DB_INT(id)), NULL);
    if (rc == DB_OK)
        rc = db_commit(db);
    if (rc != DB_OK) {
        db_rollback(db);
        return rc;
    }
    *got = (int)take;
    return DB_OK;
}

int apikey_authenticate(struct db *db, const char *text, int per_minute, struct apikey_who *out,
                        int *retry_after)
{
    char prefix[APIKEY_PREFIX], hash[APIKEY_HASH];
    *retry_after = 0;
    memset(out, 0, sizeof *out);
    if (key_parse(text, prefix, hash) < 0)
        return APIKEY_INVALID;
    struct db_rows rows;
    /* The creator's role caps the key's; a disabled creator ends it. */
    int rc = db_query(db,
                      "SELECT k.id, k.key_hash, k.role, u.role FROM api_keys k "
                      "LEFT JOIN users u ON u.id = k.created_by_user_id "
                      "WHERE k.prefix = ? AND k.revoked_at IS NULL AND "
                      "(k.created_by_user_id IS NULL OR (u.id IS NOT NULL AND "
                      "u.disabled_at IS NULL))",
                      DB_ARGS(DB_STR(prefix)), &rows);
    if (rc != DB_OK) {
        log_error("api key lookup: %s", db_error(db));
        sodium_memzero(hash, sizeof hash);
        return -1;
    }
    int verdict = APIKEY_INVALID;
    if (rows.nrows == 1 && db_val(&rows, 0, 1) && strlen(db_val(&rows, 0, 1)) == APIKEY_HASH - 1 &&
        sodium_memcmp(db_val(&rows, 0, 1), hash, APIKEY_HASH - 1) == 0) {
        int role = userauth_role_parse(db_val(&rows, 0, 2));
        int cap = db_val(&rows, 0, 3) ? userauth_role_parse(db_val(&rows, 0, 3)) : role;
        if (role > 0 && cap > 0) {
            out->id = db_int(&rows, 0, 0, 0);
            out->role = role < cap ? role : cap;
            memcpy(out->prefix, prefix, sizeof prefix);
            verdict = APIKEY_VALID;
        }
    }
    db_rows_free(&rows);
    sodium_memzero(hash, sizeof hash);
    if (verdict != APIKEY_VALID)
        return verdict;
    /* One fixed window per UNIX minute, counted in the key's row; a process reserves about a
     * second's worth of requests at a time, so the row is written once per chunk, not per
     * request. */
    long long now = (long long)time(NULL), minute = now / 60;
    if (local_take(out->id, minute))
        return APIKEY_VALID;
    int got = 0;
    if (reserve(db, out->id, minute, per_minute, &got) != DB_OK) {
        log_error("api key use: %s", db_error(db));
        return -1;
    }
    if (got == 0) {
        *retry_after = (int)(60 - now % 60);
        return APIKEY_LIMITED;
    }
    local_give(out->id, minute, got - 1);
    return APIKEY_VALID;
}

int apikey_create(struct db *db, const char *name, int role, const char *created_by,
                  long long user_id, char text[APIKEY_TEXT], char prefix[APIKEY_PREFIX],
                  long long *id)
{
    unsigned char raw[APIKEY_RAW];
    char hash[APIKEY_HASH];
    int rc = DB_ERR_DUP;
    /* A prefix is 48 random bits: taken twice in a row is next to impossible. */
    for (int tries = 0; tries < 3 && rc == DB_ERR_DUP; tries++) {
        randombytes_buf(raw, sizeof raw);
        memcpy(text, APIKEY_TAG, APIKEY_TAG_LEN);
        sodium_bin2base64(text + APIKEY_TAG_LEN, APIKEY_TEXT - APIKEY_TAG_LEN, raw, sizeof raw,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        memcpy(prefix, text, APIKEY_PREFIX - 1);
        prefix[APIKEY_PREFIX - 1] = '\0';
        key_hash(raw, hash);
        struct db_res res;
        rc = db_exec(db,
                     "INSERT INTO api_keys (prefix, key_hash, name, role, created_by, "
                     "created_by_user_id) VALUES (?, ?, ?, ?, ?, ?)",
                     DB_ARGS(DB_STR(prefix), DB_STR(hash), DB_STR(name),
                             DB_STR(userauth_role_name(role)), DB_STR(created_by),
                             user_id > 0 ? DB_INT(user_id) : DB_NULL),
                     &res);
        if (rc == DB_OK)
            *id = (long long)res.insert_id;
    }
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(hash, sizeof hash);
    if (rc != DB_OK)
        sodium_memzero(text, APIKEY_TEXT);
    return rc;
}

static json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

int apikey_list_json(struct db *db, int with_revoked, json_object **out)
{
    struct db_rows rows;
    int rc = db_query(
        db,
        "SELECT id, prefix, name, role, created_by, " APIKEY_TS("created_at") ", " APIKEY_TS(
            "last_used_at") ", " APIKEY_TS("revoked_at") ", revoked_by FROM api_keys "
                                                         "WHERE ? OR revoked_at IS "
                                                         "NULL ORDER BY id DESC",
        DB_ARGS(DB_INT(with_revoked != 0)), &rows);
    if (rc != DB_OK)
        return rc;
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < rows.nrows; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(db_int(&rows, i, 0, 0)));
        static const char *const names[] = {NULL,           "prefix",     "name",
                                            "role",         "created_by", "created_at",
                                            "last_used_at", "revoked_at", "revoked_by"};
        for (size_t c = 1; c < sizeof names / sizeof names[0]; c++)
            json_object_object_add(o, names[c], str_or_null(db_val(&rows, i, c)));
        json_object_array_add(a, o);
    }
    db_rows_free(&rows);
    *out = a;
    return DB_OK;
}

int apikey_revoke(struct db *db, long long id, const char *by, int max_role, int *found,
                  char prefix[APIKEY_PREFIX])
{
    struct db_rows rows;
    *found = 0;
    int rc = db_query(db,
                      "SELECT prefix, role FROM api_keys WHERE id = ? AND revoked_at IS NULL "
                      "FOR UPDATE",
                      DB_ARGS(DB_INT(id)), &rows);
    if (rc != DB_OK)
        return rc;
    if (rows.nrows == 1) {
        snprintf(prefix, APIKEY_PREFIX, "%s", db_val(&rows, 0, 0) ? db_val(&rows, 0, 0) : "");
        *found = userauth_role_parse(db_val(&rows, 0, 1)) > max_role ? 2 : 1;
    }
    db_rows_free(&rows);
    if (*found != 1)
        return DB_OK;
    return db_exec(db, "UPDATE api_keys SET revoked_at = NOW(3), revoked_by = ? WHERE id = ?",
                   DB_ARGS(DB_STR(by), DB_INT(id)), NULL);
}
