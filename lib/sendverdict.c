/* The send outcome table (docs/worker.md, "What an answer proves"). */
#include "sendverdict.h"

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
