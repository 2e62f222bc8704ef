/* Inbound messages: stored once, replies counted on the recipient and the campaign, opt-out
 * keywords and buttons (lib/person's rules), user_preferences, business-scoped user ids and
 * "user_changed_number" system messages. */
#include "webhook_batch.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "identity.h"
#include "optout.h"

/* ---- the opt-out list --------------------------------------------------------------------- */

/* What WhatsApp (the person, or Meta for them) does to the list: lib/person.h's rules. */
static const struct person_actor webhook_actor = {"webhook", NULL, 0};

int wh_optout_add(struct batch *b, const char *phone, const char *source, const char *detail,
                  long long campaign)
{
    enum person_change ch;
    int rc = person_block(b->db, phone, source, detail, campaign, &webhook_actor, &ch);
    if (rc == DB_OK && ch == PERSON_CHANGED)
        b->st->optouts++;
    return rc;
}

static int optout_lift(struct batch *b, const char *phone, const char *source, const char *detail)
{
    enum person_change ch;
    int rc = person_lift(b->db, phone, source, detail, &webhook_actor, &ch);
    if (rc == DB_OK && ch == PERSON_CHANGED)
        b->st->lifts++;
    return rc;
}

/* ---- inbound messages -------------------------------------------------------------------- */

/* A "user_changed_number" system message: the person now has the number in system.wa_id.
 * What we know of them follows them there (lib/person.h, person_change_number), and their
 * user id, when the message names one. Other system messages (customer_identity_changed)
 * are kept in inbound_messages only. */
static int number_changed(struct batch *b, json_object *m, const char *old_phone, long long account)
{
    json_object *sys = wh_jget(m, "system", json_type_object);
    const char *st = wh_jstr(sys, "type"), *wa = wh_jstr(sys, "wa_id");
    const char *uid = wh_jstr(m, "from_user_id");
    char phone[E164_MAX + 1];
    if (!st || strcmp(st, "user_changed_number") != 0 || !wa ||
        identity_from_wa(wa, phone) != E164_OK || strcmp(phone, old_phone) == 0)
        return DB_OK;
    int blocked = 0, rc = person_is_blocked(b->db, phone, &blocked);
    if (rc == DB_OK)
        rc = person_change_number(b->db, old_phone, phone, account, &webhook_actor);
    if (rc == DB_OK && identity_user_id_ok(uid))
        rc = person_link_user(b->db, uid, phone, account, &webhook_actor);
    int now = 0;
    if (rc == DB_OK && !blocked)
        rc = person_is_blocked(b->db, phone, &now);
    if (rc == DB_OK && now)
        b->st->optouts++;
    return rc;
}

/* What an inbound text or button asks for under the batch's keyword rules; *matched is the
 * text that decided (the payload before the text). A stop anywhere wins over a resume. */
static enum optout_action inbound_action(struct batch *b, const char *payload, const char *text,
                                         const char **matched)
{
    *matched = NULL;
    if (!text && !payload)
        return OPTOUT_NONE;
    if (!b->rules_loaded) {
        person_rules_load(b->db, &b->rules); /* the defaults when unreadable (logged) */
        b->rules_loaded = 1;
    }
    enum optout_action ap = optout_classify(payload, b->rules.v, b->rules.n, NULL);
    enum optout_action at = optout_classify(text, b->rules.v, b->rules.n, NULL);
    enum optout_action a = ap == OPTOUT_STOP || at == OPTOUT_STOP       ? OPTOUT_STOP
                           : ap == OPTOUT_RESUME || at == OPTOUT_RESUME ? OPTOUT_RESUME
                                                                        : OPTOUT_NONE;
    if (a != OPTOUT_NONE)
        *matched = ap == a ? payload : text;
    return a;
}

/* The person behind a payload that names a business-scoped user id: the phone when it came
 * too (then remembered), else the one the user id is known by. */
static int inbound_person(struct batch *b, const char *uid, const char *phone_in, long long account,
                          char phone[E164_MAX + 1])
{
    int found = 0;
    if (!uid)
        return DB_OK;
    if (phone_in[0])
        return person_link_user(b->db, uid, phone_in, account, &webhook_actor);
    int rc = person_phone_of_user(b->db, uid, phone, &found);
    if (rc == DB_OK && !found)
        phone[0] = '\0';
    return rc;
}

/* reply.received for a new inbound message (lib/hooks.h); the text is cut as stored. */
static int reply_event(struct batch *b, const char *wamid, const char *phone, const char *uid,
                       const char *type, const char *text, const char *payload, const char *ctx,
                       long long cid, long long rid, long long t)
{
    char body[4096], pl[1024];
    json_object *d = json_object_new_object();
    if (!d)
        return DB_ERR;
    json_object_object_add(d, "wamid", json_object_new_string(wamid));
    if (phone[0])
        json_object_object_add(d, "phone", json_object_new_string(phone));
    if (uid)
        json_object_object_add(d, "user_id", json_object_new_string(uid));
    json_object_object_add(d, "type", json_object_new_string(type));
    if (text)
        json_object_object_add(d, "text",
                               json_object_new_string(utf8_cut(text, body, sizeof body)));
    if (payload)
        json_object_object_add(d, "payload",
                               json_object_new_string(utf8_cut(payload, pl, sizeof pl)));
    if (ctx)
        json_object_object_add(d, "context_wamid", json_object_new_string(ctx));
    if (cid)
        json_object_object_add(d, "campaign_id", json_object_new_int64(cid));
    if (rid)
        json_object_object_add(d, "recipient_id", json_object_new_int64(rid));
    json_object_object_add(d, "at", json_object_new_int64(t));
    return wh_hook_add(b, "reply.received", cid, d);
}

int wh_apply_message(struct batch *b, json_object *m, long long account, long long event_id)
{
    const char *id = wh_jstr(m, "id"), *type = wh_jstr(m, "type"), *from = wh_jstr(m, "from");
    const char *uid = wh_jstr(m, "from_user_id");
    char phone[E164_MAX + 1] = "";
    if (uid && !identity_user_id_ok(uid))
        uid = NULL;
    /* the canonical person (lib/identity.h): 5215512345678 is the import's +525512345678 */
    if (from && identity_from_wa(from, phone) != E164_OK)
        phone[0] = '\0';
    if (!id || !*id || strlen(id) > 160 || !type || (!phone[0] && !uid)) {
        b->st->other++;
        return DB_OK;
    }
    const char *text = NULL, *payload = NULL, *source = "keyword";
    if (strcmp(type, "text") == 0) {
        text = wh_jstr(wh_jget(m, "text", json_type_object), "body");
    } else if (strcmp(type, "button") == 0) {
        json_object *btn = wh_jget(m, "button", json_type_object);
        payload = wh_jstr(btn, "payload");
        text = wh_jstr(btn, "text");
        source = "button";
    } else if (strcmp(type, "interactive") == 0) {
        json_object *in = wh_jget(m, "interactive", json_type_object);
        json_object *rep = wh_jget(in, "button_reply", json_type_object);
        if (!rep)
            rep = wh_jget(in, "list_reply", json_type_object);
        payload = wh_jstr(rep, "id");
        text = wh_jstr(rep, "title");
        source = "button";
    }
    const char *matched;
    enum optout_action action = inbound_action(b, payload, text, &matched);
    json_object *media = wh_jget(m, type, json_type_object);
    if (!text && !payload && media && wh_jstr(media, "id")) {
        /* image, video, audio, document, sticker: kept as a reference (the media id) and its
         * caption, read by lib/replies; a caption never opts anyone out */
        payload = wh_jstr(media, "id");
        text = wh_jstr(media, "caption");
    }
    const char *ctx = wh_jstr(wh_jget(m, "context", json_type_object), "id");
    if (ctx && strlen(ctx) > 160)
        ctx = NULL;
    long long rid = 0, cid = 0;
    char rphone[E164_MAX + 1] = "";
    int rc = inbound_person(b, uid, phone, account, phone);
    if (rc != DB_OK)
        return rc;
    if (ctx) {
        struct db_rows r;
        rc = db_query(b->db, "SELECT id, campaign_id, phone FROM recipients WHERE wamid = ?",
                      DB_ARGS(DB_STR(ctx)), &r);
        if (rc != DB_OK)
            return rc;
        if (r.nrows) {
            rid = db_int(&r, 0, 0, 0);
            cid = db_int(&r, 0, 1, 0);
            snprintf(rphone, sizeof rphone, "%s", db_val(&r, 0, 2) ? db_val(&r, 0, 2) : "");
        }
        db_rows_free(&r);
        long long acc = 0;
        if (cid && (rc = wh_campaign_account(b->db, cid, &acc)) != DB_OK)
            return rc;
        if (cid && account && acc != account)
            rid = cid = 0; /* an answer to another account's message */
    }
    if (!phone[0] && uid && rid && rphone[0]) {
        /* only a user id: the person is the one the answered message went to */
        memcpy(phone, rphone, sizeof phone);
        if ((rc = person_link_user(b->db, uid, phone, account, &webhook_actor)) != DB_OK)
            return rc;
    }
    char body[4096], pl[1024];
    long long t = wh_event_time(m);
    struct db_res res;
    rc = db_exec(
        b->db,
        "INSERT IGNORE INTO inbound_messages (wamid, account_id, phone, user_id, type, "
        "body, payload, context_wamid, campaign_id, recipient_id, opt_out, sent_at, "
        "event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?), ?)",
        DB_ARGS(DB_STR(id), account ? DB_INT(account) : DB_NULL, DB_STR(phone[0] ? phone : NULL),
                DB_STR(uid), DB_STRN(type, strlen(type) > 32 ? 32 : strlen(type)),
                DB_STR(utf8_cut(text, body, sizeof body)), DB_STR(utf8_cut(payload, pl, sizeof pl)),
                DB_STR(ctx), cid ? DB_INT(cid) : DB_NULL, rid ? DB_INT(rid) : DB_NULL,
                DB_INT(action == OPTOUT_STOP), DB_INT(t), event_id ? DB_INT(event_id) : DB_NULL),
        &res);
    if (rc != DB_OK || res.affected == 0)
        return rc; /* a message seen before changes nothing */
    b->st->messages++;
    if ((rc = reply_event(b, id, phone, uid, type, text, payload, ctx, cid, rid, t)) != DB_OK)
        return rc;
    if (rid) {
        b->st->replies++;
        rc = db_exec(b->db,
                     "UPDATE recipients SET replied_at = LEAST(COALESCE(replied_at, "
                     "FROM_UNIXTIME(?)), FROM_UNIXTIME(?)) WHERE id = ?",
                     DB_ARGS(DB_INT(t), DB_INT(t), DB_INT(rid)), NULL);
        if (rc != DB_OK)
            return rc;
        struct camp *k = wh_camp_get(b, cid);
        if (!k)
            return DB_ERR;
        k->replies++;
    }
    if (action == OPTOUT_STOP && phone[0])
        return wh_optout_add(b, phone, source, matched, cid);
    if (action == OPTOUT_STOP) {
        /* only a user id nobody knows yet: blocks the phone it is linked to later */
        enum person_change ch;
        rc = person_block_user(b->db, uid, source, matched, cid, &webhook_actor, &ch);
        if (rc == DB_OK && ch == PERSON_CHANGED)
            b->st->optouts++;
        return rc;
    }
    if (action == OPTOUT_RESUME && phone[0])
        return optout_lift(b, phone, source, matched);
    if (strcmp(type, "system") == 0 && phone[0])
        return number_changed(b, m, phone, account);
    return DB_OK;
}

/* Links the business-scoped user ids a messages change carries to the person's phone:
 * contacts[] (wa_id and user_id) and statuses (recipient_id, or the recipient of the wamid,
 * with recipient_user_id). */
int wh_apply_user_ids(struct batch *b, json_object *v, long long account)
{
    json_object *contacts = wh_jget(v, "contacts", json_type_array);
    char phone[E164_MAX + 1];
    int rc = DB_OK;
    for (size_t i = 0; contacts && i < json_object_array_length(contacts) && rc == DB_OK; i++) {
        json_object *c = json_object_array_get_idx(contacts, i);
        const char *uid = wh_jstr(c, "user_id"), *wa = wh_jstr(c, "wa_id");
        if (identity_user_id_ok(uid) && wa && identity_from_wa(wa, phone) == E164_OK)
            rc = person_link_user(b->db, uid, phone, account, &webhook_actor);
    }
    json_object *sts = wh_jget(v, "statuses", json_type_array);
    for (size_t i = 0; sts && i < json_object_array_length(sts) && rc == DB_OK; i++) {
        json_object *s = json_object_array_get_idx(sts, i);
        const char *uid = wh_jstr(s, "recipient_user_id"), *to = wh_jstr(s, "recipient_id");
        const char *wamid = wh_jstr(s, "id");
        if (!identity_user_id_ok(uid))
            continue;
        if (to && identity_from_wa(to, phone) == E164_OK) {
            rc = person_link_user(b->db, uid, phone, account, &webhook_actor);
        } else if (wamid && strlen(wamid) <= 160) {
            struct db_rows r;
            rc = db_query(b->db, "SELECT phone FROM recipients WHERE wamid = ?",
                          DB_ARGS(DB_STR(wamid)), &r);
            if (rc != DB_OK)
                break;
            phone[0] = '\0';
            if (r.nrows && db_val(&r, 0, 0) && strlen(db_val(&r, 0, 0)) <= E164_MAX)
                snprintf(phone, sizeof phone, "%s", db_val(&r, 0, 0));
            db_rows_free(&r);
            if (phone[0])
                rc = person_link_user(b->db, uid, phone, account, &webhook_actor);
        }
    }
    return rc;
}

/* ---- user preferences ------------------------------------------------------------------------ */

int wh_apply_preference(struct batch *b, json_object *p, long long account)
{
    const char *value = wh_jstr(p, "value"), *category = wh_jstr(p, "category");
    const char *detail = wh_jstr(p, "detail");
    const char *wa = wh_jstr(p, "wa_id"), *uid = wh_jstr(p, "user_id");
    char phone[E164_MAX + 1] = "", d[512];
    if (uid && !identity_user_id_ok(uid))
        uid = NULL;
    if (wa && identity_from_wa(wa, phone) != E164_OK)
        phone[0] = '\0';
    if (!value || (strcmp(value, "stop") != 0 && strcmp(value, "resume") != 0) ||
        (!phone[0] && !uid)) {
        b->st->other++;
        return DB_OK;
    }
    int rc = inbound_person(b, uid, phone, account, phone);
    if (rc != DB_OK)
        return rc;
    if (!phone[0]) {
        /* only a user id nobody knows yet: a stop waits for the phone, a resume has nothing
         * to lift */
        enum person_change ch = PERSON_UNCHANGED;
        if (strcmp(value, "stop") == 0)
            rc = person_block_user(b->db, uid, "user_preferences", detail, 0, &webhook_actor, &ch);
        if (rc == DB_OK && ch == PERSON_CHANGED)
            b->st->optouts++;
        return rc;
    }
    if (!category || strlen(category) > 64)
        category = "marketing_messages";
    long long t = wh_event_time(p);
    struct db_rows r;
    rc = db_query(b->db,
                  "SELECT value, UNIX_TIMESTAMP(event_at) FROM user_preferences "
                  "WHERE phone = ? AND category = ? FOR UPDATE",
                  DB_ARGS(DB_STR(phone), DB_STR(category)), &r);
    if (rc != DB_OK)
        return rc;
    int stale = 0;
    if (r.nrows) {
        long long have = db_int(&r, 0, 1, 0);
        /* Older than what we have, or the same event again: nothing to do. */
        stale = have > t || (have == t && db_val(&r, 0, 0) && strcmp(db_val(&r, 0, 0), value) == 0);
    }
    db_rows_free(&r);
    if (stale)
        return DB_OK;
    rc = db_exec(b->db,
                 "INSERT INTO user_preferences (phone, category, value, detail, event_at, "
                 "account_id) VALUES (?, ?, ?, ?, FROM_UNIXTIME(?), ?) ON DUPLICATE KEY UPDATE "
                 "value = VALUES(value), detail = VALUES(detail), event_at = VALUES(event_at), "
                 "account_id = VALUES(account_id)",
                 DB_ARGS(DB_STR(phone), DB_STR(category), DB_STR(value),
                         DB_STR(utf8_cut(detail, d, sizeof d)), DB_INT(t),
                         account ? DB_INT(account) : DB_NULL),
                 NULL);
    if (rc != DB_OK)
        return rc;
    if (strcmp(value, "stop") == 0)
        return wh_optout_add(b, phone, "user_preferences", detail, 0);
    return optout_lift(b, phone, "user_preferences", detail);
}
