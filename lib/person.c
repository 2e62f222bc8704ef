#include "person.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_log.h"
#include "db.h"
#include "hooks.h"
#include "log.h"
#include "phoneset.h"
#include "utf8.h"

int person_is_blocked(struct db *db, const char *phone, int *blocked)
{
    struct db_rows r;
    *blocked = 0;
    int rc = db_query(db, "SELECT 1 FROM opt_outs WHERE phone = ?", DB_ARGS(DB_STR(phone)), &r);
    if (rc != DB_OK)
        return rc;
    *blocked = r.nrows > 0;
    db_rows_free(&r);
    return DB_OK;
}

const char person_sql_blocked[] = "SELECT STRAIGHT_JOIN o.phone FROM JSON_TABLE(?, '$[*]' COLUMNS ("
                                  "phone VARCHAR(16) CHARACTER SET ascii PATH '$')) p "
                                  "JOIN opt_outs o FORCE INDEX (PRIMARY) ON o.phone = p.phone";

int person_blocked_query(struct db *db, const char *json, size_t len, struct db_rows *r)
{
    return db_query(db, person_sql_blocked, DB_ARGS(DB_STRN(json, len)), r);
}

int person_blocked_many(struct db *db, const char *const *phones, size_t n, unsigned char *blocked)
{
    memset(blocked, 0, n);
    if (n == 0)
        return DB_OK;
    json_object *a = json_object_new_array();
    if (!a)
        return DB_ERR;
    for (size_t i = 0; i < n; i++)
        if (json_object_array_add(a, json_object_new_string(phones[i] ? phones[i] : "")) < 0) {
            json_object_put(a);
            return DB_ERR;
        }
    size_t len = 0;
    const char *s = json_object_to_json_string_length(a, JSON_C_TO_STRING_PLAIN, &len);
    struct db_rows r;
    int rc = s ? person_blocked_query(db, s, len, &r) : DB_ERR;
    json_object_put(a);
    if (rc != DB_OK)
        return rc;
    for (size_t k = 0; k < r.nrows; k++)
        for (size_t i = 0; i < n; i++)
            if (phones[i] && db_val(&r, k, 0) && strcmp(phones[i], db_val(&r, k, 0)) == 0)
                blocked[i] = 1;
    db_rows_free(&r);
    return DB_OK;
}

int person_optouts_rows(struct db *db, const char *phone, const char *after, const char *source,
                        long long limit, struct db_rows *r)
{
    return db_query(db,
                    "SELECT phone, source, detail, campaign_id, "
                    "DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), operator_lock "
                    "FROM opt_outs WHERE (? IS NULL OR phone = ?) AND phone > ? AND "
                    "(? IS NULL OR source = ?) ORDER BY phone LIMIT ?",
                    DB_ARGS(DB_STR(phone), DB_STR(phone), DB_STR(after ? after : ""),
                            DB_STR(source), DB_STR(source), DB_INT(limit)),
                    r);
}

int person_blocked_pending(struct db *db, long long campaign_id, long long *n)
{
    struct db_rows r;
    *n = 0;
    /* from the (usually shorter) list into the campaign's rows by its phone key */
    int rc = db_query(db,
                      "SELECT COUNT(*) FROM opt_outs o STRAIGHT_JOIN recipients r ON "
                      "r.campaign_id = ? AND r.phone = o.phone WHERE r.status = 'pending'",
                      DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc != DB_OK)
        return rc;
    *n = db_int(&r, 0, 0, 0);
    db_rows_free(&r);
    return DB_OK;
}

int person_blocked_set(struct db *db, struct phoneset *set)
{
    struct db_rows r;
    int rc = db_query(db, "SELECT phone FROM opt_outs", DB_NOARGS, &r);
    if (rc != DB_OK)
        return rc;
    for (size_t i = 0; i < r.nrows && rc == DB_OK; i++) {
        const char *ph = db_val(&r, i, 0);
        if (ph && ph[0] == '+' && phoneset_add(set, phoneset_key(ph)) < 0)
            rc = DB_ERR;
    }
    db_rows_free(&r);
    return rc;
}

/* opt_out_events and the audit log for one change. */
static int person_record(struct db *db, const char *phone, const char *user_id, const char *event,
                         const char *audit_action, const char *source, const char *detail,
                         long long campaign_id, const struct person_actor *who)
{
    int rc = DB_OK;
    if (phone)
        rc = db_exec(db,
                     "INSERT INTO opt_out_events (phone, action, source, detail, campaign_id, "
                     "actor) VALUES (?, ?, ?, ?, ?, ?)",
                     DB_ARGS(DB_STR(phone), DB_STR(event), DB_STR(source), DB_STR(detail),
                             campaign_id ? DB_INT(campaign_id) : DB_NULL, DB_STR(who->name)),
                     NULL);
    if (rc != DB_OK)
        return rc;
    json_object *d = json_object_new_object();
    if (phone)
        json_object_object_add(d, "phone", json_object_new_string(phone));
    if (user_id)
        json_object_object_add(d, "user_id", json_object_new_string(user_id));
    json_object_object_add(d, "source", json_object_new_string(source));
    json_object_object_add(d, "by",
                           json_object_new_string(who->is_operator ? "operator" : "whatsapp"));
    if (detail)
        json_object_object_add(d, "detail", json_object_new_string(detail));
    return audit_log_write(db, who->name, who->address, audit_action, "opt_out", 0, campaign_id, d);
}

/* The outbound event of a block or a lift (lib/hooks.h), in the same transaction. */
static int person_hook_event(struct db *db, const char *type, const char *phone, const char *source,
                             long long campaign_id, const struct person_actor *who)
{
    json_object *d = json_object_new_object();
    if (!d)
        return DB_ERR;
    json_object_object_add(d, "phone", json_object_new_string(phone));
    json_object_object_add(d, "source", json_object_new_string(source));
    json_object_object_add(d, "by",
                           json_object_new_string(who->is_operator ? "operator" : "whatsapp"));
    if (campaign_id)
        json_object_object_add(d, "campaign_id", json_object_new_int64(campaign_id));
    int rc = hooks_emit(db, type, campaign_id, d);
    json_object_put(d);
    return rc;
}

int person_block(struct db *db, const char *phone, const char *source, const char *detail,
                 long long campaign_id, const struct person_actor *who, enum person_change *change)
{
    char d[512];
    struct db_res res;
    enum person_change ch = PERSON_UNCHANGED;
    const char *event = "opt_out", *action = "optout.create";
    detail = utf8_cut(detail, d, sizeof d);
    if (detail && !*detail)
        detail = NULL;
    int rc = db_exec(db,
                     "INSERT IGNORE INTO opt_outs (phone, source, detail, campaign_id, "
                     "operator_lock) VALUES (?, ?, ?, ?, ?)",
                     DB_ARGS(DB_STR(phone), DB_STR(source), DB_STR(detail),
                             campaign_id ? DB_INT(campaign_id) : DB_NULL,
                             DB_INT(who->is_operator ? 1 : 0)),
                     &res);
    if (rc == DB_OK && res.affected)
        ch = PERSON_CHANGED;
    if (rc == DB_OK && !res.affected && who->is_operator) {
        /* Blocked already from WhatsApp: the operator's word now holds it. */
        rc = db_exec(db,
                     "UPDATE opt_outs SET operator_lock = 1 WHERE phone = ? AND operator_lock = 0",
                     DB_ARGS(DB_STR(phone)), &res);
        if (rc == DB_OK && res.affected) {
            ch = PERSON_CHANGED;
            event = "lock";
            action = "optout.lock";
        }
    }
    if (rc == DB_OK && ch == PERSON_CHANGED)
        rc = person_record(db, phone, NULL, event, action, source, detail, campaign_id, who);
    if (rc == DB_OK && ch == PERSON_CHANGED && strcmp(event, "opt_out") == 0)
        rc = person_hook_event(db, "optout.created", phone, source, campaign_id, who);
    if (change)
        *change = ch;
    return rc;
}

int person_lift(struct db *db, const char *phone, const char *source, const char *detail,
                const struct person_actor *who, enum person_change *change)
{
    char d[512];
    struct db_res res;
    enum person_change ch = PERSON_UNCHANGED;
    detail = utf8_cut(detail, d, sizeof d);
    if (detail && !*detail)
        detail = NULL;
    int rc =
        db_exec(db,
                who->is_operator ? "DELETE FROM opt_outs WHERE phone = ?"
                                 : "DELETE FROM opt_outs WHERE phone = ? AND operator_lock = 0",
                DB_ARGS(DB_STR(phone)), &res);
    if (rc == DB_OK && res.affected) {
        ch = PERSON_CHANGED;
        rc = person_record(db, phone, NULL, "lift", "optout.lift", source, detail, 0, who);
        if (rc == DB_OK)
            rc = person_hook_event(db, "optout.lifted", phone, source, 0, who);
    } else if (rc == DB_OK && !who->is_operator) {
        int blocked;
        rc = person_is_blocked(db, phone, &blocked);
        if (rc == DB_OK && blocked) {
            ch = PERSON_REFUSED;
            rc = person_record(db, phone, NULL, "lift_refused", "optout.lift_refused", source,
                               detail, 0, who);
        }
    }
    if (change)
        *change = ch;
    return rc;
}

int person_phone_of_user(struct db *db, const char *user_id, char phone[E164_MAX + 1], int *found)
{
    struct db_rows r;
    *found = 0;
    phone[0] = '\0';
    int rc = db_query(db, "SELECT phone FROM person_user_ids WHERE user_id = ?",
                      DB_ARGS(DB_STR(user_id)), &r);
    if (rc != DB_OK)
        return rc;
    if (r.nrows && db_val(&r, 0, 0) && strlen(db_val(&r, 0, 0)) <= E164_MAX) {
        memcpy(phone, db_val(&r, 0, 0), strlen(db_val(&r, 0, 0)) + 1);
        *found = 1;
    }
    db_rows_free(&r);
    return DB_OK;
}

int person_link_user(struct db *db, const char *user_id, const char *phone, long long account_id,
                     const struct person_actor *who)
{
    int rc = db_exec(
        db,
        "INSERT INTO person_user_ids (user_id, phone, account_id) VALUES (?, ?, ?) "
        "ON DUPLICATE KEY UPDATE phone = VALUES(phone), "
        "account_id = COALESCE(VALUES(account_id), account_id)",
        DB_ARGS(DB_STR(user_id), DB_STR(phone), account_id ? DB_INT(account_id) : DB_NULL), NULL);
    if (rc != DB_OK)
        return rc;
    struct db_rows r;
    rc = db_query(db,
                  "SELECT source, detail, campaign_id FROM opt_outs_by_user_id WHERE user_id = ? "
                  "FOR UPDATE",
                  DB_ARGS(DB_STR(user_id)), &r);
    if (rc != DB_OK || r.nrows == 0) {
        if (rc == DB_OK)
            db_rows_free(&r);
        return rc;
    }
    rc =
        person_block(db, phone, db_val(&r, 0, 0), db_val(&r, 0, 1), db_int(&r, 0, 2, 0), who, NULL);
    db_rows_free(&r);
    if (rc == DB_OK)
        rc = db_exec(db, "DELETE FROM opt_outs_by_user_id WHERE user_id = ?",
                     DB_ARGS(DB_STR(user_id)), NULL);
    return rc;
}

int person_block_user(struct db *db, const char *user_id, const char *source, const char *detail,
                      long long campaign_id, const struct person_actor *who,
                      enum person_change *change)
{
    char phone[E164_MAX + 1], d[512];
    int found;
    int rc = person_phone_of_user(db, user_id, phone, &found);
    if (rc != DB_OK || found)
        return rc != DB_OK ? rc : person_block(db, phone, source, detail, campaign_id, who, change);
    struct db_res res;
    detail = utf8_cut(detail, d, sizeof d);
    rc = db_exec(db,
                 "INSERT IGNORE INTO opt_outs_by_user_id (user_id, source, detail, campaign_id) "
                 "VALUES (?, ?, ?, ?)",
                 DB_ARGS(DB_STR(user_id), DB_STR(source), DB_STR(detail),
                         campaign_id ? DB_INT(campaign_id) : DB_NULL),
                 &res);
    if (change)
        *change = rc == DB_OK && res.affected ? PERSON_CHANGED : PERSON_UNCHANGED;
    if (rc == DB_OK && res.affected)
        rc = person_record(db, NULL, user_id, "opt_out", "optout.create", source, detail,
                           campaign_id, who);
    return rc;
}

/* The contact of the old number moves to the new one; when the new number has a contact
 * already, that one takes the earlier consent and the tags. *moved: 1 moved, 2 merged. */
static int person_move_contact(struct db *db, const char *old_phone, const char *new_phone,
                               int *moved)
{
    struct db_res res;
    *moved = 0;
    /* IGNORE: a contact at the new number (the unique phone key) leaves this row alone */
    int rc = db_exec(db, "UPDATE IGNORE contacts SET phone = ? WHERE phone = ?",
                     DB_ARGS(DB_STR(new_phone), DB_STR(old_phone)), &res);
    if (rc != DB_OK || res.affected) {
        *moved = res.affected ? 1 : 0;
        return rc;
    }
    rc = db_exec(db,
                 "UPDATE contacts n JOIN contacts o ON o.phone = ? "
                 "SET n.consent_at = o.consent_at, n.consent_source = o.consent_source "
                 "WHERE n.phone = ? AND o.consent_at IS NOT NULL AND "
                 "(n.consent_at IS NULL OR o.consent_at < n.consent_at)",
                 DB_ARGS(DB_STR(old_phone), DB_STR(new_phone)), &res);
    if (rc == DB_OK)
        rc = db_exec(db,
                     "INSERT IGNORE INTO contact_tags (contact_id, tag) SELECT n.id, t.tag "
                     "FROM contacts o JOIN contact_tags t ON t.contact_id = o.id "
                     "JOIN contacts n ON n.phone = ? WHERE o.phone = ?",
                     DB_ARGS(DB_STR(new_phone), DB_STR(old_phone)), NULL);
    *moved = 2;
    return rc;
}

/* The person's recipient rows, found without locks (campaign by campaign on the (campaign,
 * phone) key), then moved one by one in id order, the one lock order of recipients. A
 * campaign that has the new number already keeps both rows (IGNORE). *n the rows moved. */
static int person_move_recipients(struct db *db, const char *old_phone, const char *new_phone,
                                  long long *n)
{
    struct db_rows r;
    *n = 0;
    int rc = db_query(db,
                      "SELECT r.id FROM campaigns c STRAIGHT_JOIN recipients r ON "
                      "r.campaign_id = c.id AND r.phone = ? ORDER BY r.id",
                      DB_ARGS(DB_STR(old_phone)), &r);
    if (rc != DB_OK)
        return rc;
    for (size_t i = 0; i < r.nrows && rc == DB_OK; i++) {
        struct db_res res;
        rc = db_exec(db, "UPDATE IGNORE recipients SET phone = ? WHERE id = ? AND phone = ?",
                     DB_ARGS(DB_STR(new_phone), DB_INT(db_int(&r, i, 0, 0)), DB_STR(old_phone)),
                     &res);
        if (rc == DB_OK)
            *n += (long long)res.affected;
    }
    db_rows_free(&r);
    return rc;
}

int person_change_number(struct db *db, const char *old_phone, const char *new_phone,
                         long long account_id, const struct person_actor *who)
{
    if (strcmp(old_phone, new_phone) == 0)
        return DB_OK;
    int blocked = 0, contact = 0;
    long long recipients = 0;
    char detail[64];
    int rc = db_exec(
        db,
        "INSERT INTO person_number_changes (old_phone, new_phone, account_id) "
        "VALUES (?, ?, ?)",
        DB_ARGS(DB_STR(old_phone), DB_STR(new_phone), account_id ? DB_INT(account_id) : DB_NULL),
        NULL);
    if (rc == DB_OK)
        rc = person_is_blocked(db, old_phone, &blocked);
    if (rc == DB_OK && blocked) {
        snprintf(detail, sizeof detail, "number changed from %s", old_phone);
        rc = person_block(db, new_phone, "number_change", detail, 0, who, NULL);
    }
    if (rc == DB_OK)
        rc = db_exec(db, "UPDATE person_user_ids SET phone = ? WHERE phone = ?",
                     DB_ARGS(DB_STR(new_phone), DB_STR(old_phone)), NULL);
    /* What is kept by number is copied to the new one, the newer winning where it has some:
     * preferences (the newer event per category, as the webhook decides) and the pair-rate
     * times (the later send). Each statement takes (new, old). */
    static const char *const copy_newer[] = {
        "INSERT INTO user_preferences (phone, category, value, detail, event_at, account_id) "
        "SELECT ?, category, value, detail, event_at, account_id FROM user_preferences o "
        "WHERE o.phone = ? ON DUPLICATE KEY UPDATE "
        "value = IF(VALUES(event_at) > user_preferences.event_at, VALUES(value), "
        "user_preferences.value), detail = IF(VALUES(event_at) > user_preferences.event_at, "
        "VALUES(detail), user_preferences.detail), "
        "event_at = GREATEST(user_preferences.event_at, VALUES(event_at))",
        "INSERT INTO contact_pace (waba_id, phone, last_send_at) "
        "SELECT p.waba_id, ?, p.last_send_at FROM (SELECT DISTINCT waba_id FROM wa_accounts) w "
        "JOIN contact_pace p ON p.waba_id = w.waba_id AND p.phone = ? ON DUPLICATE KEY UPDATE "
        "last_send_at = GREATEST(contact_pace.last_send_at, VALUES(last_send_at))",
    };
    for (size_t i = 0; rc == DB_OK && i < sizeof copy_newer / sizeof copy_newer[0]; i++)
        rc = db_exec(db, copy_newer[i], DB_ARGS(DB_STR(new_phone), DB_STR(old_phone)), NULL);
    if (rc == DB_OK)
        rc = person_move_contact(db, old_phone, new_phone, &contact);
    if (rc == DB_OK)
        rc = person_move_recipients(db, old_phone, new_phone, &recipients);
    if (rc != DB_OK)
        return rc;
    json_object *d = json_object_new_object();
    json_object_object_add(d, "old_phone", json_object_new_string(old_phone));
    json_object_object_add(d, "new_phone", json_object_new_string(new_phone));
    json_object_object_add(d, "opted_out", json_object_new_boolean(blocked));
    json_object_object_add(d, "contact",
                           json_object_new_string(contact == 1   ? "moved"
                                                  : contact == 2 ? "merged"
                                                                 : "none"));
    json_object_object_add(d, "recipients", json_object_new_int64(recipients));
    return audit_log_write(db, who->name, who->address, "person.number_change", "person", 0, 0, d);
}

void person_rules_free(struct person_rules *rules)
{
    for (size_t i = 0; rules->texts && i < rules->n; i++)
        free(rules->texts[i]);
    free(rules->texts);
    free(rules->v);
    memset(rules, 0, sizeof *rules);
}

int person_rules_load(struct db *db, struct person_rules *rules)
{
    memset(rules, 0, sizeof *rules);
    struct db_rows r;
    int rc = db_query(db, "SELECT keyword, kind, action FROM opt_out_keywords ORDER BY keyword",
                      DB_NOARGS, &r);
    if (rc == DB_OK) {
        rules->v = calloc(r.nrows + 1, sizeof *rules->v);
        rules->texts = calloc(r.nrows + 1, sizeof *rules->texts);
        for (size_t i = 0; rules->v && rules->texts && i < r.nrows; i++) {
            const char *k = db_val(&r, i, 0), *kind = db_val(&r, i, 1), *act = db_val(&r, i, 2);
            if (!k || !(rules->texts[rules->n] = strdup(k)))
                continue;
            struct optout_rule *o = &rules->v[rules->n];
            o->text = rules->texts[rules->n++];
            o->kind = kind && strcmp(kind, "phrase") == 0 ? OPTOUT_PHRASE : OPTOUT_KEYWORD;
            o->action = act && strcmp(act, "resume") == 0 ? OPTOUT_RESUME : OPTOUT_STOP;
        }
        db_rows_free(&r);
        if (rules->v && rules->texts)
            return DB_OK;
        person_rules_free(rules);
        rc = DB_ERR;
    }
    log_warn("opt-out keywords unreadable (%s); using the defaults", db_error(db));
    rules->v = calloc(optout_default_nkeywords, sizeof *rules->v);
    if (rules->v) {
        for (size_t i = 0; i < optout_default_nkeywords; i++)
            rules->v[i] =
                (struct optout_rule){optout_default_keywords[i], OPTOUT_KEYWORD, OPTOUT_STOP};
        rules->n = optout_default_nkeywords;
    }
    return rc;
}

int person_rules_rows(struct db *db, struct db_rows *r)
{
    return db_query(db,
                    "SELECT keyword, kind, action, created_by, "
                    "DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ') "
                    "FROM opt_out_keywords ORDER BY kind, keyword",
                    DB_NOARGS, r);
}

int person_rule_add(struct db *db, const char *text, enum optout_kind kind,
                    enum optout_action action, const char *actor, enum person_rule_result *result,
                    const char **why, char existing[OPTOUT_RULE_MAX + 1])
{
    char folded[OPTOUT_RULE_MAX + 1], other[OPTOUT_RULE_MAX * 2 + 2];
    existing[0] = '\0';
    *why = NULL;
    if (optout_rule_check(text, folded, why) < 0) {
        *result = PERSON_RULE_INVALID;
        return DB_OK;
    }
    /* the table is small: duplicates once folded are found here, not by the key (which is
     * the text as written) */
    struct db_rows r;
    int rc = db_query(db, "SELECT keyword FROM opt_out_keywords FOR UPDATE", DB_NOARGS, &r);
    if (rc != DB_OK)
        return rc;
    *result = r.nrows >= PERSON_RULES_MAX ? PERSON_RULE_FULL : PERSON_RULE_OK;
    for (size_t i = 0; i < r.nrows && *result == PERSON_RULE_OK; i++) {
        const char *k = db_val(&r, i, 0);
        if (k && optout_normalize(k, other, sizeof other) > 0 && strcmp(other, folded) == 0) {
            *result = PERSON_RULE_DUPLICATE;
            utf8_cut(k, existing, OPTOUT_RULE_MAX + 1);
        }
    }
    db_rows_free(&r);
    if (*result != PERSON_RULE_OK)
        return DB_OK;
    return db_exec(db,
                   "INSERT INTO opt_out_keywords (keyword, kind, action, created_by) "
                   "VALUES (?, ?, ?, ?)",
                   DB_ARGS(DB_STR(text), DB_STR(kind == OPTOUT_PHRASE ? "phrase" : "keyword"),
                           DB_STR(action == OPTOUT_RESUME ? "resume" : "stop"), DB_STR(actor)),
                   NULL);
}

int person_rule_remove(struct db *db, const char *text, int *removed)
{
    char folded[OPTOUT_RULE_MAX * 2 + 2], other[OPTOUT_RULE_MAX * 2 + 2];
    *removed = 0;
    if (!text || optout_normalize(text, folded, sizeof folded) <= 0)
        return DB_OK;
    struct db_rows r;
    int rc = db_query(db, "SELECT keyword FROM opt_out_keywords FOR UPDATE", DB_NOARGS, &r);
    if (rc != DB_OK)
        return rc;
    for (size_t i = 0; i < r.nrows && rc == DB_OK; i++) {
        const char *k = db_val(&r, i, 0);
        if (!k || optout_normalize(k, other, sizeof other) <= 0 || strcmp(other, folded) != 0)
            continue;
        struct db_res res;
        rc =
            db_exec(db, "DELETE FROM opt_out_keywords WHERE keyword = ?", DB_ARGS(DB_STR(k)), &res);
        if (rc == DB_OK)
            *removed += (int)res.affected;
    }
    db_rows_free(&r);
    return rc;
}
