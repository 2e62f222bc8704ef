/* JSON request bodies: httpin_json_object (behind http_json_body) and the validation of the
 * sign-in and user bodies (e-mail, password policy, role, name). */
#include "csvin.h"
#include "fuzz.h"
#include "httpin.h"
#include "userauth.h"

static void check_member(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return;
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    char email[USERAUTH_EMAIL_MAX + 1];
    if (userauth_email_normalize(s, email, sizeof email) == 0 &&
        !csvin_utf8_valid(email, strlen(email)))
        abort();
    const char *why = NULL;
    if (userauth_password_check(s, len, email, &why) < 0 && !why)
        abort();
    (void)userauth_role_parse(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    json_object *o = httpin_json_object((const char *)data, size, err, sizeof err);
    if (!o) {
        if (!err[0])
            abort();
        return 0;
    }
    static const char *const keys[] = {"email",        "password", "current_password",
                                       "new_password", "name",     "role"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        check_member(o, keys[i]);
    /* What we send back parses again to an object (answers echo input). */
    size_t len = 0;
    const char *out = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    json_object *again = httpin_json_object(out, len, err, sizeof err);
    if (!again)
        abort();
    json_object_put(again);
    json_object_put(o);
    return 0;
}
