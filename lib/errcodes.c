#include "errcodes.h"

#include <strings.h>

/* Spec §2 (docs/cloud-api.md): Meta's codes, what Pregón does, what to tell. */
static const struct errcode table[] = {
    {130429, 130429, "throttle", CLOUDAPI_ACT_RETRY_THROTTLE,
     "Se alcanzó el máximo de mensajes por segundo de este número. Pregón reintenta solo y "
     "baja la velocidad del número; no hace falta hacer nada.",
     "This phone number reached its messages-per-second limit. Pregón retries on its own and "
     "slows the number down; nothing to do."},
    {131056, 131056, "throttle", CLOUDAPI_ACT_RETRY_PAIR,
     "Demasiados mensajes seguidos a este mismo destinatario. Se reintenta más tarde solo para "
     "él; los demás siguen.",
     "Too many messages in a row to this same recipient. It is retried later for this "
     "recipient only; the others go on."},
    {131049, 131049, "engagement", CLOUDAPI_ACT_RETRY_24H,
     "WhatsApp no lo entregó para cuidar la experiencia del usuario (límite de mensajes de "
     "marketing por persona). Se reintenta no antes de 24 horas; si se repite, conviene "
     "espaciar las campañas a esa persona.",
     "WhatsApp did not deliver it to keep user engagement healthy (per-user marketing cap). "
     "It is retried no sooner than 24 hours later; if it keeps happening, send this person "
     "fewer campaigns."},
    {131000, 131000, "transient", CLOUDAPI_ACT_RETRY,
     "Error temporal o servicio de WhatsApp no disponible. Se reintenta con esperas "
     "crecientes; si persiste, ver el estado de la plataforma de Meta.",
     "Temporary error or WhatsApp service unavailable. It is retried with growing waits; if "
     "it persists, check Meta's platform status."},
    {131016, 131016, "transient", CLOUDAPI_ACT_RETRY,
     "Error temporal o servicio de WhatsApp no disponible. Se reintenta con esperas "
     "crecientes; si persiste, ver el estado de la plataforma de Meta.",
     "Temporary error or WhatsApp service unavailable. It is retried with growing waits; if "
     "it persists, check Meta's platform status."},
    {1, 1, "transient", CLOUDAPI_ACT_RETRY,
     "Error temporal o servicio de WhatsApp no disponible. Se reintenta con esperas "
     "crecientes; si persiste, ver el estado de la plataforma de Meta.",
     "Temporary error or WhatsApp service unavailable. It is retried with growing waits; if "
     "it persists, check Meta's platform status."},
    {2, 2, "transient", CLOUDAPI_ACT_RETRY,
     "Error temporal o servicio de WhatsApp no disponible. Se reintenta con esperas "
     "crecientes; si persiste, ver el estado de la plataforma de Meta.",
     "Temporary error or WhatsApp service unavailable. It is retried with growing waits; if "
     "it persists, check Meta's platform status."},
    {133004, 133004, "transient", CLOUDAPI_ACT_RETRY,
     "Error temporal o servicio de WhatsApp no disponible. Se reintenta con esperas "
     "crecientes; si persiste, ver el estado de la plataforma de Meta.",
     "Temporary error or WhatsApp service unavailable. It is retried with growing waits; if "
     "it persists, check Meta's platform status."},
    {131057, 131057, "transient", CLOUDAPI_ACT_RETRY_MAINTENANCE,
     "La cuenta de WhatsApp Business está en mantenimiento (por ejemplo, una mejora de "
     "capacidad). Se reintenta en unos minutos.",
     "The WhatsApp Business account is in maintenance (e.g. a throughput upgrade). It is "
     "retried in a few minutes."},
    {4, 4, "throttle", CLOUDAPI_ACT_RETRY,
     "Se superó el límite de llamadas a la API de la aplicación o de la cuenta. Se reintenta "
     "más tarde; si es frecuente, bajar la velocidad de envío.",
     "The app or account API call limit was reached. It is retried later; if it happens "
     "often, lower the sending rate."},
    {80007, 80007, "throttle", CLOUDAPI_ACT_RETRY,
     "Se superó el límite de llamadas a la API de la aplicación o de la cuenta. Se reintenta "
     "más tarde; si es frecuente, bajar la velocidad de envío.",
     "The app or account API call limit was reached. It is retried later; if it happens "
     "often, lower the sending rate."},
    {131050, 131050, "recipient", CLOUDAPI_ACT_OPTOUT,
     "La persona pidió no recibir más mensajes de marketing de esta empresa. Queda registrada "
     "la baja y no se le vuelve a enviar.",
     "The person asked to stop receiving marketing messages from this business. The opt-out "
     "is recorded and nothing more is sent to them."},
    {131026, 131026, "recipient", CLOUDAPI_ACT_INVALID_NUMBER,
     "No se pudo entregar: el número no tiene WhatsApp, usa una versión vieja o no aceptó las "
     "condiciones. Se marca como inválido y no se reintenta.",
     "Undeliverable: the number is not on WhatsApp, runs an old version or has not accepted "
     "the terms. It is marked invalid and not retried."},
    {131047, 131047, "recipient", CLOUDAPI_ACT_FAIL,
     "Pasaron más de 24 horas desde la última respuesta de la persona: solo se le pueden "
     "enviar plantillas aprobadas.",
     "More than 24 hours have passed since the person last replied: only approved templates "
     "can be sent to them."},
    {130472, 130472, "recipient", CLOUDAPI_ACT_FAIL,
     "El número participa de un experimento de Meta y no recibe este mensaje. No se "
     "reintenta.",
     "The number is part of a Meta experiment and does not get this message. Not retried."},
    {130403, 130403, "recipient", CLOUDAPI_ACT_FAIL,
     "La empresa bloqueó a este usuario en WhatsApp. Desbloquearlo si debe recibir mensajes.",
     "The business blocked this user on WhatsApp. Unblock them if they should get messages."},
    {100, 100, "parameter", CLOUDAPI_ACT_FAIL_PARAM,
     "Un parámetro del mensaje no coincide con la plantilla (cantidad, formato o valor "
     "inválido). Revisar las columnas asignadas a cada variable; si se repite, la campaña se "
     "pausa.",
     "A message parameter does not match the template (count, format or invalid value). "
     "Check the columns mapped to each variable; if it repeats, the campaign is paused."},
    {132000, 132000, "parameter", CLOUDAPI_ACT_FAIL_PARAM,
     "Un parámetro del mensaje no coincide con la plantilla (cantidad, formato o valor "
     "inválido). Revisar las columnas asignadas a cada variable; si se repite, la campaña se "
     "pausa.",
     "A message parameter does not match the template (count, format or invalid value). "
     "Check the columns mapped to each variable; if it repeats, the campaign is paused."},
    {132012, 132012, "parameter", CLOUDAPI_ACT_FAIL_PARAM,
     "Un parámetro del mensaje no coincide con la plantilla (cantidad, formato o valor "
     "inválido). Revisar las columnas asignadas a cada variable; si se repite, la campaña se "
     "pausa.",
     "A message parameter does not match the template (count, format or invalid value). "
     "Check the columns mapped to each variable; if it repeats, the campaign is paused."},
    {132001, 132001, "template", CLOUDAPI_ACT_PAUSE_CAMPAIGN,
     "La plantilla no existe o no está aprobada en ese idioma. La campaña se pausa: "
     "sincronizar las plantillas y revisar nombre e idioma.",
     "The template does not exist or is not approved in that language. The campaign is "
     "paused: sync the templates and check name and language."},
    {132005, 132005, "template", CLOUDAPI_ACT_PAUSE_CAMPAIGN,
     "Con las variables reemplazadas el texto supera el largo permitido. La campaña se "
     "pausa: acortar los valores o la plantilla.",
     "With the variables filled in the text is too long. The campaign is paused: shorten the "
     "values or the template."},
    {132007, 132007, "template", CLOUDAPI_ACT_PAUSE_CAMPAIGN,
     "El contenido infringe una política de WhatsApp. La campaña se pausa: revisar la "
     "plantilla y los valores enviados.",
     "The content violates a WhatsApp policy. The campaign is paused: review the template and "
     "the values sent."},
    {132015, 132015, "template", CLOUDAPI_ACT_PAUSE_CAMPAIGN,
     "Meta pausó la plantilla por baja calidad (muchos bloqueos o reportes). La campaña se "
     "pausa hasta que la plantilla vuelva a estar activa.",
     "Meta paused the template for low quality (many blocks or reports). The campaign is "
     "paused until the template is active again."},
    {132016, 132016, "template", CLOUDAPI_ACT_STOP_CAMPAIGN,
     "Meta deshabilitó la plantilla de forma permanente. La campaña se detiene: crear una "
     "plantilla nueva.",
     "Meta disabled the template permanently. The campaign is stopped: create a new "
     "template."},
    {131064, 131064, "template", CLOUDAPI_ACT_PAUSE_CAMPAIGN,
     "Envíos limitados por infracciones en la clasificación de plantillas. La campaña se "
     "pausa; el límite se levanta más adelante.",
     "Messaging limited for template classification violations. The campaign is paused; the "
     "limit lifts later."},
    {131048, 131048, "number", CLOUDAPI_ACT_PAUSE_NUMBER,
     "Demasiados mensajes anteriores de este número fueron bloqueados o marcados como spam. "
     "Se pausan todas las campañas del número: revisar a quién y qué se envía.",
     "Too many earlier messages from this number were blocked or flagged as spam. Every "
     "campaign of the number is paused: review who is messaged and with what."},
    {0, 0, "account", CLOUDAPI_ACT_STOP_ACCOUNT,
     "El token de acceso venció, es inválido o no tiene permisos. Se detienen todos los "
     "envíos de la cuenta: generar un token nuevo y cargarlo en la configuración.",
     "The access token expired, is invalid or lacks permissions. All sending on the account "
     "stops: create a new token and put it in the settings."},
    {3, 3, "account", CLOUDAPI_ACT_STOP_ACCOUNT,
     "El token de acceso venció, es inválido o no tiene permisos. Se detienen todos los "
     "envíos de la cuenta: generar un token nuevo y cargarlo en la configuración.",
     "The access token expired, is invalid or lacks permissions. All sending on the account "
     "stops: create a new token and put it in the settings."},
    {10, 10, "account", CLOUDAPI_ACT_STOP_ACCOUNT,
     "El token de acceso venció, es inválido o no tiene permisos. Se detienen todos los "
     "envíos de la cuenta: generar un token nuevo y cargarlo en la configuración.",
     "The access token expired, is invalid or lacks permissions. All sending on the account "
     "stops: create a new token and put it in the settings."},
    {190, 190, "account", CLOUDAPI_ACT_STOP_ACCOUNT,
     "El token de acceso venció, es inválido o no tiene permisos. Se detienen todos los "
     "envíos de la cuenta: generar un token nuevo y cargarlo en la configuración.",
     "The access token expired, is invalid or lacks permissions. All sending on the account "
     "stops: create a new token and put it in the settings."},
    {368, 368, "account", CLOUDAPI_ACT_STOP_ACCOUNT,
     "La cuenta de WhatsApp Business fue restringida por infringir políticas. Se detienen "
     "todos los envíos: revisar el Business Manager.",
     "The WhatsApp Business account was restricted for policy violations. All sending stops: "
     "check Business Manager."},
    {131031, 131031, "account", CLOUDAPI_ACT_STOP_ACCOUNT,
     "La cuenta de WhatsApp Business está bloqueada. Se detienen todos los envíos: revisar "
     "el Business Manager.",
     "The WhatsApp Business account is locked. All sending stops: check Business Manager."},
    {131042, 131042, "account", CLOUDAPI_ACT_STOP_ACCOUNT,
     "Hay un problema con el método de pago de la cuenta. Se detienen todos los envíos: "
     "revisar la facturación en el Business Manager.",
     "There is a problem with the account's payment method. All sending stops: check billing "
     "in Business Manager."},
    {133010, 133010, "number", CLOUDAPI_ACT_STOP_NUMBER,
     "El número de teléfono no está registrado en la Cloud API o su registro falló. Se "
     "detienen los envíos de ese número: registrarlo de nuevo.",
     "The phone number is not registered with the Cloud API or its registration failed. "
     "Sending from that number stops: register it again."},
    {131045, 131045, "number", CLOUDAPI_ACT_STOP_NUMBER,
     "El número de teléfono no está registrado en la Cloud API o su registro falló. Se "
     "detienen los envíos de ese número: registrarlo de nuevo.",
     "The phone number is not registered with the Cloud API or its registration failed. "
     "Sending from that number stops: register it again."},
    {CLOUDAPI_CODE_NO_ANSWER, CLOUDAPI_CODE_NO_ANSWER, "network", CLOUDAPI_ACT_RETRY,
     "No hubo respuesta de la API (red caída, tiempo agotado o conexión rechazada). Se "
     "reintenta; si persiste, revisar la conexión del servidor.",
     "No answer from the API (network down, timeout or connection refused). It is retried; "
     "if it persists, check the server's connection."},
    {CLOUDAPI_CODE_BAD_ANSWER, CLOUDAPI_CODE_BAD_ANSWER, "network", CLOUDAPI_ACT_RETRY,
     "La API devolvió una respuesta que no se pudo interpretar. Se reintenta; si persiste, "
     "revisar proxies o la URL configurada de la API.",
     "The API returned an answer that could not be understood. It is retried; if it "
     "persists, check proxies or the configured API URL."},
    {200, 299, "account", CLOUDAPI_ACT_STOP_ACCOUNT,
     "A la aplicación le falta un permiso. Se detienen todos los envíos de la cuenta: otorgar "
     "el permiso al token y actualizar la configuración.",
     "The app lacks a permission it needs. All sending on the account stops: grant the "
     "permission to the token and update the settings."},
};

const struct errcode *errcodes_find(int code)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (code >= table[i].lo && code <= table[i].hi)
            return &table[i];
    return NULL;
}

const struct errcode *errcodes_all(size_t *n)
{
    *n = sizeof table / sizeof table[0];
    return table;
}

const char *errcodes_unknown(const char *lang)
{
    int en = lang != NULL && strncasecmp(lang, "en", 2) == 0;
    return en ? "Unknown error code. Temporary server errors are retried; otherwise the "
                "message is marked as failed. See the details for more."
              : "Código de error desconocido. Si fue un error temporal del servidor se "
                "reintenta; si no, el mensaje queda fallido. Ver el detalle.";
}

const char *errcodes_explain(int code, const char *lang)
{
    const struct errcode *e = errcodes_find(code);
    if (!e)
        return errcodes_unknown(lang);
    return lang != NULL && strncasecmp(lang, "en", 2) == 0 ? e->en : e->es;
}
