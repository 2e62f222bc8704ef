/* Campaign counters: changed in the same transaction as the recipients they count. */
#ifndef PREGON_COUNTERS_H
#define PREGON_COUNTERS_H

#include "msgstatus.h"

struct db;

/* Adds d to the counters of campaign_id. Returns a db_rc. */
int counters_apply(struct db *db, long long campaign_id, const struct msg_delta *d);

#endif
