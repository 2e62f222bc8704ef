/* Meta's error codes with the titles and details Meta uses (spec §2), and the shapes they
 * travel in: the HTTP error answer and the errors[] of a failed status webhook. */
#include "sandbox.h"

#include <stdio.h>
#include <stdlib.h>

static const struct sb_meta_error known[] = {
    {0, "AuthException", "We were unable to authenticate the app user."},
    {1, "API Unknown", "Invalid request or possible server error."},
    {2, "API Service", "Temporary due to downtime or due to being overloaded."},
    {3, "API Method", "Capability or permissions issue."},
    {4, "Too many calls", "The app has reached its API call rate limit."},
    {10, "Permission Denied", "Permission is either not granted or has been removed."},
    {100, "Invalid parameter",
     "The request included one or more unsupported or misspelled parameters."},
    {190, "Invalid OAuth access token - Cannot parse access token",
     "Your access token is invalid or has expired."},
    {200, "Permission error", "Permission is either not granted or has been removed."},
    {368, "Temporarily blocked for policies violations",
     "The WhatsApp Business Account associated with the app has been restricted or disabled "
     "for violating a platform policy."},
    {80007, "Rate limit issues", "The WhatsApp Business Account has reached its rate limit."},
    {130403, "Recipient blocked by the business",
     "The business has blocked this user, so it cannot message them."},
    {130429, "Rate limit hit", "Cloud API message throughput has been reached."},
    {130472, "User's number is part of an experiment",
     "Message was not sent as part of an experiment."},
    {131000, "Something went wrong", "Message failed to send due to an unknown error."},
    {131016, "Service unavailable", "A service is temporarily unavailable."},
    {131026, "Message undeliverable",
     "Unable to deliver message. Reasons can include: the recipient phone number is not a "
     "WhatsApp phone number; the recipient has not accepted the new Terms of Service; the "
     "recipient is using an old WhatsApp version."},
    {131031, "Business Account locked", "The WhatsApp Business Account has been locked."},
    {131042, "Business eligibility payment issue",
     "There was an error related to your payment method."},
    {131045, "Incorrect certificate",
     "Message failed to send due to a phone number registration error."},
    {131047, "Re-engagement message",
     "More than 24 hours have passed since the recipient last replied to the sender number."},
    {131048, "Spam rate limit hit",
     "Message failed to send because there are restrictions on how many messages can be sent "
     "from this phone number. This may be because too many previous messages were blocked or "
     "flagged as spam."},
    {131049, "This message was not delivered to maintain healthy ecosystem engagement.",
     "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."},
    {131050, "Unable to deliver the message",
     "This recipient has chosen to stop receiving marketing messages on WhatsApp from your "
     "business."},
    {131056, "(Business Account, Consumer Account) pair rate limit hit",
     "Too many messages sent from the sender phone number to the same recipient phone number "
     "in a short period of time."},
    {131057, "Account in maintenance mode",
     "Business Account is in maintenance mode. One reason for this could be that the account is "
     "undergoing a throughput upgrade."},
    {131064, "Messaging limited for template classification violations",
     "Your ability to send this kind of template has been limited because of repeated "
     "template category violations."},
    {132000, "Number of parameters does not match the expected number of params",
     "The number of variable parameter values included in the request did not match the number "
     "of variable parameters defined in the template."},
    {132001, "Template name does not exist in the translation",
     "The template does not exist in the specified language or the template has not been "
     "approved."},
    {132005, "Translated text too long",
     "Translated text is too long. Check the template's translations."},
    {132007, "Template Format Character Policy Violated",
     "Template content violates a WhatsApp policy."},
    {132012, "Parameter format does not match format in the created template",
     "Variable parameter values formatted incorrectly."},
    {132015, "Template is Paused",
     "Template is paused due to low quality so it cannot be sent in a template message."},
    {132016, "Template is Disabled",
     "Template has been paused too many times due to low quality and is now permanently "
     "disabled."},
    {133004, "Server temporarily unavailable", "Server is temporarily unavailable."},
    {133010, "Account not registered",
     "Phone number not registered on the WhatsApp Business "
     "Platform."},
};

static const struct sb_meta_error generic = {-1, "Error", "Injected error."};

const struct sb_meta_error *sb_error_lookup(int code)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].code == code)
            return &known[i];
    return &generic;
}

unsigned sb_error_http_status(int code)
{
    switch (code) {
    case 131000:
    case 1:
        return 500;
    case 131016:
    case 2:
    case 133004:
        return 503;
    case 130429:
    case 131056:
    case 4:
    case 80007:
        return 429;
    case 190:
    case 0:
        return 401;
    case 10:
    case 200:
    case 368:
        return 403;
    default:
        return 400;
    }
}

char *sb_error_body(int code, const char *details, size_t *len)
{
    const struct sb_meta_error *e = sb_error_lookup(code);
    char msg[256], trace[32];
    json_object *root = json_object_new_object();
    json_object *err = json_object_new_object();
    json_object *data = json_object_new_object();

    snprintf(msg, sizeof msg, "(#%d) %s", code, e->title);
    sb_random_id(trace, sizeof trace, 16);
    json_object_object_add(err, "message", json_object_new_string(msg));
    json_object_object_add(err, "type", json_object_new_string("OAuthException"));
    json_object_object_add(err, "code", json_object_new_int(code));
    json_object_object_add(data, "messaging_product", json_object_new_string("whatsapp"));
    json_object_object_add(data, "details", json_object_new_string(details ? details : e->details));
    json_object_object_add(err, "error_data", data);
    json_object_object_add(err, "fbtrace_id", json_object_new_string(trace));
    json_object_object_add(root, "error", err);
    return sb_json_take_text(root, len);
}

json_object *sb_error_webhook_obj(int code)
{
    const struct sb_meta_error *e = sb_error_lookup(code);
    json_object *o = json_object_new_object();
    json_object *data = json_object_new_object();

    json_object_object_add(o, "code", json_object_new_int(code));
    json_object_object_add(o, "title", json_object_new_string(e->title));
    json_object_object_add(o, "message", json_object_new_string(e->title));
    json_object_object_add(data, "details", json_object_new_string(e->details));
    json_object_object_add(o, "error_data", data);
    return o;
}
