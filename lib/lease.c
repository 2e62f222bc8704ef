#include "lease.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <unistd.h>

static _Thread_local char holder[128];

const char *lease_holder(void)
{
    if (!holder[0]) {
        char host[64] = "";
        if (gethostname(host, sizeof host - 1) != 0)
            snprintf(host, sizeof host, "unknown");
        snprintf(holder, sizeof holder, "%.60s:%ld:%08x", host, (long)getpid(),
                 (unsigned)randombytes_random());
    }
    return holder;
}

int lease_take(struct db *db, const char *name, int ttl_s)
{
    const char *me = lease_holder();
    struct db_res res;
    /* CLIENT_FOUND_ROWS: affected counts the matched row, also when renewing in the same
     * millisecond changes nothing. */
    int rc =
        db_exec(db,
                "UPDATE leases SET taken_at = IF(holder <=> ?, taken_at, NOW(3)), "
                "holder = ?, expires_at = NOW(3) + INTERVAL ? SECOND "
                "WHERE name = ? AND (holder IS NULL OR holder = ? OR expires_at < NOW(3))",
                DB_ARGS(DB_STR(me), DB_STR(me), DB_INT(ttl_s), DB_STR(name), DB_STR(me)), &res);
    if (rc == DB_ERR_RETRY)
        return 0; /* another node took it at the same moment (certification) */
    if (rc != DB_OK)
        return rc;
    if (res.affected > 0)
        return 1;
    /* The row may not exist yet: created once, then taken. */
    rc = db_exec(db, "INSERT IGNORE INTO leases (name) VALUES (?)", DB_ARGS(DB_STR(name)), &res);
    if (rc == DB_ERR_RETRY)
        return 0;
    if (rc != DB_OK)
        return rc;
    return res.affected > 0 ? lease_take(db, name, ttl_s) : 0;
}

int lease_release(struct db *db, const char *name)
{
    int rc = db_exec(db,
                     "UPDATE leases SET holder = NULL, expires_at = NULL "
                     "WHERE name = ? AND holder = ?",
                     DB_ARGS(DB_STR(name), DB_STR(lease_holder())), NULL);
    return rc == DB_ERR_RETRY ? DB_OK : rc; /* unreleased, it expires */
}

long long lease_token(void)
{
    unsigned long long t = 0;
    while (t == 0) {
        randombytes_buf(&t, sizeof t);
        t &= 0x7fffffffffffffffULL;
    }
    return (long long)t;
}
