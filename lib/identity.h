/* One canonical identity for a person: the E.164 form lib/e164 gives imports, also for the ids
 * WhatsApp sends back (webhook `from`, `wa_id`, `recipient_id`, user_preferences), which are
 * digits in WhatsApp's own form (Mexican mobiles as 521 + 10 digits, Brazilian mobiles at
 * times without their ninth digit). Every table keyed by a person's phone stores this form.
 *
 * Business-scoped user ids (`from_user_id`, `recipient_user_id`, contacts[].user_id) are kept
 * beside the phone (lib/person.h maps them); identity_user_id_ok checks their shape.
 *
 * Pure functions: no allocation, no global state; safe from any thread. */
#ifndef PREGON_IDENTITY_H
#define PREGON_IDENTITY_H

#include "e164.h"

#define IDENTITY_USER_ID_MAX 128

/* Canonical phone of an inbound WhatsApp id ("5215512345678", also with a leading '+'):
 * the id read as an international number by the import rules. An id the rules reject but
 * that is plausible (8-15 digits after an assigned country code) is kept as "+<digits>" so an
 * opt-out is never lost. Returns E164_OK, or a negative enum e164_status (out is "") when the
 * id is not a phone at all (empty, letters, too short or long). */
int identity_from_wa(const char *wa_id, char out[E164_MAX + 1]);

/* 1 when s looks like a business-scoped user id or username: 1..IDENTITY_USER_ID_MAX
 * printable ASCII characters without spaces or quotes; 0 otherwise (also for NULL). */
int identity_user_id_ok(const char *s);

#endif
