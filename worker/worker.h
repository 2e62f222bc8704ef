/* The sending worker: claims batches of recipients, sends them to the Cloud API, records
 * every outcome. */
#ifndef PREGON_WORKER_H
#define PREGON_WORKER_H

#include <curl/curl.h>
#include <json-c/json.h>

#include "accounts.h"
#include "cloudapi.h"
#include "config.h"
#include "msgstatus.h"

struct db;

struct campaign {
    long long id, account_id;
    char template_name[513];
    char language[17];
    json_object *params; /* body_params mapping */
    int batch_size;
};

/* What the worker decided about one send. */
struct outcome {
    enum msg_status status;  /* new recipient status */
    const char *log_outcome; /* send_log.outcome */
    long long retry_at_ms;   /* for pending again: when, unix ms */
    int release;             /* never sent: back to pending without an attempt */
    int code;
    char text[1024];
};

struct job {
    long long id, contact_id;
    char phone[17];
    int attempt;
    char *body; /* request JSON, malloc'd */
    size_t body_len;
    int started, done;
    long http_status;
    CURLcode curl_rc;
    char curl_err[CURL_ERROR_SIZE];
    char *resp;
    size_t resp_len, resp_cap;
    struct cloudapi_result res;
    struct outcome out;
};

struct batch {
    const struct campaign *camp;
    const struct account *acc;
    unsigned long long token;
    struct job *jobs;
    size_t n;
};

struct worker {
    struct config cfg;
    struct db *db;
    struct secret_key *key;
    struct account_list accounts;
    long long worker_id;
    CURLM *multi;
    CURL **easy; /* pool of worker_inflight handles, reused for keep-alive */
    int neasy;
    double next_send_at; /* pacing: monotonic seconds when the next send may start */
    volatile int *stopping;
};

/* claim.c */
int claim_register(struct worker *w);
void claim_heartbeat(struct worker *w);
int claim_running_campaigns(struct worker *w, struct campaign **out, size_t *n);
void claim_campaigns_free(struct campaign *v, size_t n);
/* Claims up to limit pending recipients of the campaign; 0 claimed is not an error. */
int claim_batch(struct worker *w, const struct campaign *c, int limit, struct batch *b);
/* Records every outcome of the batch; retried until the database takes it. */
void claim_record(struct worker *w, struct batch *b);
void claim_complete_if_done(struct worker *w, long long campaign_id);
void claim_recover_leases(struct worker *w);
void claim_unregister(struct worker *w);
void batch_free(struct batch *b);

/* send.c */
int send_init(struct worker *w);
void send_cleanup(struct worker *w);
/* Builds every request of the batch; jobs whose request can't be built get their outcome. */
void send_build(struct worker *w, struct batch *b);
/* Sends the batch at the account's pace; fills each job's outcome. */
void send_batch(struct worker *w, struct batch *b);
double now_monotonic(void);

#endif
