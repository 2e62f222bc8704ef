/* The bare libcurl multi client of bench/worker: posts N template messages (the worker's
 * request shape) to a Graph API URL with C connections kept alive, no database, and prints
 * "bare_post_per_s: X". usage: bare_post URL TOKEN N CONCURRENCY [ROUNDS]
 *
 * Honest and stable on a shared machine: the connections are opened and warmed up first
 * (not timed), the connection cache holds all of them (libcurl's default shrinks with the
 * handles in the multi and would reconnect), and the N requests are timed ROUNDS times
 * (default 3); the best round is printed (the sandbox's ceiling as the client sees it,
 * so worker_ratio errs low), with the median and the connections opened. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t sink(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct client {
    CURLM *m;
    struct curl_slist *h;
    const char *url;
    int conc;
    CURL **e;
    char **body;
    int *free_idx, nfree;
};

/* Posts n requests (recipient numbers from base) with at most conc in flight; returns the
 * seconds taken, or -1 when any request did not get a 200. */
static double run(struct client *c, long base, long n, long *connects)
{
    long next = 0, done = 0, ok = 0;
    double t0 = now();
    while (done < n) {
        while (c->nfree && next < n) {
            int i = c->free_idx[--c->nfree];
            long k = base + next;
            snprintf(c->body[i], 1024,
                     "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
                     "\"to\":\"+549388%07ld\",\"type\":\"template\",\"biz_opaque_callback_data\":"
                     "\"bare:%ld\",\"template\":{\"name\":\"recordatorio_clase\",\"language\":{"
                     "\"policy\":\"deterministic\",\"code\":\"es_AR\"},\"components\":[{\"type\":"
                     "\"body\",\"parameters\":[{\"type\":\"text\",\"text\":\"N%ld\"},{\"type\":"
                     "\"text\",\"text\":\"Robótica\"},{\"type\":\"text\",\"text\":\"lunes\"}]}]}}",
                     k, k, k);
            CURL *e = c->e[i];
            curl_easy_reset(e);
            curl_easy_setopt(e, CURLOPT_URL, c->url);
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->h);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body[i]);
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
            curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)(long)i);
            curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
            if (curl_multi_add_handle(c->m, e) != CURLM_OK)
                return -1;
            next++;
        }
        int running;
        curl_multi_perform(c->m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(c->m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            char *p;
            long code = 0, nc = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_NUM_CONNECTS, &nc);
            *connects += nc;
            if (msg->data.result == CURLE_OK && code == 200)
                ok++;
            curl_multi_remove_handle(c->m, msg->easy_handle);
            c->free_idx[c->nfree++] = (int)(long)p;
            done++;
        }
        if (done < n)
            curl_multi_poll(c->m, NULL, 0, 100, NULL);
    }
    double dt = now() - t0;
    return ok == n ? dt : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: bare_post URL TOKEN N CONCURRENCY [ROUNDS]\n");
        return 2;
    }
    long n = atol(argv[3]);
    int conc = atoi(argv[4]), rounds = argc == 6 ? atoi(argv[5]) : 3;
    if (n < 1 || conc < 1 || rounds < 1 || rounds > 20)
        return 2;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    struct client c = {.url = argv[1], .conc = conc};
    c.m = curl_multi_init();
    if (!c.m)
        return 1;
    curl_multi_setopt(c.m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
    curl_multi_setopt(c.m, CURLMOPT_MAXCONNECTS, (long)conc);
    char auth[512];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", argv[2]);
    c.h = curl_slist_append(NULL, "Content-Type: application/json");
    c.h = curl_slist_append(c.h, auth);
    c.e = calloc((size_t)conc, sizeof *c.e);
    c.body = calloc((size_t)conc, sizeof *c.body);
    c.free_idx = calloc((size_t)conc, sizeof *c.free_idx);
    if (!c.h || !c.e || !c.body || !c.free_idx)
        return 1;
    for (int i = 0; i < conc; i++) {
        c.e[i] = curl_easy_init();
        c.body[i] = malloc(1024);
        if (!c.e[i] || !c.body[i])
            return 1;
        c.free_idx[c.nfree++] = i;
    }
    int rc = 0;
    long connects = 0, warm = 20L * conc;
    /* Warm-up: every connection opened, the server's first-time costs paid. Not timed. */
    if (run(&c, 9000000, warm, &connects) < 0) {
        fprintf(stderr, "bare_post: warm-up requests failed\n");
        rc = 1;
    }
    long warm_connects = connects;
    connects = 0;
    double *rate = calloc((size_t)rounds, sizeof *rate);
    for (int r = 0; r < rounds && rc == 0 && rate; r++) {
        double dt = run(&c, (long)r * n, n, &connects);
        if (dt < 0) {
            fprintf(stderr, "bare_post: round %d: not every request got a 200\n", r + 1);
            rc = 1;
            break;
        }
        rate[r] = (double)n / dt;
    }
    if (rc == 0 && rate) {
        qsort(rate, (size_t)rounds, sizeof *rate, cmp_double);
        printf("bare_post_per_s: %.0f\nbare_post_median_per_s: %.0f\nbare_post_rounds: %d\n"
               "bare_post_connects: %ld (warm-up %ld)\n",
               rate[rounds - 1], rate[rounds / 2], rounds, connects, warm_connects);
    }
    free(rate);
    for (int i = 0; i < conc; i++) {
        curl_easy_cleanup(c.e[i]);
        free(c.body[i]);
    }
    free(c.e);
    free(c.body);
    free(c.free_idx);
    curl_slist_free_all(c.h);
    curl_multi_cleanup(c.m);
    curl_global_cleanup();
    return rc;
}
