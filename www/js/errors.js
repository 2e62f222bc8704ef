// Plain-language explanations of Meta's error codes and what to do (from lib/cloudapi.c).
import { getLang } from './i18n.js';

const EXPLAIN = {
 "130429": {
  "es": "Se alcanzó el máximo de mensajes por segundo de este número. Pregón reintenta solo y baja la velocidad del número; no hace falta hacer nada.",
  "en": "This phone number reached its messages-per-second limit. Pregón retries on its own and slows the number down; nothing to do."
 },
 "131056": {
  "es": "Demasiados mensajes seguidos a este mismo destinatario. Se reintenta más tarde solo para él; los demás siguen.",
  "en": "Too many messages in a row to this same recipient. It is retried later for this recipient only; the others go on."
 },
 "131049": {
  "es": "WhatsApp no lo entregó para cuidar la experiencia del usuario (límite de mensajes de marketing por persona). Se reintenta no antes de 24 horas; si se repite, conviene espaciar las campañas a esa persona.",
  "en": "WhatsApp did not deliver it to keep user engagement healthy (per-user marketing cap). It is retried no sooner than 24 hours later; if it keeps happening, send this person fewer campaigns."
 },
 "131000": {
  "es": "Error temporal o servicio de WhatsApp no disponible. Se reintenta con esperas crecientes; si persiste, ver el estado de la plataforma de Meta.",
  "en": "Temporary error or WhatsApp service unavailable. It is retried with growing waits; if it persists, check Meta's platform status."
 },
 "131016": {
  "es": "Error temporal o servicio de WhatsApp no disponible. Se reintenta con esperas crecientes; si persiste, ver el estado de la plataforma de Meta.",
  "en": "Temporary error or WhatsApp service unavailable. It is retried with growing waits; if it persists, check Meta's platform status."
 },
 "1": {
  "es": "Error temporal o servicio de WhatsApp no disponible. Se reintenta con esperas crecientes; si persiste, ver el estado de la plataforma de Meta.",
  "en": "Temporary error or WhatsApp service unavailable. It is retried with growing waits; if it persists, check Meta's platform status."
 },
 "2": {
  "es": "Error temporal o servicio de WhatsApp no disponible. Se reintenta con esperas crecientes; si persiste, ver el estado de la plataforma de Meta.",
  "en": "Temporary error or WhatsApp service unavailable. It is retried with growing waits; if it persists, check Meta's platform status."
 },
 "133004": {
  "es": "Error temporal o servicio de WhatsApp no disponible. Se reintenta con esperas crecientes; si persiste, ver el estado de la plataforma de Meta.",
  "en": "Temporary error or WhatsApp service unavailable. It is retried with growing waits; if it persists, check Meta's platform status."
 },
 "131057": {
  "es": "La cuenta de WhatsApp Business está en mantenimiento (por ejemplo, una mejora de capacidad). Se reintenta en unos minutos.",
  "en": "The WhatsApp Business account is in maintenance (e.g. a throughput upgrade). It is retried in a few minutes."
 },
 "4": {
  "es": "Se superó el límite de llamadas a la API de la aplicación o de la cuenta. Se reintenta más tarde; si es frecuente, bajar la velocidad de envío.",
  "en": "The app or account API call limit was reached. It is retried later; if it happens often, lower the sending rate."
 },
 "80007": {
  "es": "Se superó el límite de llamadas a la API de la aplicación o de la cuenta. Se reintenta más tarde; si es frecuente, bajar la velocidad de envío.",
  "en": "The app or account API call limit was reached. It is retried later; if it happens often, lower the sending rate."
 },
 "131050": {
  "es": "La persona pidió no recibir más mensajes de marketing de esta empresa. Queda registrada la baja y no se le vuelve a enviar.",
  "en": "The person asked to stop receiving marketing messages from this business. The opt-out is recorded and nothing more is sent to them."
 },
 "131026": {
  "es": "No se pudo entregar: el número no tiene WhatsApp, usa una versión vieja o no aceptó las condiciones. Se marca como inválido y no se reintenta.",
  "en": "Undeliverable: the number is not on WhatsApp, runs an old version or has not accepted the terms. It is marked invalid and not retried."
 },
 "131047": {
  "es": "Pasaron más de 24 horas desde la última respuesta de la persona: solo se le pueden enviar plantillas aprobadas.",
  "en": "More than 24 hours have passed since the person last replied: only approved templates can be sent to them."
 },
 "130472": {
  "es": "El número participa de un experimento de Meta y no recibe este mensaje. No se reintenta.",
  "en": "The number is part of a Meta experiment and does not get this message. Not retried."
 },
 "130403": {
  "es": "La empresa bloqueó a este usuario en WhatsApp. Desbloquearlo si debe recibir mensajes.",
  "en": "The business blocked this user on WhatsApp. Unblock them if they should get messages."
 },
 "100": {
  "es": "Un parámetro del mensaje no coincide con la plantilla (cantidad, formato o valor inválido). Revisar las columnas asignadas a cada variable; si se repite, la campaña se pausa.",
  "en": "A message parameter does not match the template (count, format or invalid value). Check the columns mapped to each variable; if it repeats, the campaign is paused."
 },
 "132000": {
  "es": "Un parámetro del mensaje no coincide con la plantilla (cantidad, formato o valor inválido). Revisar las columnas asignadas a cada variable; si se repite, la campaña se pausa.",
  "en": "A message parameter does not match the template (count, format or invalid value). Check the columns mapped to each variable; if it repeats, the campaign is paused."
 },
 "132012": {
  "es": "Un parámetro del mensaje no coincide con la plantilla (cantidad, formato o valor inválido). Revisar las columnas asignadas a cada variable; si se repite, la campaña se pausa.",
  "en": "A message parameter does not match the template (count, format or invalid value). Check the columns mapped to each variable; if it repeats, the campaign is paused."
 },
 "132001": {
  "es": "La plantilla no existe o no está aprobada en ese idioma. La campaña se pausa: sincronizar las plantillas y revisar nombre e idioma.",
  "en": "The template does not exist or is not approved in that language. The campaign is paused: sync the templates and check name and language."
 },
 "132005": {
  "es": "Con las variables reemplazadas el texto supera el largo permitido. La campaña se pausa: acortar los valores o la plantilla.",
  "en": "With the variables filled in the text is too long. The campaign is paused: shorten the values or the template."
 },
 "132007": {
  "es": "El contenido infringe una política de WhatsApp. La campaña se pausa: revisar la plantilla y los valores enviados.",
  "en": "The content violates a WhatsApp policy. The campaign is paused: review the template and the values sent."
 },
 "132015": {
  "es": "Meta pausó la plantilla por baja calidad (muchos bloqueos o reportes). La campaña se pausa hasta que la plantilla vuelva a estar activa.",
  "en": "Meta paused the template for low quality (many blocks or reports). The campaign is paused until the template is active again."
 },
 "132016": {
  "es": "Meta deshabilitó la plantilla de forma permanente. La campaña se detiene: crear una plantilla nueva.",
  "en": "Meta disabled the template permanently. The campaign is stopped: create a new template."
 },
 "131064": {
  "es": "Envíos limitados por infracciones en la clasificación de plantillas. La campaña se pausa; el límite se levanta más adelante.",
  "en": "Messaging limited for template classification violations. The campaign is paused; the limit lifts later."
 },
 "131048": {
  "es": "Demasiados mensajes anteriores de este número fueron bloqueados o marcados como spam. Se pausan todas las campañas del número: revisar a quién y qué se envía.",
  "en": "Too many earlier messages from this number were blocked or flagged as spam. Every campaign of the number is paused: review who is messaged and with what."
 },
 "0": {
  "es": "El token de acceso venció, es inválido o no tiene permisos. Se detienen todos los envíos de la cuenta: generar un token nuevo y cargarlo en la configuración.",
  "en": "The access token expired, is invalid or lacks permissions. All sending on the account stops: create a new token and put it in the settings."
 },
 "3": {
  "es": "El token de acceso venció, es inválido o no tiene permisos. Se detienen todos los envíos de la cuenta: generar un token nuevo y cargarlo en la configuración.",
  "en": "The access token expired, is invalid or lacks permissions. All sending on the account stops: create a new token and put it in the settings."
 },
 "10": {
  "es": "El token de acceso venció, es inválido o no tiene permisos. Se detienen todos los envíos de la cuenta: generar un token nuevo y cargarlo en la configuración.",
  "en": "The access token expired, is invalid or lacks permissions. All sending on the account stops: create a new token and put it in the settings."
 },
 "190": {
  "es": "El token de acceso venció, es inválido o no tiene permisos. Se detienen todos los envíos de la cuenta: generar un token nuevo y cargarlo en la configuración.",
  "en": "The access token expired, is invalid or lacks permissions. All sending on the account stops: create a new token and put it in the settings."
 },
 "368": {
  "es": "La cuenta de WhatsApp Business fue restringida por infringir políticas. Se detienen todos los envíos: revisar el Business Manager.",
  "en": "The WhatsApp Business account was restricted for policy violations. All sending stops: check Business Manager."
 },
 "131031": {
  "es": "La cuenta de WhatsApp Business está bloqueada. Se detienen todos los envíos: revisar el Business Manager.",
  "en": "The WhatsApp Business account is locked. All sending stops: check Business Manager."
 },
 "131042": {
  "es": "Hay un problema con el método de pago de la cuenta. Se detienen todos los envíos: revisar la facturación en el Business Manager.",
  "en": "There is a problem with the account's payment method. All sending stops: check billing in Business Manager."
 },
 "133010": {
  "es": "El número de teléfono no está registrado en la Cloud API o su registro falló. Se detienen los envíos de ese número: registrarlo de nuevo.",
  "en": "The phone number is not registered with the Cloud API or its registration failed. Sending from that number stops: register it again."
 },
 "131045": {
  "es": "El número de teléfono no está registrado en la Cloud API o su registro falló. Se detienen los envíos de ese número: registrarlo de nuevo.",
  "en": "The phone number is not registered with the Cloud API or its registration failed. Sending from that number stops: register it again."
 }
};

const PERMISSION = {
 es: 'A la aplicación le falta un permiso. Se detienen todos los envíos de la cuenta: otorgar el permiso al token y actualizar la configuración.',
 en: 'The app lacks a permission it needs. All sending on the account stops: grant the permission to the token and update the settings.',
};
const UNKNOWN = {
 es: 'Código de error desconocido. Si fue un error temporal del servidor se reintenta; si no, el mensaje queda fallido. Ver el detalle.',
 en: 'Unknown error code. Temporary server errors are retried; otherwise the message is marked as failed. See the details for more.',
};

/** The explanation of a Cloud API error code in the panel's language. */
export function explain(code, serverText) {
  const l = getLang();
  const e = EXPLAIN[String(code)];
  if (e) return e[l];
  const n = Number(code);
  if (n >= 200 && n <= 299) return PERMISSION[l];
  return serverText || UNKNOWN[l];
}
