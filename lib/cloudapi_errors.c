/* Cloud API errors: what to do about a code (the one table, lib/errcodes) and when to retry. */

#include "cloudapi.h"

#include "errcodes.h"

/* ---- classification ---------------------------------------------------------------- */

enum cloudapi_action cloudapi_classify(int code, long http_status)
{
    int transient_http = http_status == 0 || http_status == 408 || http_status == 429 ||
                         (http_status >= 500 && http_status <= 599);

    if (code < 0)
        return CLOUDAPI_ACT_RETRY;
    /* A real code 0 comes in a 4xx auth answer; without one it is just "no code". */
    if (code == 0 && (http_status == 0 || (http_status >= 500 && http_status <= 599)))
        return CLOUDAPI_ACT_RETRY;
    /* Meta's codes: one table (lib/errcodes.c). */
    const struct errcode *e = errcodes_find(code);
    if (e)
        return e->action;
    return transient_http ? CLOUDAPI_ACT_RETRY : CLOUDAPI_ACT_FAIL;
}

const char *cloudapi_action_name(enum cloudapi_action a)
{
    switch (a) {
    case CLOUDAPI_ACT_NONE:
        return "none";
    case CLOUDAPI_ACT_RETRY:
        return "retry";
    case CLOUDAPI_ACT_RETRY_THROTTLE:
        return "retry_throttle";
    case CLOUDAPI_ACT_RETRY_PAIR:
        return "retry_pair";
    case CLOUDAPI_ACT_RETRY_24H:
        return "retry_24h";
    case CLOUDAPI_ACT_RETRY_MAINTENANCE:
        return "retry_maintenance";
    case CLOUDAPI_ACT_FAIL:
        return "fail";
    case CLOUDAPI_ACT_OPTOUT:
        return "optout";
    case CLOUDAPI_ACT_INVALID_NUMBER:
        return "invalid_number";
    case CLOUDAPI_ACT_FAIL_PARAM:
        return "fail_param";
    case CLOUDAPI_ACT_PAUSE_CAMPAIGN:
        return "pause_campaign";
    case CLOUDAPI_ACT_STOP_CAMPAIGN:
        return "stop_campaign";
    case CLOUDAPI_ACT_PAUSE_NUMBER:
        return "pause_number";
    case CLOUDAPI_ACT_STOP_ACCOUNT:
        return "stop_account";
    case CLOUDAPI_ACT_STOP_NUMBER:
        return "stop_number";
    }
    return "unknown";
}

const char *cloudapi_explain(int code, const char *lang)
{
    return errcodes_explain(code, lang);
}

/* ---- retry delays ------------------------------------------------------------------ */

/* Full jitter between floor and min(cap, base * 2^(attempt-1)). */
static long jitter_exp(long base, long floor_ms, long cap, int attempt, uint32_t random)
{
    long top = base;

    for (int i = 1; i < attempt && top < cap; i++)
        top *= 2;
    if (top > cap)
        top = cap;
    if (top <= floor_ms)
        return floor_ms;
    return floor_ms + (long)(random % (uint32_t)(top - floor_ms + 1));
}

long cloudapi_retry_delay_ms(enum cloudapi_action a, int attempt, uint32_t random)
{
    if (attempt < 1)
        attempt = 1;
    switch (a) {
    case CLOUDAPI_ACT_RETRY:
        return jitter_exp(2000, 1000, 30L * 60 * 1000, attempt, random);
    case CLOUDAPI_ACT_RETRY_THROTTLE:
        return jitter_exp(1000, 500, 5L * 60 * 1000, attempt, random);
    case CLOUDAPI_ACT_RETRY_MAINTENANCE:
        return jitter_exp(60L * 1000, 60L * 1000, 30L * 60 * 1000, attempt, random);
    case CLOUDAPI_ACT_RETRY_PAIR: {
        long s = 1000;
        for (int i = 0; i < attempt && i < 7; i++)
            s *= 4;
        return s + (long)(random % (uint32_t)(s / 4 + 1));
    }
    case CLOUDAPI_ACT_RETRY_24H:
        return 24L * 3600 * 1000 + (long)(random % (3600u * 1000 + 1));
    default:
        return -1;
    }
}

int cloudapi_retryable(int code)
{
    switch (cloudapi_classify(code, CLOUDAPI_HTTP_WEBHOOK)) {
    case CLOUDAPI_ACT_FAIL:
    case CLOUDAPI_ACT_OPTOUT:
    case CLOUDAPI_ACT_INVALID_NUMBER:
    case CLOUDAPI_ACT_STOP_CAMPAIGN:
        return 0;
    default:
        return 1;
    }
}
