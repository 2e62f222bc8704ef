/* The send outcome table (docs/worker.md, "What an answer proves"). */
#include "sendverdict.h"

#include <curl/curl.h>

enum sendverdict sendverdict_decide(enum sendverdict_transport t, long http_status,
                                    const char *body, size_t len, struct cloudapi_result *r)
{
    if (t != SENDVERDICT_ANSWERED) {
        cloudapi_parse_send(0, body, len, r);
        /* Nothing left: it cannot have been accepted. Something may have left: a reset or a
         * timeout after the request was written says nothing about acceptance. */
        return t == SENDVERDICT_NOT_SENT ? SENDVERDICT_NOT_ACCEPTED : SENDVERDICT_IN_DOUBT;
    }
    int graph = cloudapi_parse_send(http_status, body, len, r) == 0;
    if (r->accepted)
        return SENDVERDICT_ACCEPTED;
    if (graph)
        return SENDVERDICT_NOT_ACCEPTED; /* Graph's own error, with its code */
    if (http_status >= 400 && http_status <= 499)
        return SENDVERDICT_NOT_ACCEPTED; /* refused by whatever answered */
    /* A gateway's 5xx page, a 2xx we cannot read, anything else: the message may be at
     * Meta already. */
    return SENDVERDICT_IN_DOUBT;
}

const char *sendverdict_name(enum sendverdict v)
{
    switch (v) {
    case SENDVERDICT_ACCEPTED:
        return "accepted";
    case SENDVERDICT_NOT_ACCEPTED:
        return "not_accepted";
    case SENDVERDICT_IN_DOUBT:
        return "in_doubt";
    }
    return "in_doubt";
}

int sendverdict_curl_prereq(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                            int conn_primary_port, int conn_local_port)
{
    int *calls = clientp;
    (void)conn_primary_ip, (void)conn_local_ip, (void)conn_primary_port, (void)conn_local_port;
    return (*calls)++ == 0 ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

enum sendverdict_transport sendverdict_transport_of(int curl_rc, int prereq_calls)
{
    if (curl_rc == CURLE_OK)
        return SENDVERDICT_ANSWERED;
    if (curl_rc == CURLE_COULDNT_CONNECT || curl_rc == CURLE_COULDNT_RESOLVE_HOST ||
        curl_rc == CURLE_COULDNT_RESOLVE_PROXY || prereq_calls == 0)
        return SENDVERDICT_NOT_SENT;
    return SENDVERDICT_AFTER_SEND;
}
