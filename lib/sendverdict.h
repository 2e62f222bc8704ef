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

/* "accepted", "not_accepted", "in_doubt" (static). */
const char *sendverdict_name(enum sendverdict v);

#endif
