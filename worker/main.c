/* pregon-worker: the sender.
 *
 *   pregon-worker [-c FILE] [--drain SECONDS]
 *
 * Any number of workers, on one machine or several, share the database (docs/worker.md).
 * SIGTERM or SIGINT: stop claiming, finish what is in flight, record every result, release
 * what never started, exit 0. SIGHUP: read the configuration again (pace, progressive start,
 * breaker, timeouts; the database and worker_inflight need a restart).
 * --drain SECONDS: work for at most that long (less when there is nothing to do) and exit;
 * for cron on shared hosting. A lock (worker_lock_file) keeps two drains from overlapping. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "privdrop.h"
#include "secret.h"
#include "webhook_apply.h"
#include "worker.h"

/* Set by the handlers on whichever thread takes the signal, read by the claimer: lock-free
 * atomics, which a handler may write and another thread may read (sig_atomic_t is only safe
 * within one thread; ThreadSanitizer reports it). */
atomic_int worker_sig_stop, worker_sig_hup;

static void on_stop(int sig)
{
    (void)sig;
    worker_sig_stop = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    worker_sig_hup = 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: pregon-worker [-c FILE] [--drain SECONDS]\n");
}

int main(int argc, char **argv)
{
    static struct worker w;
    static struct secret_key key;
    char err[512] = "";
    long drain_s = 0;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            i++;
        } else if (!strcmp(argv[i], "--drain") && i + 1 < argc) {
            char *end;
            errno = 0;
            drain_s = strtol(argv[++i], &end, 10);
            if (errno || *end || drain_s < 1 || drain_s > 86400) {
                usage();
                return 2;
            }
        } else {
            usage();
            return 2;
        }
    }
    w.config_path = config_path_from_args(argc, argv);
    if (config_load(&w.cfg, w.config_path, err, sizeof err) < 0) {
        fprintf(stderr, "pregon-worker: %s\n", err);
        return 1;
    }
    if (log_init("worker", w.cfg.log_level, w.cfg.log_file) < 0) {
        fprintf(stderr, "pregon-worker: cannot open log file %s\n", w.cfg.log_file);
        return 1;
    }
    w.nramp = pace_ramp_parse(w.cfg.worker_ramp_steps, w.ramp_steps, PACE_RAMP_MAX);
    if (w.nramp < 0) {
        log_error("worker_ramp_steps must be increasing messages/s like 10,20,40: %s",
                  w.cfg.worker_ramp_steps);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lock_fd = -1;
    if (drain_s) {
        lock_fd = open(w.cfg.worker_lock_file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock_fd < 0) {
            log_error("cannot open the lock file %s: %s", w.cfg.worker_lock_file, strerror(errno));
            return 1;
        }
        if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
            log_info("another draining worker holds %s; nothing to do", w.cfg.worker_lock_file);
            close(lock_fd);
            config_free(&w.cfg);
            return 0;
        }
        w.drain_deadline_us = now_us() + (long long)drain_s * 1000000;
    }

    if (secret_key_load(&key, w.cfg.secrets_key_file, err, sizeof err) < 0) {
        log_error("%s", err);
        return 1;
    }
    w.key = &key;
    /* The key read and the lock taken: never send as root (lib/privdrop.c). */
    if (privdrop_to(w.cfg.run_as_user, err, sizeof err) < 0) {
        log_error("%s", err);
        fprintf(stderr, "pregon-worker: %s\n", err);
        secret_key_wipe(&key);
        return 1;
    }
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cond, NULL);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || send_init(&w) < 0) {
        log_error("libcurl initialisation failed");
        return 1;
    }
    struct db *db = db_open(&w.cfg);
    if (!db) {
        log_error("out of memory");
        return 1;
    }
    /* Wait for the database rather than exit: it may be starting or restarting. */
    while (!worker_sig_stop && (db_ensure(db) != DB_OK || claim_register(&w, db) != DB_OK)) {
        log_warn("database not reachable (%s); retrying", db_error(db));
        sleep(1);
    }
    db_close(db);
    if (worker_sig_stop) {
        send_cleanup(&w);
        curl_global_cleanup();
        secret_key_wipe(&key);
        config_free(&w.cfg);
        return 0;
    }
    log_info("worker %lld started%s", w.worker_id, drain_s ? " (draining)" : "");
    /* The recorder applies early statuses (webhook_apply_pending): with the configured
     * parameter-error policy, as the FastCGI applier does, not the built-in defaults. */
    webhook_apply_set_policy(w.cfg.worker_param_pause);

    pthread_t claimer, recorder, beat, hooks;
    if (pthread_create(&beat, NULL, heartbeat_main, &w) != 0 ||
        pthread_create(&recorder, NULL, recorder_main, &w) != 0 ||
        pthread_create(&claimer, NULL, claimer_main, &w) != 0 ||
        pthread_create(&hooks, NULL, hooks_main, &w) != 0) {
        log_error("cannot start threads");
        return 1;
    }
    send_loop(&w);
    pthread_join(recorder, NULL);
    pthread_join(claimer, NULL);
    atomic_store(&hooks_stop, 1);
    pthread_join(hooks, NULL);
    pthread_join(beat, NULL);
    log_info("worker %lld stopped", w.worker_id);

    struct acct *a = w.accts;
    while (a) {
        struct acct *next = a->next;
        endpoint_put(a->ep);
        free(a->sent_ring);
        free(a);
        a = next;
    }
    struct camp *c = w.camps;
    while (c) {
        struct camp *next = c->next;
        camp_free(c);
        c = next;
    }
    free(w.heap);
    send_cleanup(&w);
    job_pool_drain();
    curl_global_cleanup();
    secret_key_wipe(&key);
    config_free(&w.cfg);
    if (lock_fd >= 0)
        close(lock_fd);
    return 0;
}
