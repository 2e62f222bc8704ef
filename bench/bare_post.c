/* The bare libcurl multi client of bench/worker: posts N template messages (the worker's
 * request shape) to a Graph API URL with C connections kept alive, no database, and prints
 * "bare_post_per_s: X". usage: bare_post URL TOKEN N CONCURRENCY */
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

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bare_post URL TOKEN N CONCURRENCY\n");
        return 2;
    }
    const char *url = argv[1];
    long n = atol(argv[3]);
    int conc = atoi(argv[4]);
    if (n < 1 || conc < 1)
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
    char auth[512];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", argv[2]);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, auth);
    CURL **e = calloc((size_t)conc, sizeof *e);
    char **body = calloc((size_t)conc, sizeof *body);
    for (int i = 0; i < conc; i++) {
        e[i] = curl_easy_init();
        body[i] = malloc(1024);
    }
    long next = 0, done = 0, ok = 0;
    double t0 = now();
    int *free_idx = calloc((size_t)conc, sizeof *free_idx), nfree = 0;
    for (int i = 0; i < conc; i++)
        free_idx[nfree++] = i;
    while (done < n) {
        while (nfree && next < n) {
            int i = free_idx[--nfree];
            snprintf(body[i], 1024,
                     "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
                     "\"to\":\"+549388%07ld\",\"type\":\"template\",\"biz_opaque_callback_data\":"
                     "\"bare:%ld\",\"template\":{\"name\":\"recordatorio_clase\",\"language\":{"
                     "\"policy\":\"deterministic\",\"code\":\"es_AR\"},\"components\":[{\"type\":"
                     "\"body\",\"parameters\":[{\"type\":\"text\",\"text\":\"N%ld\"},{\"type\":"
                     "\"text\",\"text\":\"Robótica\"},{\"type\":\"text\",\"text\":\"lunes\"}]}]}}",
                     next, next, next);
            curl_easy_reset(e[i]);
            curl_easy_setopt(e[i], CURLOPT_URL, url);
            curl_easy_setopt(e[i], CURLOPT_HTTPHEADER, h);
            curl_easy_setopt(e[i], CURLOPT_POSTFIELDS, body[i]);
            curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, sink);
            curl_easy_setopt(e[i], CURLOPT_PRIVATE, (char *)(long)i);
            curl_easy_setopt(e[i], CURLOPT_TCP_NODELAY, 1L);
            curl_multi_add_handle(m, e[i]);
            next++;
        }
        int running;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            char *p;
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result == CURLE_OK && code == 200)
                ok++;
            curl_multi_remove_handle(m, msg->easy_handle);
            free_idx[nfree++] = (int)(long)p;
            done++;
        }
        if (done < n)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double dt = now() - t0;
    printf("bare_post_per_s: %.0f\nbare_ok: %ld\n", (double)n / dt, ok);
    for (int i = 0; i < conc; i++) {
        curl_easy_cleanup(e[i]);
        free(body[i]);
    }
    free(e);
    free(body);
    free(free_idx);
    curl_slist_free_all(h);
    curl_multi_cleanup(m);
    curl_global_cleanup();
    return ok == n ? 0 : 1;
}
