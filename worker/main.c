/* pregon-worker: the long-running sender.
 *
 *   pregon-worker [-c FILE]
 *
 * Any number of workers, on one machine or several, share the database: claims use
 * SELECT ... FOR UPDATE SKIP LOCKED, so none sends what another has claimed. SIGTERM or
 * SIGINT: stop claiming, finish what is in flight, record it, release the rest, exit 0. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "secret.h"
#include "worker.h"

#define HEARTBEAT_S      5
#define LEASE_CHECK_S    10
#define ACCOUNTS_RELOAD_S 15

static volatile int stopping;

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

/* One pass over the running campaigns: a batch of each. Returns how many were sent. */
static size_t work_once(struct worker *w)
{
    struct campaign *camps = NULL;
    size_t ncamps = 0, sent = 0;
    if (claim_running_campaigns(w, &camps, &ncamps) != DB_OK) {
        log_warn("listing campaigns: %s", db_error(w->db));
        return 0;
    }
    for (size_t i = 0; i < ncamps && !stopping; i++) {
        struct campaign *c = &camps[i];
        const struct account *acc = accounts_find(&w->accounts, c->account_id);
        if (!acc)
            continue;
        int limit = c->batch_size < w->cfg.worker_batch ? c->batch_size : w->cfg.worker_batch;
        struct batch b;
        int rc = claim_batch(w, c, limit, &b);
        if (rc != DB_OK) {
            log_warn("claiming for campaign %lld: %s", c->id, db_error(w->db));
            continue;
        }
        if (b.n == 0) {
            claim_complete_if_done(w, c->id);
            continue;
        }
        b.acc = acc;
        send_build(w, &b);
        send_batch(w, &b);
        claim_record(w, &b);
        sent += b.n;
        if (log_enabled(LOG_DEBUG))
            log_debug("campaign %lld: batch of %zu recorded", c->id, b.n);
        batch_free(&b);
        claim_complete_if_done(w, c->id);
    }
    claim_campaigns_free(camps, ncamps);
    return sent;
}

int main(int argc, char **argv)
{
    static struct worker w;
    static struct secret_key key;
    char err[512] = "";
    if (config_load(&w.cfg, config_path_from_args(argc, argv), err, sizeof err) < 0) {
        fprintf(stderr, "pregon-worker: %s\n", err);
        return 1;
    }
    if (log_init("worker", w.cfg.log_level, w.cfg.log_file) < 0) {
        fprintf(stderr, "pregon-worker: cannot open log file %s\n", w.cfg.log_file);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    w.stopping = &stopping;

    if (secret_key_load(&key, w.cfg.secrets_key_file, err, sizeof err) < 0) {
        log_error("%s", err);
        return 1;
    }
    w.key = &key;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || send_init(&w) < 0) {
        log_error("libcurl initialisation failed");
        return 1;
    }
    w.db = db_open(&w.cfg);
    if (!w.db) {
        log_error("out of memory");
        return 1;
    }
    /* Wait for the database rather than exit: it may be starting or restarting. */
    while (!stopping && (db_ensure(w.db) != DB_OK || claim_register(&w) != DB_OK)) {
        log_warn("database not reachable (%s); retrying", db_error(w.db));
        sleep(1);
    }
    log_info("worker %lld started", w.worker_id);

    double last_beat = 0, last_lease = 0, last_accounts = 0;
    while (!stopping) {
        double now = now_monotonic();
        if (now - last_accounts >= ACCOUNTS_RELOAD_S) {
            struct account_list fresh;
            if (accounts_load(w.db, &key, &fresh) == DB_OK) {
                accounts_free(&w.accounts);
                w.accounts = fresh;
                last_accounts = now;
            }
        }
        if (now - last_beat >= HEARTBEAT_S) {
            claim_heartbeat(&w);
            last_beat = now;
        }
        if (now - last_lease >= LEASE_CHECK_S) {
            claim_recover_leases(&w);
            last_lease = now;
        }
        if (work_once(&w) == 0 && !stopping)
            usleep((useconds_t)w.cfg.worker_poll_ms * 1000);
    }
    claim_unregister(&w);
    log_info("worker %lld stopped", w.worker_id);
    accounts_free(&w.accounts);
    send_cleanup(&w);
    db_close(w.db);
    curl_global_cleanup();
    secret_key_wipe(&key);
    config_free(&w.cfg);
    return 0;
}
