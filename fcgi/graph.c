#include "graph.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sendverdict.h"

#define ANSWER_MAX (32u << 20)

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct graph_answer *a = ctx;
    size_t len = size * n;
    if (a->len + len > ANSWER_MAX)
        return 0;
    char *nb = realloc(a->body, a->len + len + 1);
    if (!nb)
        return 0;
    a->body = nb;
    memcpy(a->body + a->len, p, len);
    a->len += len;
    a->body[a->len] = '\0';
    return len;
}

int graph_call(const char *url, const char *token, const char *json, long timeout_ms,
               struct graph_answer *a)
{
    memset(a, 0, sizeof *a);
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(a->err, sizeof a->err, "out of memory");
        return -1;
    }
    struct curl_slist *h = NULL;
    char *auth = NULL;
    if (token && asprintf(&auth, "Authorization: Bearer %s", token) < 0)
        auth = NULL;
    if (auth)
        h = curl_slist_append(h, auth);
    if (json)
        h = curl_slist_append(h, "Content-Type: application/json");
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "pregon/1");
    int prereq_calls = 0;
    if (json) {
        /* a send: libcurl may not resend it by itself (lib/sendverdict.h) */
        curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, sendverdict_curl_prereq);
        curl_easy_setopt(c, CURLOPT_PREREQDATA, &prereq_calls);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    }
    CURLcode rc = curl_easy_perform(c);
    a->transport = sendverdict_transport_of(rc, json ? prereq_calls : 1);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    } else {
        snprintf(a->err, sizeof a->err, "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
        a->status = 0;
    }
    curl_slist_free_all(h);
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    curl_easy_cleanup(c);
    if (!a->body && a->status) {
        a->body = calloc(1, 1);
    }
    return a->status ? 0 : -1;
}

void graph_answer_free(struct graph_answer *a)
{
    free(a->body);
    memset(a, 0, sizeof *a);
}
