#include "dbhosts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

/* One entry, s[0..n): host, host:port, [v6]:port or a bare v6 address (more than one ':'). */
static int parse_one(const char *s, size_t n, int default_port, struct db_hostport *h)
{
    const char *host = s, *port = NULL;
    size_t hn = n;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close || close == s + 1)
            return -1;
        host = s + 1;
        hn = (size_t)(close - host);
        size_t rest = n - (size_t)(close + 1 - s);
        if (rest > 0) {
            if (close[1] != ':' || rest == 1)
                return -1;
            port = close + 2;
        }
    } else {
        const char *c = memchr(s, ':', n);
        if (c && !memchr(c + 1, ':', n - (size_t)(c + 1 - s))) {
            hn = (size_t)(c - s);
            port = c + 1;
        }
    }
    if (hn == 0 || hn >= sizeof h->host)
        return -1;
    memcpy(h->host, host, hn);
    h->host[hn] = '\0';
    h->port = default_port;
    if (port) {
        size_t pn = n - (size_t)(port - s);
        char num[8];
        if (pn == 0 || pn >= sizeof num)
            return -1;
        memcpy(num, port, pn);
        num[pn] = '\0';
        char *end;
        errno = 0;
        long p = strtol(num, &end, 10);
        if (errno || *end || p < 1 || p > 65535)
            return -1;
        h->port = (int)p;
    }
    return 0;
}

int db_hosts_parse(const char *spec, int default_port, struct db_hostport *out, size_t max)
{
    size_t count = 0;
    if (!spec)
        return -1;
    const char *p = spec;
    for (;;) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, ", \t");
        if (count >= max || parse_one(p, n, default_port, &out[count]) != 0)
            return -1;
        count++;
        p += n;
    }
    return count ? (int)count : -1;
}

int db_server_supported(const char *info, unsigned long version, char *why, size_t len)
{
    if (!info || !strstr(info, "MariaDB")) {
        snprintf(why, len,
                 "unsupported database server %s (not MariaDB): Pregon needs MariaDB 10.6 or "
                 "later (INSERT ... RETURNING, SKIP LOCKED, IF NOT EXISTS in ALTER TABLE); "
                 "MySQL is not supported",
                 info ? info : "(unknown)");
        return -1;
    }
    if (version < 100600) {
        snprintf(why, len,
                 "database server MariaDB %s is too old: Pregon needs MariaDB 10.6 or later "
                 "(INSERT ... RETURNING, SKIP LOCKED)",
                 info);
        return -1;
    }
    return 0;
}
