/* Which database servers Pregon connects to: db_host as a list of servers, tried in turn at
 * connect and reconnect (failover between the nodes of a Galera cluster, or a primary and its
 * standby behind no proxy); dbhosts.c also holds db_server_supported (declared in db.h), the
 * check of which servers it accepts. */
#ifndef PREGON_DBHOSTS_H
#define PREGON_DBHOSTS_H

#include <stddef.h>

#define DB_HOSTS_MAX 16

struct db_hostport {
    char host[256];
    int port;
};

/* Parses "host[:port], host[:port] ..." (commas or blanks between entries; "[v6addr]:port"
 * for IPv6) into out (up to max entries); an entry without a port takes default_port.
 * Returns the count (>= 1), or -1 when the list is empty, too long or an entry is bad. */
int db_hosts_parse(const char *spec, int default_port, struct db_hostport *out, size_t max);

#endif
