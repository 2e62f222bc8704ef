/* Template, phone-number quality and account events: the templates and wa_accounts rows, and
 * the campaigns they pause or let resume (lib/campaign_state). */
#include "webhook_batch.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"

/* ---- templates, quality, account ---------------------------------------------------------- */

int wh_apply_template(struct batch *b, json_object *v, long long account)
{
    char idbuf[32], why[512], name_buf[513], lang_buf[17];
    const char *event = wh_jstr(v, "event");
    const char *meta_id = wh_jscalar(v, "message_template_id", idbuf, sizeof idbuf);
    const char *name = wh_jstr(v, "message_template_name");
    const char *lang = wh_jstr(v, "message_template_language");
    if (!event || (!meta_id && !(name && lang))) {
        b->st->other++;
        return DB_OK;
    }
    int rc;
    if (!name || !lang) {
        struct db_rows r;
        rc = db_query(b->db,
                      "SELECT name, language FROM templates WHERE account_id = ? AND meta_id = ?",
                      DB_ARGS(DB_INT(account), DB_STR(meta_id)), &r);
        if (rc != DB_OK)
            return rc;
        if (r.nrows == 0) {
            db_rows_free(&r);
            b->st->other++;
            return DB_OK;
        }
        name = utf8_cut(db_val(&r, 0, 0), name_buf, sizeof name_buf);
        lang = utf8_cut(db_val(&r, 0, 1), lang_buf, sizeof lang_buf);
        db_rows_free(&r);
    }
    json_object *info = wh_jget(v, "other_info", json_type_object);
    const char *reason = wh_jstr(v, "reason"), *title = wh_jstr(info, "title");
    if (reason && strcmp(reason, "NONE") == 0) /* Meta's word for no reason */
        reason = NULL;
    const char *desc = wh_jstr(info, "description");
    snprintf(why, sizeof why, "%s%s%s%s%s", reason ? reason : "", reason && title ? " " : "",
             title ? title : "", desc ? ": " : "", desc ? desc : "");
    char st[33];
    /* REINSTATED is an event, not a status: the template is usable again, as APPROVED. */
    utf8_cut(strcmp(event, "REINSTATED") == 0 ? "APPROVED" : event, st, sizeof st);
    rc = db_exec(b->db,
                 "INSERT INTO templates (account_id, meta_id, name, language, status, "
                 "status_reason) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
                 "status = VALUES(status), status_reason = VALUES(status_reason), "
                 "meta_id = IF(VALUES(meta_id) = '', meta_id, VALUES(meta_id))",
                 DB_ARGS(DB_INT(account), DB_STR(meta_id ? meta_id : ""),
                         DB_STRN(name, strlen(name) > 512 ? 512 : strlen(name)),
                         DB_STRN(lang, strlen(lang) > 16 ? 16 : strlen(lang)), DB_STR(st),
                         DB_STR(why[0] ? why : NULL)),
                 NULL);
    if (rc != DB_OK)
        return rc;
    char reason_text[1200];
    if (strcmp(event, "PAUSED") == 0 || strcmp(event, "DISABLED") == 0) {
        snprintf(reason_text, sizeof reason_text, "Meta %s the template %s (%s)%s%s",
                 strcmp(event, "PAUSED") == 0 ? "paused" : "disabled", name, lang,
                 why[0] ? ": " : "", why);
        struct campaign_scope sc = {.kind = CSCOPE_TEMPLATE,
                                    .id = account,
                                    .template_name = name,
                                    .template_language = lang};
        struct campaign_change ch = {.reason = reason_text};
        unsigned long long n = 0;
        rc = campaign_state_apply(b->db, &sc, CEV_TEMPLATE_PAUSED, CACT_WEBHOOK, &ch, &n);
        if (rc == DB_OK && n)
            log_warn("%llu campaigns paused: %s", n, reason_text);
        return rc;
    }
    if (strcmp(event, "REINSTATED") == 0 || strcmp(event, "APPROVED") == 0) {
        snprintf(reason_text, sizeof reason_text,
                 "Meta %s the template %s (%s): the campaign can be resumed",
                 strcmp(event, "APPROVED") == 0 ? "approved" : "reinstated", name, lang);
        struct campaign_scope sc = {.kind = CSCOPE_TEMPLATE,
                                    .id = account,
                                    .template_name = name,
                                    .template_language = lang};
        struct campaign_change ch = {.reason = reason_text};
        return campaign_state_apply(b->db, &sc, CEV_TEMPLATE_LIFTED, CACT_WEBHOOK, &ch, NULL);
    }
    return DB_OK;
}

int wh_apply_quality(struct batch *b, json_object *v, const long long *acc, size_t nacc)
{
    const char *event = wh_jstr(v, "event");
    const char *tier = wh_jstr(v, "max_daily_conversations_per_business");
    if (!tier)
        tier = wh_jstr(v, "current_limit");
    if (!event) {
        b->st->other++;
        return DB_OK;
    }
    const char *rating = wh_jstr(v, "current_quality_rating");
    if (!rating)
        rating = wh_jstr(v, "quality_rating");
    if (!rating && strcmp(event, "FLAGGED") == 0)
        rating = "RED";
    if (!rating && strcmp(event, "UNFLAGGED") == 0)
        rating = "GREEN";
    long long mps = strcmp(event, "THROUGHPUT_UPGRADE") == 0 ? 1000 : 0;
    char e[65], t[17], q[17];
    size_t matched = nacc;
    const long long *target = acc;
    for (size_t i = 0; i < matched; i++) {
        int rc = db_exec(b->db,
                         "UPDATE wa_accounts SET quality_event = ?, quality_updated_at = NOW(3), "
                         "messaging_tier = COALESCE(?, messaging_tier), "
                         "quality_rating = COALESCE(?, quality_rating), "
                         "throughput_mps = IF(? > 0, ?, throughput_mps) WHERE id = ?",
                         DB_ARGS(DB_STR(utf8_cut(event, e, sizeof e)),
                                 DB_STR(utf8_cut(tier, t, sizeof t)),
                                 DB_STR(utf8_cut(rating, q, sizeof q)), DB_INT(mps), DB_INT(mps),
                                 DB_INT(target[i])),
                         NULL);
        if (rc != DB_OK)
            return rc;
    }
    return DB_OK;
}

int wh_apply_account_update(struct batch *b, json_object *v, long long account)
{
    const char *event = wh_jstr(v, "event");
    if (!event) {
        b->st->other++;
        return DB_OK;
    }
    json_object *details = json_object_new_object();
    if (!details)
        return DB_ERR;
    static const char *const keys[] = {"restriction_info", "ban_info", "violation_info"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_object *x;
        if (json_object_object_get_ex(v, keys[i], &x))
            json_object_object_add(details, keys[i], json_object_get(x));
    }
    char info[1024], e[65];
    utf8_cut(json_object_object_length(details)
                 ? json_object_to_json_string_ext(details, JSON_C_TO_STRING_PLAIN)
                 : NULL,
             info, sizeof info);
    int has_info = json_object_object_length(details) > 0;
    json_object_put(details);
    int rc = db_exec(b->db,
                     "UPDATE wa_accounts SET account_event = ?, account_updated_at = NOW(3), "
                     "restriction = IF(? IN ('ACCOUNT_RESTRICTION', 'ACCOUNT_VIOLATION', "
                     "'DISABLED_UPDATE', 'ACCOUNT_DELETED'), ?, restriction) WHERE id = ?",
                     DB_ARGS(DB_STR(utf8_cut(event, e, sizeof e)), DB_STR(e),
                             DB_STR(has_info ? info : e), DB_INT(account)),
                     NULL);
    if (rc != DB_OK)
        return rc;
    const char *ban = wh_jstr(wh_jget(v, "ban_info", json_type_object), "waba_ban_state");
    char reason[1200];
    snprintf(reason, sizeof reason, "Meta account_update %s%s%s", e, has_info ? ": " : "",
             has_info ? info : "");
    if (strcmp(event, "DISABLED_UPDATE") == 0 && ban && strcmp(ban, "REINSTATE") == 0)
        return wh_campaigns_event(b, CSCOPE_ACCOUNT, account, CEV_ACCOUNT_LIFTED, NULL);
    if (strcmp(event, "ACCOUNT_RESTRICTION") == 0 || strcmp(event, "ACCOUNT_VIOLATION") == 0)
        return wh_campaigns_event(b, CSCOPE_ACCOUNT, account, CEV_ACCOUNT_RESTRICTED, reason);
    if (strcmp(event, "DISABLED_UPDATE") == 0)
        return wh_campaigns_event(b, CSCOPE_ACCOUNT, account, CEV_ACCOUNT_BANNED, reason);
    /* A deleted account never sends again: its campaigns cannot go on by themselves. */
    if (strcmp(event, "ACCOUNT_DELETED") == 0)
        return wh_campaigns_event(b, CSCOPE_ACCOUNT, account, CEV_FAIL, reason);
    return DB_OK;
}
