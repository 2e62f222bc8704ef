/* Leases: a job one process at a time may do, across every host and every node of a Galera
 * cluster (GET_LOCK is per server: two nodes would each grant it). A lease is a written row
 * (sql/170: name, holder, expiry), so two nodes taking it at once conflict at certification
 * and one of them loses. */
#ifndef PREGON_LEASE_H
#define PREGON_LEASE_H

#include "db.h"

/* This thread's holder name (host, pid, thread, random): stable for the thread's life. */
const char *lease_holder(void);

/* Takes or renews the lease name for ttl_s seconds, outside a transaction (it commits).
 * Returns 1 when this thread holds it now, 0 when another live holder does (or took it at
 * the same moment on another node), or a negative db_rc. */
int lease_take(struct db *db, const char *name, int ttl_s);

/* Lets go of it (only if held by this thread). Returns a db_rc. */
int lease_release(struct db *db, const char *name);

/* A random token for a row a process marks as its own (an import's marker and owner): never
 * 0, and positive as both a long long and a BIGINT UNSIGNED. */
long long lease_token(void);

#endif
