/* Synchronous calls to the Graph API (or the sandbox) from the FastCGI app: template listings
 * and test sends. libcurl easy, bounded timeouts; the token goes only into the header. */
#ifndef PREGON_FCGI_GRAPH_H
#define PREGON_FCGI_GRAPH_H

#include <stddef.h>

struct graph_answer {
    long status; /* HTTP status; 0 = no answer */
    char *body;  /* malloc'd, NUL-terminated; NULL when no answer */
    size_t len;
    char err[256]; /* curl's error when status is 0 */
    int transport; /* enum sendverdict_transport: how far a POST got */
};

/* GET (json NULL) or POST json to url with "Authorization: Bearer token". Answers bigger
 * than 32 MiB are cut off (an error). Returns 0 when an HTTP answer arrived (any status), -1
 * otherwise with a->err set. Free with graph_answer_free() either way. */
int graph_call(const char *url, const char *token, const char *json, long timeout_ms,
               struct graph_answer *a);
void graph_answer_free(struct graph_answer *a);

#endif
