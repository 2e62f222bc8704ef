/* What one send's answer proves: accepted, not accepted (the retry policy applies), or in
 * doubt (it may have been accepted: never resent at once). The one place that decides this
 * for the worker and every other sender; docs/worker.md has the table. */
#ifndef PREGON_SENDVERDICT_H
#define PREGON_SENDVERDICT_H

#include <stddef.h>

#include "cloudapi.h"

/* How far the request got, as the HTTP client saw it. */
enum sendverdict_transport {
    SENDVERDICT_ANSWERED,   /* an HTTP answer came back (any status) */
    SENDVERDICT_NOT_SENT,   /* no connection, or it failed before any body byte left */
    SENDVERDICT_AFTER_SEND, /* reset, timeout or error after the body may have left */
};

enum sendverdict {
    SENDVERDICT_ACCEPTED,     /* Meta took it: a wamid */
    SENDVERDICT_NOT_ACCEPTED, /* proven not taken: r->action (cloudapi_classify) applies */
    SENDVERDICT_IN_DOUBT,     /* may have been taken: unknown, settled by a status webhook */
};

/* Decides the verdict and fills *r (cloudapi_parse_send). For ANSWERED pass the HTTP status
 * and body; otherwise http_status is ignored and body may be the client's error text.
 * Rules: accepted with a usable wamid -> ACCEPTED; a Graph API error JSON with a code (any
 * HTTP status) -> NOT_ACCEPTED with its action; no Graph error and HTTP 4xx (a refusal
 * from whatever answered) -> NOT_ACCEPTED, retry; no Graph error with any other status
 * (5xx such as a gateway's 502/503/504 page, a 2xx that cannot be parsed, 1xx/3xx) ->
 * IN_DOUBT; NOT_SENT -> NOT_ACCEPTED, retry; AFTER_SEND -> IN_DOUBT. */
enum sendverdict sendverdict_decide(enum sendverdict_transport t, long http_status,
                                    const char *body, size_t len, struct cloudapi_result *r);

/* libcurl's CURLOPT_PREREQFUNCTION for every send (CURLOPT_PREREQDATA: an int the caller
 * zeroes before each request). libcurl resends a POST by itself on a fresh connection when a
 * reused one died before the first byte of the answer (Curl_retry_request, "Connection died,
 * retrying a fresh connect"), and POSTFIELDS bodies need no rewind for it: the server may have
 * read and accepted the first copy. Every attempt passes this callback (MSTATE_DO), so the
 * first goes and any other is refused: the transfer ends with CURLE_ABORTED_BY_CALLBACK and
 * the send is in doubt. Only the sender decides a resend. The count also tells whether the
 * request reached a connection at all (0: it cannot have left). */
int sendverdict_curl_prereq(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                            int conn_primary_port, int conn_local_port);
/* How far a request got from libcurl's result (a CURLcode) and that callback's count: an
 * answer; not sent (no connection at all, or the callback never ran: it cannot have left);
 * else after send. */
enum sendverdict_transport sendverdict_transport_of(int curl_rc, int prereq_calls);

/* "accepted", "not_accepted", "in_doubt" (static). */
const char *sendverdict_name(enum sendverdict v);

#endif
