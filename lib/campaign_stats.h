/* Reports on one campaign, read for the API (fcgi/api-stats.c, the preflight): the send log,
 * the failed and blocked recipients, the funnel from the counters, failures by code, the
 * per-minute figures (send_minutes), the audience imports' rejections and the audit trail.
 * Functions returning struct db_rows name their columns in an enum; free with db_rows_free. */
#ifndef PREGON_CAMPAIGN_STATS_H
#define PREGON_CAMPAIGN_STATS_H

#include <json-c/json.h>

#include "db.h"

/* Columns of the send-log reads. */
enum campaign_log_col {
    CLOG_ID,
    CLOG_AT,
    CLOG_PHONE,
    CLOG_LEAD_ID,
    CLOG_TEMPLATE,
    CLOG_LANGUAGE,
    CLOG_ATTEMPT,
    CLOG_OUTCOME,
    CLOG_HTTP_STATUS,
    CLOG_ERROR_CODE,
    CLOG_ERROR_TEXT,
    CLOG_WAMID,
    CLOG_RECIPIENT_ID
};

/* A page of campaign id's send log: desc, newest first below before (0: from the newest);
 * else oldest first above after. outcome NULL: any. Returns a db_rc. */
int campaign_stats_log_page(struct db *db, long long id, int desc, long long after,
                            long long before, const char *outcome, long long limit,
                            struct db_rows *out);

/* Columns of campaign_stats_failed_chunk. */
enum campaign_failed_col {
    CFAIL_PHONE,
    CFAIL_STATUS,
    CFAIL_NAME,
    CFAIL_LEAD_ID,
    CFAIL_ATTEMPTS,
    CFAIL_ERROR_CODE,
    CFAIL_ERROR_TEXT,
    CFAIL_FAILED_AT,
    CFAIL_WAMID,
    CFAIL_NEXT_ATTEMPT_AT
};

/* Up to limit recipients of campaign id in status after (next_attempt_at, phone) =
 * (after_at, after_phone), in ix_recipients_queue's order (sql/091). Returns a db_rc. */
int campaign_stats_failed_chunk(struct db *db, long long id, const char *status,
                                const char *after_at, const char *after_phone, long long limit,
                                struct db_rows *out);

/* The funnel: the campaign's counters (pending includes those being sent). */
struct campaign_funnel {
    long long total, pending, sent, delivered, read, failed, blocked, cancelled, unknown, holdout;
    char status[16];
};
/* *found = 0 when there is no campaign id. Returns a db_rc. */
int campaign_stats_funnel(struct db *db, long long id, struct campaign_funnel *f, int *found);

/* Failed and blocked recipients by (code, status), most first. */
enum campaign_code_col { CCODE_CODE, CCODE_STATUS, CCODE_COUNT, CCODE_EXAMPLE };
int campaign_stats_failures_by_code(struct db *db, long long id, struct db_rows *out);

/* The last `minutes` minutes of send_minutes, oldest first. */
enum campaign_minute_col {
    CMIN_MINUTE,
    CMIN_SENT,
    CMIN_FAILED,
    CMIN_BLOCKED,
    CMIN_RETRIED,
    CMIN_UNKNOWN
};
int campaign_stats_per_minute(struct db *db, long long id, long long minutes, struct db_rows *out);

/* Rows rejected by every audience import of campaign id: *imports how many imports, *rejected
 * the rows, *by_reason (owned by the caller) the rows by reason. Returns a db_rc. */
int campaign_stats_rejected_rows(struct db *db, long long id, long long *imports,
                                 long long *rejected, json_object **by_reason);

/* The campaign's audit trail, newest first, below id before. */
enum campaign_audit_col {
    CAUD_ID,
    CAUD_AT,
    CAUD_ACTOR,
    CAUD_ADDRESS,
    CAUD_ACTION,
    CAUD_TARGET_TYPE,
    CAUD_TARGET_ID,
    CAUD_DETAIL
};
int campaign_stats_audit_page(struct db *db, long long id, long long before, long long limit,
                              struct db_rows *out);

#endif
