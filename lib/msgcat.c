/* The catalogue of the operator's words (lib/msgcat.h): one table, Spanish and English. */
#include "msgcat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* clang-format off */
static const struct msgcat_entry cat[] = {
    /* The generic text of each error code: what the API says when the call site gives no
     * more precise message of the catalogue. {field} is the error's field. */
    {"error.account_in_use", "La cuenta de WhatsApp todavía tiene campañas: no se puede quitar.", "The WhatsApp account still has campaigns and cannot be removed."},
    {"error.account_restricted", "Meta restringe esta cuenta de WhatsApp: reanudá cuando termine la restricción.", "Meta restricts this WhatsApp account: resume once the restriction ends."},
    {"error.bad_request", "El pedido está incompleto.", "The request is incomplete."},
    {"error.conflict", "La campaña cambió mientras tanto: volvé a intentar.", "The campaign changed meanwhile: try again."},
    {"error.consent_refused", "El consentimiento dice que no se dio (o está vacío).", "The consent says it was not given (or is blank)."},
    {"error.graph_error", "Meta rechazó el pedido.", "Meta refused the request."},
    {"error.graph_unreachable", "No se pudo hablar con Meta: volvé a intentar en un momento.", "Meta could not be reached: try again in a moment."},
    {"error.invalid_api_key", "La clave de API no es válida.", "The API key is not valid."},
    {"error.missing_column", "El archivo no tiene columna de teléfono (phone, telefono, ...) en la primera fila.", "The file has no phone column (phone, telefono, ...) in its first row."},
    {"error.no_phone", "Todavía no se conoce el número de esta persona.", "This person's number is not known yet."},
    {"error.no_rows", "El archivo tiene encabezado pero ninguna fila de datos: no hay nada que importar.", "The file has a header row but no data rows: there is nothing to import."},
    {"error.not_resumable", "Meta tiene que levantar la causa de la pausa primero (plantilla pausada o deshabilitada, cuenta deshabilitada).", "Meta must lift the cause of the pause first (a paused or disabled template, a disabled account)."},
    {"error.phone_taken", "Ese número es de otro contacto.", "That number is another contact's."},
    {"error.rate_limited", "Demasiados pedidos con esta clave de API: esperá un momento.", "Too many requests with this API key: wait a moment."},
    {"error.role_too_high", "El rol de una clave no puede ser mayor que el tuyo.", "A key's role cannot be above yours."},
    {"error.too_many_items", "Son demasiados en un solo pedido.", "There are too many in one request."},
    {"error.url_refused", "Esa dirección no está permitida para un webhook (por ejemplo, una dirección interna).", "That address is not allowed for a webhook (an internal address, for example)."},
    {"error.window_closed", "Se cerró la ventana de 24 horas: ahora solo se puede enviar una plantilla.", "The 24-hour window closed: only a template message may be sent now."},
    {"error.account_required", "Elegí una cuenta de WhatsApp.", "Choose a WhatsApp account."},
    {"error.auth_disabled", "El inicio de sesión está desactivado en este servidor.", "Sign-in is disabled on this server."},
    {"error.body_too_large", "Lo enviado supera el tamaño máximo que acepta el servidor.", "What was sent is larger than the server accepts."},
    {"error.breached_password", "Esa contraseña es conocida, común o fácil de adivinar (figura en las listas que usan los atacantes). Elegí una frase larga y propia.", "That password is known, common or easy to guess (it is on the lists attackers use). Choose a long phrase of your own."},
    {"error.campaigns_disabled", "Las campañas están desactivadas para esta cuenta de WhatsApp.", "Campaigns are disabled for this WhatsApp account."},
    {"error.csrf_failed", "La sesión no pudo confirmar este pedido. Recargá la página y volvé a intentar.", "The session could not confirm this request. Reload the page and try again."},
    {"error.database_error", "La base de datos falló. Volvé a intentar en un momento.", "The database failed. Try again in a moment."},
    {"error.database_unavailable", "La base de datos no está disponible. Volvé a intentar en un momento.", "The database is not available. Try again in a moment."},
    {"error.duplicate", "Ya existe uno igual.", "One like it already exists."},
    {"error.email_taken", "Ya hay un usuario con ese correo.", "A user with that email already exists."},
    {"error.empty_change", "No hay nada que cambiar.", "There is nothing to change."},
    {"error.forbidden", "Tu rol no permite hacer esto.", "Your role does not allow this."},
    {"error.internal", "Algo falló en el servidor. Volvé a intentar.", "Something failed on the server. Try again."},
    {"error.invalid_credentials", "Correo o contraseña incorrectos.", "Wrong email or password."},
    {"error.invalid_csv", "No se pudo leer el archivo como CSV.", "The file could not be read as CSV."},
    {"error.invalid_csv_line", "No se pudo leer el archivo como CSV: el problema está en la línea {line}.", "The file could not be read as CSV: the problem is on line {line}."},
    {"error.invalid_disabled", "El estado de la cuenta de usuario no es válido.", "The user's state is not valid."},
    {"error.invalid_email", "Ese correo no es válido.", "That email is not valid."},
    {"error.invalid_field", "El valor de {field} no es válido.", "The value of {field} is not valid."},
    {"error.invalid_json", "Lo enviado no es un JSON válido.", "What was sent is not valid JSON."},
    {"error.invalid_name", "Ese nombre no es válido.", "That name is not valid."},
    {"error.invalid_offset", "La parte del archivo no encaja: volvé a subirlo.", "The piece of the file does not fit: upload it again."},
    {"error.invalid_parameter", "El parámetro {field} no es válido.", "The parameter {field} is not valid."},
    {"error.invalid_role", "Ese rol no existe.", "That role does not exist."},
    {"error.invalid_signature", "La firma no es válida.", "The signature is not valid."},
    {"error.invalid_state", "La campaña no está en un estado que lo permita.", "The campaign is not in a state that allows this."},
    {"error.invalid_upload", "Esa subida no existe o ya terminó.", "That upload does not exist or is already finished."},
    {"error.invalid_value", "El valor de {field} no es válido.", "The value of {field} is not valid."},
    {"error.last_superadmin", "Tiene que quedar al menos un superadministrador activo.", "At least one active superadmin must remain."},
    {"error.method_not_allowed", "Esa operación no existe para esta dirección.", "That operation does not exist at this address."},
    {"error.missing_field", "Falta {field}.", "{field} is missing."},
    {"error.missing_value", "Falta un valor en {field}.", "A value is missing in {field}."},
    {"error.no_account", "No hay ninguna cuenta de WhatsApp configurada.", "No WhatsApp account is set up."},
    {"error.no_credentials", "La cuenta de WhatsApp no tiene token de acceso: cargalo en Configuración.", "The WhatsApp account has no access token: set it in Settings."},
    {"error.no_recipients", "La campaña necesita al menos un destinatario válido.", "The campaign needs at least one valid recipient."},
    {"error.no_secrets_key", "El servidor no tiene la clave para guardar secretos.", "The server has no key to store secrets."},
    {"error.not_found", "No existe (o ya no existe).", "It does not exist (or no longer does)."},
    {"error.nothing_to_change", "No hay nada que cambiar.", "There is nothing to change."},
    {"error.nothing_to_retry", "No hay destinatarios fallidos que se puedan reintentar.", "No failed recipient can be retried."},
    {"error.offset_mismatch", "La parte del archivo no encaja: volvé a subirlo.", "The piece of the file does not fit: upload it again."},
    {"error.opted_out", "Ese número pidió no recibir mensajes.", "That number asked not to receive messages."},
    {"error.origin_mismatch", "El pedido no viene de este panel.", "The request does not come from this panel."},
    {"error.params_mismatch", "Las variables no coinciden con la plantilla.", "The variables do not match the template."},
    {"error.risk_not_acknowledged", "Confirmá que entendés el riesgo antes de seguir.", "Confirm that you understand the risk before going on."},
    {"error.self_disable", "No podés desactivar tu propio usuario.", "You cannot disable your own user."},
    {"error.template_missing", "La plantilla ya no existe en Meta.", "The template no longer exists at Meta."},
    {"error.template_not_approved", "La plantilla no está aprobada por Meta.", "The template is not approved by Meta."},
    {"error.template_unknown", "La plantilla no está en la lista: sincronizá las plantillas.", "The template is not in the list: sync the templates."},
    {"error.template_unsupported", "Pregón no puede enviar esta plantilla.", "Pregón cannot send this template."},
    {"error.too_many", "Son demasiados.", "There are too many."},
    {"error.too_many_attempts", "Demasiados intentos. Esperá unos minutos.", "Too many attempts. Wait a few minutes."},
    {"error.unauthenticated", "Tu sesión terminó. Volvé a entrar.", "Your session ended. Sign in again."},
    {"error.unknown_account", "Esa cuenta de WhatsApp no existe.", "That WhatsApp account does not exist."},
    {"error.unknown_field", "{field} no es un dato que se pueda enviar aquí.", "{field} is not something that can be sent here."},
    {"error.verification_failed", "La verificación falló.", "The verification failed."},
    {"error.weak_password", "La contraseña no sirve: tiene que tener al menos 10 caracteres, no ser un mismo carácter repetido ni el correo, y ser texto válido.", "The password cannot be used: it needs at least 10 characters, must not be one character repeated or the e-mail address, and must be valid text."},
    {"error.wrong_password", "La contraseña actual no es correcta.", "The current password is not correct."},
    /* Messages with their own words. */
    {"field.int_range", "{field} debe ser un número entero entre {min} y {max}.", "{field} must be an integer from {min} to {max}"},
    {"field.bool", "{field} debe ser verdadero o falso.", "{field} must be true or false"},
    {"field.max_chars", "{field} tiene como máximo {max} caracteres.", "{field} has at most {max} characters."},
    {"param.value_length", "Escribí el valor de la variable {var} (de 1 a 1024 caracteres).", "Type the value of variable {var} (1 to 1024 characters)."},
    {"param.column_length", "El nombre de columna de la variable {var} lleva de 1 a 64 caracteres.", "The column name of variable {var} has 1 to 64 characters."},
    {"param.fallback_length", "El valor por defecto de la variable {var} lleva de 1 a 1024 caracteres.", "The default value of variable {var} has 1 to 1024 characters."},
    {"param.item_shape", "La variable {var} lleva un valor fijo o una columna (con un valor por defecto opcional).", "Variable {var} has a fixed value or a column (with an optional default)."},
    {"param.too_many", "La plantilla tiene demasiadas variables.", "The template has too many variables."},
    {"param.bad_name", "Un nombre de variable lleva solo minúsculas, números y guiones bajos.", "A variable name has only lowercase letters, digits and underscores."},
    {"param.section_shape", "Las variables van por posición (lista) o por nombre (objeto).", "Variables go by position (a list) or by name (an object)."},
    /* A campaign's state in the panel's words, and what an operator cannot do in it. */
    {"campaign.state.draft", "Borrador", "Draft"},
    {"campaign.state.scheduled", "Programada", "Scheduled"},
    {"campaign.state.running", "Enviando", "Sending"},
    {"campaign.state.paused", "Pausada", "Paused"},
    {"campaign.state.completed", "Completada", "Completed"},
    {"campaign.state.cancelled", "Cancelada", "Cancelled"},
    {"campaign.state.failed", "Fallida", "Failed"},
    {"campaign.refused.start", "La campaña está «{state}»: no se puede iniciar (solo un borrador o una programada).", "The campaign is “{state}”: it cannot be started (only a draft or a scheduled one can)."},
    {"campaign.refused.schedule", "La campaña está «{state}»: no se puede programar (solo un borrador o una programada).", "The campaign is “{state}”: it cannot be scheduled (only a draft or a scheduled one can)."},
    {"campaign.refused.pause", "La campaña está «{state}»: no se puede pausar (solo una que está enviando o programada).", "The campaign is “{state}”: it cannot be paused (only a sending or scheduled one can)."},
    {"campaign.refused.resume", "La campaña está «{state}»: no se puede reanudar (solo una pausada).", "The campaign is “{state}”: it cannot be resumed (only a paused one can)."},
    {"campaign.refused.cancel", "La campaña está «{state}»: no se puede cancelar (un borrador se elimina; una terminada queda como está).", "The campaign is “{state}”: it cannot be cancelled (a draft is deleted; a finished one stays as it is)."},
    {"campaign.refused.retry", "La campaña está «{state}»: no se pueden reintentar sus fallidos ahora.", "The campaign is “{state}”: its failed recipients cannot be retried now."},
    {"campaign.refused.edit", "La campaña está «{state}»: no se puede editar (un borrador se edita entero; una pausada, solo su ritmo y su ventana de envío).", "The campaign is “{state}”: it cannot be edited (a draft can be edited fully; a paused one only its pace and send window)."},
    {"campaign.refused.edit_paused", "Una campaña pausada solo puede cambiar su ritmo (batch_size, interval_ms, daily_cap) y su ventana de envío (send_window), no {field}.", "A paused campaign can change only its pace (batch_size, interval_ms, daily_cap) and its send window (send_window), not {field}."},
    {"campaign.refused.delete", "La campaña está «{state}»: no se puede eliminar (solo un borrador; cancelala en su lugar).", "The campaign is “{state}”: it cannot be deleted (only a draft can; cancel it instead)."},
    {"campaign.refused.import_running", "Se están importando destinatarios a esta campaña: probá de nuevo cuando termine la importación.", "Recipients are being imported into this campaign: try again when the import ends."},
    {"campaign.refused.add_recipients", "La campaña está «{state}»: solo se agregan destinatarios a un borrador.", "The campaign is “{state}”: recipients can be added only to a draft."},
    {"campaign.refused.clear_recipients", "Solo se pueden quitar destinatarios de una campaña en borrador.", "Recipients can be removed only from a draft campaign."},
    /* Users and sign-in. */
    {"user.email_required", "Escribí el correo del usuario.", "Type the user's e-mail address."},
    {"user.email_invalid", "Eso no es una dirección de correo (nombre@dominio).", "That is not an e-mail address (name@domain)."},
    {"user.name_invalid", "El nombre lleva como máximo {max} caracteres, sin caracteres de control.", "The name has at most {max} characters, without control characters."},
    {"user.role_required", "Elegí un rol: lector, administrador o superadministrador.", "Choose a role: viewer, admin or superadmin."},
    {"user.role_invalid", "Ese rol no existe: elegí lector, administrador o superadministrador.", "That role does not exist: choose viewer, admin or superadmin."},
    {"user.password_required", "Escribí una contraseña para el usuario.", "Type a password for the user."},
    {"user.email_taken", "Ya hay un usuario con el correo {email}.", "A user with the e-mail address {email} exists already."},
    {"user.empty_change", "No hay nada que cambiar: indicá el rol, el nombre o si está desactivado.", "There is nothing to change: give the role, the name or whether the user is disabled."},
    {"user.disabled_bool", "«Desactivado» es sí o no (true o false).", "“Disabled” is yes or no (true or false)."},
    {"session.email_required", "Escribí tu correo.", "Type your e-mail address."},
    {"session.password_required", "Escribí tu contraseña.", "Type your password."},
    {"session.current_password_required", "Escribí tu contraseña actual.", "Type your current password."},
    {"session.new_password_required", "Escribí la contraseña nueva.", "Type the new password."},
    /* Contacts. */
    {"contact.import_running", "Se están importando contactos: probá de nuevo cuando termine la importación.", "Contacts are being imported: try again when the import ends."},
    {"contact.phone_required", "Escribí el teléfono del contacto.", "Type the contact's phone number."},
    {"contact.phone_taken", "Ya hay un contacto con el número {phone}.", "A contact with the number {phone} exists already."},
    {"contact.phone_other", "El número {phone} es de otro contacto: unilos o eliminá ese contacto primero.", "The number {phone} is another contact's: merge or delete that contact first."},
    {"contact.name_length", "El nombre lleva como máximo {max} caracteres.", "The name has at most {max} characters."},
    {"contact.lead_id_length", "El ID de lead del CRM lleva de {min} a {max} caracteres (o null para quitarlo).", "The CRM lead id has {min} to {max} characters (or null to clear it)."},
    {"contact.attributes_shape", "Los atributos son un objeto nombre: valor de como máximo 64 KB.", "The attributes are an object of name: value of at most 64 KB."},
    {"contact.tags_shape", "Las etiquetas son una lista de como máximo {max}.", "The tags are a list of at most {max}."},
    {"contact.tag_length", "Cada etiqueta lleva de {min} a {max} caracteres (la número {index} no).", "Each tag has {min} to {max} characters (number {index} does not)."},
    {"contact.consent_shape", "El consentimiento dice cómo se dio (de 1 a 120 caracteres) y, si querés, cuándo (fecha y hora con zona horaria); null lo retira.", "Consent says how it was given (1 to 120 characters) and, optionally, when (a time with its UTC offset); null withdraws it."},
    {"contact.consent_refused", "El consentimiento dice que no se dio (o está vacío): para retirarlo, quitalo en vez de escribir «no».", "The consent says it was not given (or is blank): to withdraw it, remove it instead of writing “no”."},
    {"contact.consent_source_length", "El origen del consentimiento lleva de {min} a {max} caracteres.", "The consent source has {min} to {max} characters."},
    {"contact.bulk_empty", "La lista no trae ningún contacto.", "The list holds no contact."},
    {"contact.bulk_too_many", "Son demasiados contactos en un pedido: como máximo {max}.", "Too many contacts in one request: at most {max}."},
    /* WhatsApp accounts. */
    {"account.name", "El nombre de la cuenta lleva de 1 a 120 caracteres.", "The account's name has 1 to 120 characters."},
    {"account.waba_id", "El ID de la cuenta de WhatsApp Business (WABA) lleva solo números, como lo muestra Meta.", "The WhatsApp Business Account (WABA) id has digits only, as Meta shows it."},
    {"account.phone_number_id", "El ID del número de teléfono (phone_number_id) lleva solo números, como lo muestra Meta.", "The phone number id (phone_number_id) has digits only, as Meta shows it."},
    {"account.display_phone", "El número a mostrar lleva como máximo 32 caracteres.", "The display number has at most 32 characters."},
    {"account.graph_version", "La versión de la Graph API se escribe como v25.0.", "The Graph API version is written like v25.0."},
    {"account.messaging_tier", "El nivel de mensajes es TIER_250, TIER_1K, TIER_2K, TIER_10K, TIER_100K o TIER_UNLIMITED.", "The messaging tier is TIER_250, TIER_1K, TIER_2K, TIER_10K, TIER_100K or TIER_UNLIMITED."},
    {"account.quality_rating", "La calidad es GREEN, YELLOW, RED o UNKNOWN (verde, amarilla, roja o desconocida).", "The quality is GREEN, YELLOW, RED or UNKNOWN."},
    {"account.timezone", "La zona horaria es una de la base IANA, como America/Argentina/Buenos_Aires.", "The time zone is an IANA one, such as America/Argentina/Buenos_Aires."},
    {"account.verify_token", "El token de verificación lleva de 1 a 128 caracteres visibles, sin espacios.", "The verify token has 1 to 128 visible characters, without spaces."},
    {"account.access_token", "El token de acceso es texto visible sin espacios (hasta 1500 caracteres).", "The access token is visible text without spaces (up to 1,500 characters)."},
    {"account.app_secret", "El app secret es texto visible sin espacios (hasta 300 caracteres).", "The app secret is visible text without spaces (up to 300 characters)."},
    {"account.default_country", "El país por defecto es un código ISO de dos letras, como AR, MX, CO, ES o US.", "The default country is a two-letter ISO code, such as AR, MX, CO, ES or US."},
    {"account.graph_base_url", "La dirección de la Graph API es una URL http(s) sin barra final, o null para usar la configurada.", "The Graph API address is an http(s) URL without a trailing slash, or null for the configured one."},
    {"account.sandbox_on_create", "Si una cuenta es el sandbox se elige solo al crearla.", "Whether an account is the sandbox is chosen only when it is created."},
    {"account.label.name", "el nombre de la cuenta", "the account's name"},
    {"account.label.waba_id", "el ID de la cuenta de WhatsApp Business (WABA)", "the WhatsApp Business Account (WABA) id"},
    {"account.label.phone_number_id", "el ID del número de teléfono (phone_number_id)", "the phone number id (phone_number_id)"},
    {"account.required", "Falta {what}.", "Missing: {what}."},
    {"account.duplicate", "Ya hay una cuenta con ese ID de número de teléfono (phone_number_id).", "An account with that phone number id (phone_number_id) exists already."},
    {"account.nothing_to_change", "No hay nada que cambiar: indicá al menos un dato de la cuenta.", "There is nothing to change: give at least one of the account's fields."},
    {"account.in_use", "{count} campaña(s) usan esta cuenta: en lugar de quitarla, desactivá sus campañas.", "{count} campaign(s) use this account: turn its campaigns off instead of removing it."},
    /* A stored send error (lib/send_explain). */
    {"send.meta_error", "Error {code} de Meta: {explanation}", "Meta error {code}: {explanation}"},
    {"send.opted_out", "No se envió: el número pidió no recibir mensajes.", "Not sent: the number asked not to receive messages."},
    {"send.frequency_cap", "No se envió: la persona ya recibió el máximo de mensajes permitido por la cuenta en el período (tope de frecuencia).", "Not sent: the person already had the most messages the account allows in the period (frequency cap)."},
    {"send.worker_stopped", "El proceso que lo enviaba se detuvo: no se sabe si WhatsApp lo recibió.", "The process sending it stopped: it is not known whether WhatsApp received it."},
    {"send.resent", "Nada confirmó si llegó en el tiempo configurado: se reenvió una vez.", "Nothing confirmed whether it arrived within the configured time: it was sent again once."},
    {"send.missing_value", "No se envió: una variable de la plantilla no tiene valor para este destinatario.", "Not sent: a template variable has no value for this recipient."},
    {"send.unknown", "No se sabe si WhatsApp lo recibió: se espera su confirmación.", "It is not known whether WhatsApp received it: its confirmation is awaited."},
    {"send.retry", "Falló por ahora: se vuelve a intentar.", "It failed for now: it is tried again."},
    {"send.failed", "El envío falló sin un código de Meta (ver el texto técnico).", "The send failed without a Meta code (see the technical text)."},
    /* A campaign's own fields. */
    {"campaign.name_length", "El nombre de la campaña lleva de {min} a {max} caracteres.", "The campaign's name has {min} to {max} characters."},
    {"campaign.template_name", "Elegí una plantilla (su nombre lleva letras, números y guiones bajos).", "Choose a template (its name has letters, digits and underscores)."},
    {"campaign.template_language", "Elegí el idioma de la plantilla, por ejemplo es_AR.", "Choose the template's language, e.g. es_AR."},
    {"campaign.variants_count", "Una campaña lleva de 2 a 4 variantes, o ninguna.", "A campaign has 2 to 4 variants, or none."},
    {"campaign.variants_shape", "Cada variante lleva plantilla (template_name, template_language), parámetros (params) y porcentaje (share).", "Each variant has a template (template_name, template_language), parameters (params) and a share."},
    {"campaign.variant_share", "Cada variante lleva un porcentaje entero de 1 a 100, y los porcentajes más el grupo de control suman 100.", "Each variant has a whole percent from 1 to 100, and the shares plus the holdout add up to 100."},
    {"campaign.holdout_pct", "El grupo de control (que no recibe nada) es de 0 a 50 % y va con las variantes.", "The holdout (who get nothing) is 0 to 50 % and goes with the variants."},
    {"campaign.variant_template", "La plantilla {template} de una variante tiene que estar sincronizada y aprobada en la cuenta de la campaña.", "A variant's template {template} must be synced and approved for the campaign's account."},
    {"campaign.freq_cap_action", "Ante el tope de frecuencia la campaña espera (\"wait\") o salta a la persona (\"skip\").", "Over the frequency cap the campaign waits (\"wait\") or skips the person (\"skip\")."},
    {"campaign.send_window", "La ventana de envío son una hora de inicio y una de fin (de 0 a 23, en la zona horaria de la cuenta), o ninguna.", "The send window is a start and an end hour (0 to 23, in the account's time zone), or none."},
    {"campaign.send_window_hours", "La ventana de envío necesita una hora de inicio y una de fin distintas (de 0 a 23).", "The send window needs different start and end hours (0 to 23)."},
    {"campaign.at_format", "La fecha de inicio lleva día, hora y zona horaria, por ejemplo 2026-03-02T09:00:00-03:00.", "The start time has a date, a time and its UTC offset, e.g. 2026-03-02T09:00:00-03:00."},
    {"campaign.at_past", "La fecha de inicio ya pasó: dejala vacía para empezar ahora.", "The start time has passed: leave it empty to start now."},
    {"campaign.at_far", "La fecha de inicio está a más de un año.", "The start time is more than a year away."},
    {"campaign.risk_not_acknowledged", "Enviar a mucha gente puede hacer que Meta restrinja o bloquee el número: leé los avisos de la revisión previa y confirmá que entendés el riesgo.", "Sending to many people can get the number restricted or blocked by Meta: read the preflight warnings and confirm that you understand the risk."},
    {"campaign.reason_length", "El motivo de la pausa lleva como máximo 500 caracteres.", "The pause's reason has at most 500 characters."},
    {"campaign.include_unknown_bool", "«Incluir los de resultado desconocido» es sí o no (true o false).", "“Include those with an unknown outcome” is yes or no (true or false)."},
    {"campaign.clone_recipients", "Al duplicar, los destinatarios son ninguno, todos, los fallidos, los no entregados, los no leídos, los que leyeron y no respondieron, los que respondieron o los que tocaron un botón (none, all, failed, not_delivered, not_read, read_not_replied, replied o clicked_button).", "When duplicating, the recipients are none, all, the failed ones, those not delivered, those not read, those who read and did not reply, those who replied or those who pressed a button (none, all, failed, not_delivered, not_read, read_not_replied, replied or clicked_button)."},
    {"test.missing_column", "Falta el valor de la columna «{column}» para este número: escribilo en la prueba o usá un número de la lista.", "The column “{column}” has no value for this number: type one for the test or use a number from the list."},
    {"preview.missing_column", "Falta el valor de la columna «{column}»: escribí un valor de ejemplo.", "The column “{column}” has no value: type a sample value."},
    /* Opt-outs and their keywords. */
    {"optout.detail_length", "La nota lleva como máximo {max} caracteres.", "The note has at most {max} characters."},
    {"optout.source", "El origen de la baja es api, import, keyword o button.", "The opt-out's source is api, import, keyword or button."},
    {"optout.phone_required", "Indicá el número (?phone=+549...).", "Give the number (?phone=+549...)."},
    {"optout.not_found", "Ese número no está dado de baja.", "That number has not opted out."},
    {"rate_card.country", "El país es un código ISO 3166 de dos letras en mayúsculas (AR, MX...) o ZZ (cualquier otro).", "The country is an ISO 3166 two-letter code in capitals (AR, MX...) or ZZ (any other)."},
    {"rate_card.category", "La categoría es marketing, utility, authentication o service.", "The category is marketing, utility, authentication or service."},
    {"rate_card.currency", "La moneda es un código ISO 4217 en mayúsculas (USD, ARS...).", "The currency is an ISO 4217 code in capitals (USD, ARS...)."},
    {"rate_card.price", "El precio es un número decimal no negativo (hasta 8 cifras y 6 decimales).", "The price is a non-negative decimal number (up to 8 digits and 6 decimals)."},
    {"rate_card.effective_from", "La fecha de inicio es una fecha AAAA-MM-DD.", "The start date is a date YYYY-MM-DD."},
    {"rate_card.effective_to", "La fecha de fin es una fecha AAAA-MM-DD, no anterior a la de inicio (o vacía).", "The end date is a date YYYY-MM-DD, not before the start date (or empty)."},
    {"rate_card.not_found", "Esa tarifa no existe.", "That rate does not exist."},
    {"keyword.text", "La palabra clave es un texto.", "The keyword is a text."},
    {"keyword.kind", "El tipo es «palabra clave» (el mensaje entero, keyword) o «frase» (dentro del mensaje, phrase).", "The kind is keyword (the whole message) or phrase (within the message)."},
    {"keyword.action", "La acción es dar de baja (stop) o volver a suscribir (resume).", "The action is opting out (stop) or back in (resume)."},
    {"keyword.duplicate", "Esa palabra clave es igual a «{existing}» sin contar mayúsculas, acentos ni puntuación.", "That keyword is the same as “{existing}” once case, accents and punctuation are set aside."},
    {"keyword.too_many", "Hay como máximo {max} palabras clave y frases.", "There are at most {max} keywords and phrases."},
    {"keyword.required", "Indicá la palabra clave (?keyword=BAJA).", "Give the keyword (?keyword=STOP)."},
    {"keyword.length", "La palabra clave lleva como máximo {max} bytes.", "The keyword has at most {max} bytes."},
    {"keyword.not_found", "Esa palabra clave de baja no existe.", "That opt-out keyword does not exist."},
    {"test.phone_invalid", "Ese número de prueba no es un número de teléfono válido.", "That test number is not a valid phone number."},
    {"apikey.name_length", "El nombre de la clave lleva de {min} a {max} caracteres.", "The key's name has {min} to {max} characters."},
    {"recipients.list_shape", "Pegá los números (uno por línea) o mandá una lista de números, no las dos cosas.", "Paste the numbers (one per line) or send a list of numbers, not both."},
    {"recipients.segment_id", "Indicá el número de un segmento guardado (segment_id).", "Give the id of a saved segment (segment_id)."},
    {"segment.name_length", "El nombre del segmento lleva de {min} a {max} caracteres.", "The segment's name has {min} to {max} characters."},
    {"segment.duplicate", "Ya hay un segmento con ese nombre.", "Another segment has that name."},
    {"recipients.status", "El estado es uno de: pendiente, enviando, enviado, entregado, leído, fallido, bloqueado, cancelado, desconocido o grupo de control (pending, sending, sent, delivered, read, failed, blocked, cancelled, unknown, holdout).", "The status is one of pending, sending, sent, delivered, read, failed, blocked, cancelled, unknown or holdout."},
    {"recipients.phone_digits", "Para buscar por teléfono escribí al menos un dígito.", "To search by phone, type at least one digit."},
    {"log.order", "El orden es ascendente o descendente (asc o desc).", "The order is ascending or descending (asc or desc)."},
    {"log.outcome", "El resultado es enviado, fallido, bloqueado, reintento o desconocido (sent, failed, blocked, retry, unknown).", "The outcome is sent, failed, blocked, retry or unknown."},
    {"campaign.params_both", "Las variables van en params o en body_params, no en los dos.", "The variables go in params or in body_params, not both."},
    {"campaign.body_params", "body_params es una lista de valores, uno por variable del cuerpo.", "body_params is a list of values, one per body variable."},
    {"campaign.account_several", "Hay varias cuentas de WhatsApp: elegí desde cuál enviar.", "There are several WhatsApp accounts: choose which one to send from."},
    {"campaign.account_none", "No hay ninguna cuenta de WhatsApp configurada: agregala en Configuración.", "No WhatsApp account is set up: add one in Settings."},
    {"hook.event_unknown", "«{event}» no es un evento: campaign.started, campaign.paused, campaign.resumed, campaign.completed, campaign.cancelled, recipient.status, optout.created, optout.lifted o reply.received.", "“{event}” is not an event: campaign.started, campaign.paused, campaign.resumed, campaign.completed, campaign.cancelled, recipient.status, optout.created, optout.lifted or reply.received."},
    {"hook.event_twice", "El evento «{event}» figura dos veces.", "The event “{event}” is named twice."},
    {"hook.events_empty", "Elegí al menos un evento.", "Choose at least one event."},
    {"hook.secret", "El secreto lleva de {min} a {max} caracteres visibles, sin espacios.", "The secret has {min} to {max} visible characters, without spaces."},
    {"hook.enabled_on_create", "Un webhook nuevo empieza activado; se desactiva después, al editarlo.", "A new webhook starts enabled; disable it afterwards by editing it."},
    {"test.vars_shape", "Los valores de ejemplo van por columna: {\"columna\": \"valor\"}.", "Sample values go by column: {\"column\": \"value\"}."},
    {"preview.values_shape", "Los valores de ejemplo son una lista de textos, uno por variable de la plantilla.", "The sample values are a list of texts, one per template variable."},
    {"preview.not_a_recipient", "Ese número no es destinatario de esta campaña.", "That number is not a recipient of this campaign."},
    {"upload.gone", "Esa subida ya no existe (terminó o venció): volvé a subir el archivo.", "That upload no longer exists (it finished or expired): upload the file again."},
    {"session.no_account", "No hay un usuario con sesión: este servidor no usa inicio de sesión.", "No user is signed in: this server does not use sign-in."},
    {"reply.handled_required", "Indicá si la respuesta quedó atendida (sí o no).", "Say whether the reply is handled (yes or no)."},
    {"reply.text_required", "Escribí el texto de la respuesta.", "Type the answer's text."},
    {"reply.window_closed", "La ventana de 24 horas se cerró ({closes_at}): ahora solo se puede enviar una plantilla.", "The 24-hour window closed ({closes_at}): only a template message may be sent now."},
    {"campaign.paused_by", "Pausada por {user}.", "Paused by {user}."},
    {"campaign.paused_by_reason", "Pausada por {user}: {reason}", "Paused by {user}: {reason}"},
    {"retry.nothing", "Ningún destinatario fallido se puede reintentar: {skipped} fallaron con errores que no admiten reintento.", "No failed recipient can be retried: {skipped} failed with errors that must not be retried."},
    {"retry.nothing_unknown", "Ningún destinatario fallido se puede reintentar: {skipped} fallaron con errores que no admiten reintento. Los {unknown} de resultado desconocido se reintentan solo si lo pedís expresamente.", "No failed recipient can be retried: {skipped} failed with errors that must not be retried. The {unknown} with an unknown outcome are retried only if you ask for it explicitly."},
    {"resume.meta_must_lift", "Meta tiene que levantar la causa primero (plantilla pausada o deshabilitada, cuenta deshabilitada).", "Meta must lift the cause first (template paused or disabled, account disabled)."},
    {"resume.campaigns_disabled", "Las campañas están deshabilitadas para esta cuenta.", "Campaigns are disabled for this account."},
    {"resume.template_missing", "La plantilla ya no existe en Meta o no está sincronizada.", "The template no longer exists at Meta or is not synced."},
    {"resume.template_not_approved", "La plantilla no está aprobada.", "The template is not approved."},
    {"resume.account_restricted", "Meta restringió la cuenta de WhatsApp.", "Meta restricted the WhatsApp account."},
    {"pause.operator", "Una persona la pausó.", "A person paused it."},
    {"pause.template", "Meta pausó o deshabilitó la plantilla de la campaña.", "Meta paused or disabled the campaign's template."},
    {"pause.account", "Meta restringió o deshabilitó la cuenta de WhatsApp.", "Meta restricted or disabled the WhatsApp account."},
    {"pause.error", "Un error de Meta detuvo la campaña (ver fallas por código).", "A Meta error stopped the campaign (see failures by code)."},
    {"pause.parameters", "Se repitieron errores en las variables: revisá los valores de la plantilla.", "Variable errors repeated: check the template's values."},
    {"pause.circuit_breaker", "Se pausó sola: fallaron demasiados envíos seguidos.", "It paused itself: too many sends failed in a row."},
    {"pause.schedule", "Se pasó su horario programado sin empezar (el envío estaba detenido).", "Its scheduled time passed without starting (sending was stopped)."},
    {"pause.account_disabled", "Las campañas están desactivadas para esta cuenta de WhatsApp.", "Campaigns are disabled for this WhatsApp account."},
    {"pause.unknown", "Motivo no registrado.", "No reason recorded."},
    {"wait.send_window", "Esperando la ventana de envío hasta las {time} ({timezone}).", "Waiting for the send window until {time} ({timezone})."},
    {"wait.daily_cap", "Se alcanzó el tope diario: sigue mañana.", "The daily cap was reached: it goes on tomorrow."},
    {"wait.tier", "Se usó todo el límite de mensajes de la cuenta en 24 h: sigue a medida que se libere.", "The account's 24-hour messaging limit is used up: it goes on as it frees."},
    {"wait.template_pacing", "Meta retiene la plantilla para evaluar su calidad: el resto del público espera los primeros estados.", "Meta holds the template for a quality assessment: the rest of the audience waits for the first statuses."},
    {"wait.account", "La cuenta de WhatsApp no está disponible.", "The WhatsApp account is not available."},
    {"wait.inflight_capped", "Envía por debajo del ritmo del número: el límite de solicitudes en curso del worker (worker_inflight o su presupuesto de memoria) no alcanza para la latencia que mide.", "Sending below the number's rate: the worker's limit of requests in flight (worker_inflight or its memory budget) is too small for the latency it measures."},
    {"wait.freq_cap", "Tope de frecuencia: los destinatarios que ya recibieron el máximo de mensajes de la cuenta en su ventana esperan a que les toque.", "Frequency cap: recipients who already got the account's maximum of messages in its window wait until they fit under it."},
    {"wait.other", "En espera.", "Waiting."},
    {"preflight.blocking_risk", "Riesgo de bloqueo: los mensajes masivos que la gente no espera se reportan y bloquean. Muchos bloqueos bajan la calidad del número y Meta puede restringirlo o deshabilitarlo. Enviá solo a quienes aceptaron y ofrecé una forma fácil de darse de baja.", "Blocking risk: bulk messages that people do not expect get reported and blocked. Many blocks lower the number's quality and Meta can restrict or disable it. Send only to people who agreed, with an easy way to opt out."},
    {"preflight.over_daily_budget", "Hay más destinatarios que usuarios nuevos alcanzables en las próximas 24 h según el nivel de la cuenta: el resto espera a los días siguientes.", "There are more recipients than new users the account's tier can reach in the next 24 h: the rest waits for the next days."},
    {"preflight.marketing_template", "Las plantillas de marketing se cobran por mensaje entregado y son las más reportadas.", "Marketing templates are charged per delivered message and are the most reported."},
    {"preflight.no_opt_out", "La plantilla no ofrece forma de darse de baja (sin texto BAJA/STOP ni botón de respuesta).", "The template offers no way to opt out (no STOP text or quick reply button)."},
    {"preflight.low_quality", "La calidad del número es media o baja: un envío grande ahora puede causar una restricción.", "The number's quality is medium or low: a large send now may cause a restriction."},
    {"preflight.template_pacing", "Meta puede retener mensajes de una plantilla nueva hasta comprobar la calidad de los primeros ~1000.", "Meta may hold messages of a new template until the first ~1,000 show good quality."},
    {"preflight.sandbox", "Esta cuenta es el sandbox: ningún mensaje llega a un teléfono real.", "This account is the sandbox: no message reaches a real phone."},
    {"preflight.frequency_cap", "Algunos destinatarios ya recibieron el máximo de mensajes que la cuenta permite en el período (tope de frecuencia); esperarán o se saltarán, según la campaña.", "Some recipients already had the most messages the account allows in the period (frequency cap); they will wait or be skipped, as the campaign says."},
    {"preflight.opted_out", "Algunos destinatarios se dieron de baja desde que se cargaron; no se les enviará.", "Some recipients opted out since they were added; they will not be sent."},
    {"preflight.no_app_secret", "La cuenta no tiene app secret: no se pueden verificar los webhooks y no se actualizarán entregados ni leídos.", "The account has no app secret: webhooks cannot be verified and delivered and read counts will not move."},
    {"preflight.window_closed", "La ventana de envío ({start}:00–{end}:00, {timezone}) está cerrada ahora: la campaña va a esperar hasta las {time} para enviar.", "The send window ({start}:00–{end}:00, {timezone}) is closed now: the campaign will wait until {time} to send."},
    {"preflight.window_open", "La ventana de envío ({start}:00–{end}:00, {timezone}) está abierta: fuera de ese horario la campaña espera.", "The send window ({start}:00–{end}:00, {timezone}) is open: outside those hours the campaign waits."},
    {"import.phone_empty", "La fila no tiene número de teléfono.", "The row has no phone number."},
    {"import.phone_missing", "La fila no tiene número de teléfono.", "The row has no phone number."},
    {"import.phone_bad_chars", "El teléfono tiene caracteres que no son números.", "The phone number has characters that are not digits."},
    {"import.phone_too_short", "El teléfono es demasiado corto.", "The phone number is too short."},
    {"import.phone_too_long", "El teléfono es demasiado largo.", "The phone number is too long."},
    {"import.phone_bad_country", "No se reconoce el código de país del teléfono.", "The phone number's country code is not recognised."},
    {"import.phone_bad_number", "El teléfono no es un número válido.", "The phone number is not a valid number."},
    {"import.phone_invalid", "El teléfono no es válido.", "The phone number is not valid."},
    {"import.duplicate", "El número ya aparece antes (o ya es destinatario de la campaña).", "The number appears earlier (or is already a recipient of the campaign)."},
    {"import.opted_out", "El número pidió no recibir mensajes de esta empresa.", "The number asked not to receive messages from this business."},
    {"import.no_consent", "Sin consentimiento registrado para este número.", "No consent on record for this number."},
    {"import.invalid_consent", "No se entiende el valor de consentimiento.", "The consent value is not understood."},
    {"import.missing_param", "Falta el valor de la columna «{column}», que usa una variable de la plantilla.", "The column “{column}”, which a template variable uses, has no value."},
    {"import.invalid_utf8", "La fila no es texto válido (UTF-8).", "The row is not valid text (UTF-8)."},
    {"import.too_many_fields", "La fila tiene demasiadas columnas y se descartó.", "The row has too many columns and was dropped."},
    {"import.field_too_long", "Un campo de la fila es demasiado largo y se descartó.", "A field of the row is too long and was dropped."},
};
/* clang-format on */

const struct msgcat_entry *msgcat_all(size_t *n)
{
    *n = sizeof cat / sizeof cat[0];
    return cat;
}

const struct msgcat_entry *msgcat_find(const char *key)
{
    if (!key)
        return NULL;
    for (size_t i = 0; i < sizeof cat / sizeof cat[0]; i++)
        if (strcmp(cat[i].key, key) == 0)
            return &cat[i];
    return NULL;
}

/* "es", "en" or NULL for a language tag we do not speak. */
static const char *ours(const char *tag, size_t n)
{
    if (n >= 2 && strncasecmp(tag, "en", 2) == 0 && (n == 2 || tag[2] == '-' || tag[2] == '_'))
        return "en";
    if (n >= 2 && strncasecmp(tag, "es", 2) == 0 && (n == 2 || tag[2] == '-' || tag[2] == '_'))
        return "es";
    return NULL;
}

const char *msgcat_lang(const char *param, const char *accept_language)
{
    const char *l = param ? ours(param, strlen(param)) : NULL;
    if (l)
        return l;
    const char *best = NULL, *p = accept_language;
    double best_q = 0;
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *tag = p;
        while (*p && *p != ';' && *p != ',' && *p != ' ')
            p++;
        size_t n = (size_t)(p - tag);
        double q = 1.0;
        const char *semi = strchr(p, ';'), *comma = strchr(p, ',');
        if (semi && (!comma || semi < comma)) {
            const char *qs = strstr(semi, "q=");
            if (qs && (!comma || qs < comma))
                q = strtod(qs + 2, NULL);
        }
        const char *o = ours(tag, n);
        if (o && q > best_q) {
            best = o;
            best_q = q;
        }
        p = comma ? comma : p + strlen(p);
    }
    return best ? best : "es";
}

static int render(const char *key, const char *lang, json_object *params, char *out, size_t len,
                  int depth)
{
    if (!len)
        return -1;
    out[0] = '\0';
    const struct msgcat_entry *e = msgcat_find(key);
    if (!e)
        return -1;
    const char *s = lang && strcmp(lang, "en") == 0 ? e->en : e->es;
    size_t o = 0;
    while (*s && o + 1 < len) {
        size_t n = 0;
        if (*s == '{' && s[1] >= 'a' && s[1] <= 'z') {
            while ((s[1 + n] >= 'a' && s[1 + n] <= 'z') || s[1 + n] == '_' ||
                   (s[1 + n] >= '0' && s[1 + n] <= '9'))
                n++;
            if (s[1 + n] != '}')
                n = 0;
        }
        json_object *v = NULL;
        char name[32];
        if (n && n < sizeof name) {
            memcpy(name, s + 1, n);
            name[n] = '\0';
            if (!params || !json_object_object_get_ex(params, name, &v) || !v)
                n = 0;
        } else {
            n = 0;
        }
        if (!n) {
            out[o++] = *s++;
            continue;
        }
        /* {"key":k,"params":{..}}: the text of k in the same language (a state's name) */
        char sub[256];
        json_object *sk = NULL, *sp = NULL;
        const char *val = json_object_get_string(v);
        if (json_object_is_type(v, json_type_object) && json_object_object_get_ex(v, "key", &sk) &&
            json_object_is_type(sk, json_type_string) && depth < 2) {
            json_object_object_get_ex(v, "params", &sp);
            val = render(json_object_get_string(sk), lang, sp, sub, sizeof sub, depth + 1) == 0
                      ? sub
                      : json_object_get_string(sk);
        }
        size_t vl = strlen(val);
        if (vl > len - 1 - o)
            vl = len - 1 - o;
        memcpy(out + o, val, vl);
        o += vl;
        s += n + 2;
    }
    out[o] = '\0';
    return 0;
}

int msgcat_render(const char *key, const char *lang, json_object *params, char *out, size_t len)
{
    return render(key, lang, params, out, len, 0);
}

json_object *msgcat_ref(const char *key_prefix, const char *name)
{
    char key[96];
    snprintf(key, sizeof key, "%s%s", key_prefix, name ? name : "");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "key", json_object_new_string(key));
    return o;
}

void msgcat_localize_items(json_object *arr, const char *code_member, const char *prefix,
                           const char *lang)
{
    size_t n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *x = json_object_array_get_idx(arr, i), *code, *msg = NULL, *p = NULL;
        char key[96], text[1024];
        if (!json_object_is_type(x, json_type_object) ||
            !json_object_object_get_ex(x, code_member, &code) ||
            json_object_object_get_ex(x, "detail", NULL) ||
            json_object_object_get_ex(x, "key", NULL))
            continue; /* not one of ours, or in the language already */
        snprintf(key, sizeof key, "%s%s", prefix, json_object_get_string(code));
        if (!json_object_object_get_ex(x, "params", &p) || !p)
            p = x;
        if (msgcat_render(key, lang, p, text, sizeof text) != 0)
            continue;
        json_object_object_get_ex(x, "message", &msg);
        if (msg && json_object_is_type(msg, json_type_string) && *json_object_get_string(msg))
            json_object_object_add(x, "detail", json_object_get(msg));
        json_object_object_add(x, "message", json_object_new_string(text));
        json_object_object_add(x, "key", json_object_new_string(key));
    }
}
