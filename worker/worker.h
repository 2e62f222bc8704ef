/* The sending worker: claims recipients, sends them to the Cloud API at the pace Meta allows,
 * records every outcome. Four threads, each with its own role (docs/worker.md):
 *   - the claimer (claimer.c and the files of claimer.h; pacing rules in lib/pace.c):
 *     campaigns, claims, the rate budget, arming, recovery;
 *   - the sender (send.c, the main thread): libcurl multi, starts each request at its slot;
 *   - the recorder (record.c): writes outcomes, pauses, breaker, progressive start;
 *   - the heartbeat (recover.c, heartbeat_main): workers.heartbeat_at and the /metrics counts.
 * They share only the queues below, under one mutex. */
#ifndef PREGON_WORKER_H
#define PREGON_WORKER_H

#include <curl/curl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "abvariant.h"
#include "accounts.h"
#include "cloudapi.h"
#include "config.h"
#include "msgstatus.h"
#include "pace.h"

struct db;
struct job;

struct jobq {
    struct job *head, *tail;
    size_t n;
};

/* Where an account's requests go; shared by its jobs, freed with the last one. */
struct endpoint {
    char *url;
    struct curl_slist *hdrs; /* holds the token: never logged */
    int tls;                 /* https: HTTP/2 may be negotiated */
    int refs;
};

/* A campaign as the worker knows it. Config fields are written by the claimer only;
 * ramp_* by the recorder only; refs/running under the mutex. */
/* One A/B variant of a campaign as the claimer sends it (lib/abvariant.h): its template, its
 * mapping and its request laid out once, like the campaign's own. */
struct camp_variant {
    int variant; /* 1..ABVAR_MAX */
    char template_name[513];
    char language[17];
    json_object *param_map;
    struct cloudapi_slots slots;
    int have_slots; /* 0: its template is not in the cache; its requests fail */
    struct cloudapi_prepared prep;
    int prep_state;
};

struct camp {
    struct camp *next;
    long long id, account_id;
    char template_name[513];
    char language[17];
    json_object *body_params; /* array or NULL */
    json_object *param_map;   /* object with header/body/buttons, or NULL */
    struct cloudapi_slots slots;
    int have_slots;
    struct cloudapi_prepared prep; /* claimer: the request laid out (send.c) */
    int prep_state;                /* 0 not yet, 1 ready, -1 built one by one */
    int batch_size, interval_ms, daily_cap, win_start, win_end;
    int freq_skip;       /* over the account's frequency cap: skipped (1) or waits (0) */
    struct abvar_set ab; /* A/B split (ab.n 0: none), read when the campaign is met */
    struct camp_variant var[ABVAR_MAX]; /* var[i] is variant ab.v[i].variant */
    atomic_int ramp_step; /* the claimer reads it from the database, the recorder judges by it */
    int running, seen, refs;
    /* claimer: this campaign's own timeline (interval, progressive start) */
    long long cap_interval_us;
    long long cslot_next, cslot_left;
    int sendable;          /* running and not waiting (a spent budget aside: see claimable) */
    int claimable;         /* sendable and its budget (tier, daily cap) not spent */
    int retries_claimable; /* the tier alone is spent: its retries may still be claimed */
    int paced;             /* waits for template pacing: its claimed jobs go back too */
    char wait[256];        /* the wait_reason last written */
    /* Recipients over the frequency cap wait (claims deferred some): when the first of them
     * fits (unix s; 0 none), the cap and its window; freq_idle: the last claim found nothing
     * due. The claimer's own (camp_refresh_one says so in the wait reason). */
    long long freq_wait_until, freq_cap;
    int freq_win_s, freq_idle;
    int wait_want;            /* the in-flight need that reason gave, when it gave one */
    long long claimed_total;  /* for round robin */
    double share_empty_since; /* claimer: since when our share of its queue had nothing due */
    int claim_empty;          /* last claim found nothing */
    /* Where the last full claim ended (next_attempt_at, phone): the next one starts after
     * it, not over the index entries its predecessors left delete-marked until purge. */
    char claim_after_at[32];
    char claim_after_phone[17];
    /* recorder */
    int ramp_seen_step, ramp_attempts, ramp_errors;
};

/* An account as the claimer paces it. */
struct acct {
    struct acct *next;
    long long id;
    char waba_id[33];
    char timezone[65];
    char tier[20];
    int mps;
    double factor;             /* < 1 after a real limit, recovers (lib/pace.h) */
    long long throttled_us;    /* last 130429, local clock */
    int thr_answers, thr_hits; /* recorder (under mu): answers and 130429s this window */
    long long thr_window_us;   /* claimer: when the window started (local clock) */
    double thr_limit;          /* claimer: the known limit as a share of the rate (0 = none) */
    long long thr_limit_us;    /* claimer: when it was last found (local clock) */
    long long slot_next, slot_left, slot_iv; /* reserved account slots, local clock */
    long long tier_used;                     /* unique users in 24 h (cached) */
    double tier_checked;
    long long grant_room; /* claimer, on a cluster: this worker's tier grant (lib/tier_grant.h) */
    double grant_until;   /* ... good until (monotonic; a margin before it expires) */
    double grant_retry;   /* no new grant before (monotonic): the last found the tier full */
    struct endpoint *ep;
    int seen;
    char pace_key[40];
    int pace_row;      /* the timeline row exists */
    int lock_row;      /* the business's claim lock row (w:<waba>) exists */
    struct jobq waitq; /* claimer: jobs waiting for a slot (armed or not), in order */
    /* sender: start times of this worker's last sends to the number (a 1 s window) */
    long long *sent_ring;
    int ring_cap, ring_n, ring_head;
    /* In flight (all under mu; lib/pace.h): the sender counts and measures, the claimer sizes
     * (acct_size_inflight), the heartbeat reports (/metrics). */
    int inflight, inflight_peak;  /* sender: requests in flight now, most since the report */
    long long latency_us;         /* sender: answer time estimate (pace_latency_next) */
    long long latency_at_us;      /* sender: its last sample (local clock) */
    int inflight_target;          /* claimer: at most this many in flight */
    int inflight_want;            /* claimer: what the rate and latency ask for */
    enum pace_inflight_cap bound; /* claimer: what cut the target (PACE_CAP_NONE: nothing) */
    long long capped_us;          /* sender: last slot lost to the worker's bound */
    enum pace_inflight_cap capped_why;
    long long capped_n;        /* sender: slots lost to it, for /metrics */
    long long capped_reported; /* heartbeat: capped_n already counted in /metrics */
};

/* What the worker decided about one send. */
struct outcome {
    enum msg_status status;  /* new recipient status */
    const char *log_outcome; /* send_log.outcome, NULL = no row (released) */
    long long retry_at_ms;   /* pending again: when, unix ms */
    int release;             /* never sent: back to pending without an attempt */
    int code;
    char text[1024];
};

struct job {
    struct job *next;
    long long id, contact_id;
    struct camp *camp;
    struct acct *acct;
    struct endpoint *ep;
    unsigned long long token;
    char phone[17];
    int attempt;
    char *body; /* request JSON, malloc'd */
    size_t body_len;
    int prereq_calls; /* sender: attempts libcurl made of this request (sendverdict_curl_prereq) */
    long long slot_us, tol_us; /* start at slot (local clock, us); 0 tol = whenever */
    int armed, started, heap_idx;
    int easy_idx; /* sender: the curl handle it runs on */
    int held;     /* sender: waited for a place in flight (the worker's bound) */
    int solo;     /* record row by row (its group did not match as a whole) */
    int was_sent; /* an earlier attempt was accepted (sent_at set): already counted as sent */
    int variant;  /* the A/B variant it is sent with (1..4), 0 the campaign's own template */
    long http_status;
    double latency_s; /* the request's total time, for the latency histogram */
    CURLcode curl_rc;
    char curl_err[CURL_ERROR_SIZE];
    char *resp;
    size_t resp_len, resp_cap;
    struct cloudapi_result res;
    struct outcome out;
};

struct worker {
    struct config cfg;
    const char *config_path;
    struct secret_key *key;
    long long worker_id; /* under mu */
    int part, nparts;    /* its share of the queue (lib/queue.h queue_partition), under mu */
    double part_checked; /* claimer: when it last read its share (monotonic) */
    /* claimer: how far ahead jobs are armed (lib/pace.h pace_arm_ahead_us) and the slowest
     * passes it saw in this window and the last (claimer_arm_ahead) */
    long long arm_ahead_us, stall_us[2];
    double stall_since;
    int ramp_steps[PACE_RAMP_MAX], nramp;

    pthread_mutex_t mu;
    pthread_cond_t cond; /* recorder waits on it */
    /* armed jobs waiting for their slot: a min-heap on slot_us (claimer -> sender) */
    struct job **heap;
    size_t nheap, capheap;
    struct jobq done;   /* sender -> recorder */
    struct jobq reslot; /* sender -> claimer: missed their slot */
    int inflight;
    int inflight_limit;                  /* handles at most (pace_inflight_limit) */
    enum pace_inflight_cap inflight_why; /* what sets that limit */
    struct camp *camps;                  /* claimer adds; freed when not running and unreferenced */
    struct acct *accts;
    volatile int stopping; /* stop claiming; release; finish */
    int claimer_done, sender_done, recorder_done;
    int reload; /* SIGHUP seen */
    long long drain_deadline_us;
    int idle_passes;

    /* claimer only: claims whose commit answer was lost */
    struct orphan {
        unsigned long long token;
        long long campaign_id;
    } orphans[64];
    size_t norphans;

    /* sender only */
    CURLM *multi;
    CURL **easy; /* made as needed, up to inflight_limit */
    int neasy, *free_idx, nfree, env_proxy;
    int ep_fd, wake_fd;    /* epoll over libcurl's sockets; an eventfd that wakes the sender */
    long long curl_due_us; /* libcurl's timer (local clock), -1 none */
};

extern atomic_int worker_sig_stop, worker_sig_hup;

long long now_us(void); /* wall clock, microseconds */
double now_monotonic(void);

/* the claimer thread (claimer.c, recover.c, schedule.c, jobs.c) */
void *claimer_main(void *arg);
void *heartbeat_main(void *arg);
void claim_heartbeat(struct worker *w, struct db *db);
int claim_register(struct worker *w, struct db *db);
void claim_unregister(struct worker *w, struct db *db);
void job_free(struct job *j);
void job_pool_drain(void); /* at exit, every thread done */
void camp_free(struct camp *c);
void endpoint_put(struct endpoint *ep);

/* hooks.c: the outbound events' deliverer thread; stops when hooks_stop or worker_sig_stop */
void *hooks_main(void *arg);
extern atomic_int hooks_stop;

/* record.c: the recorder thread */
void *recorder_main(void *arg);

/* send.c: the sender (main thread) */
int send_init(struct worker *w);
void send_cleanup(struct worker *w);
void send_loop(struct worker *w);
/* Builds the request of a claimed job (claimer thread); 0, or -1 with the job's outcome set
 * to failed and the reason. */
int send_build(struct job *j);
/* The template a recipient of c is sent with: its A/B variant's (1..4), else the campaign's
 * (borrowed from c). */
void send_job_template(const struct camp *c, int variant, const char **name, const char **lang);
void send_wakeup(struct worker *w);

/* queues and the heap (callers hold mu) */
void jobq_push(struct jobq *q, struct job *j);
struct job *jobq_pop(struct jobq *q);
int heap_push(struct worker *w, struct job *j);
struct job *heap_pop(struct worker *w);
void heap_remove(struct worker *w, struct job *j);

#endif
