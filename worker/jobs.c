/* Jobs (one recipient on its way) and endpoints (where an account's requests go): their
 * memory, shared by the claimer that makes them and the recorder that frees them. */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "claimer.h"
#include "db.h"
#include "log.h"

void endpoint_put(struct endpoint *ep)
{
    if (!ep || --ep->refs > 0)
        return;
    curl_slist_free_all(ep->hdrs);
    free(ep->url);
    free(ep);
}

/* Jobs are big (about 2.5 KB: Meta's answer and the outcome's text live in them), made by
 * the claimer and freed by the recorder: beyond the allocator's per-thread caches, so each
 * one went through its shared arenas and their locks. Kept for reuse instead. */
#define JOB_POOL_MAX 8192
static pthread_mutex_t job_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct job *job_pool;
static size_t job_pool_n;

/* n zeroed jobs into v (from the pool first); 0, or -1 when out of memory (v then holds
 * what was made, the rest NULL). */
int job_alloc(struct job **v, size_t n)
{
    size_t k = 0;
    pthread_mutex_lock(&job_pool_mu);
    while (k < n && job_pool) {
        v[k] = job_pool;
        job_pool = job_pool->next;
        job_pool_n--;
        k++;
    }
    pthread_mutex_unlock(&job_pool_mu);
    for (size_t i = 0; i < k; i++)
        memset(v[i], 0, sizeof *v[i]);
    for (; k < n; k++) {
        v[k] = calloc(1, sizeof *v[k]);
        if (!v[k])
            return -1;
    }
    return 0;
}

/* Frees a job (into the pool); the caller holds mu (campaign and endpoint references). */
void job_free(struct job *j)
{
    if (!j)
        return;
    if (j->camp)
        j->camp->refs--;
    endpoint_put(j->ep);
    free(j->body);
    free(j->resp);
    j->body = j->resp = NULL;
    pthread_mutex_lock(&job_pool_mu);
    if (job_pool_n < JOB_POOL_MAX) {
        j->next = job_pool;
        job_pool = j;
        job_pool_n++;
        j = NULL;
    }
    pthread_mutex_unlock(&job_pool_mu);
    free(j);
}

void job_pool_drain(void)
{
    pthread_mutex_lock(&job_pool_mu);
    while (job_pool) {
        struct job *j = job_pool;
        job_pool = j->next;
        free(j);
    }
    job_pool_n = 0;
    pthread_mutex_unlock(&job_pool_mu);
}
