/* The seeded template catalogue, listed in Meta's upper-case component shapes (spec §5).
 * Placeholder counts and names are derived from the texts at start-up, so the catalogue
 * below is the only place a template is described. */
#include "sandbox.h"

#include <stdio.h>
#include <string.h>

static struct sb_template catalogue[] = {
    {.id = "1689556908129832",
     .name = "promo_marzo",
     .language = "es_AR",
     .status = "APPROVED",
     .category = "MARKETING",
     .header = SB_HDR_TEXT,
     .header_text = "Hola {{1}}",
     .header_example = "Ana",
     .body = "Hola {{1}}, el curso de {{2}} empieza el lunes.",
     .body_examples = {"Ana", "Robótica"},
     .footer = "Respondé STOP para no recibir más",
     .buttons = {{SB_BTN_QUICK_REPLY, "No gracias", NULL, NULL}},
     .nbuttons = 1},
    {.id = "1689556908129833",
     .name = "promo_marzo",
     .language = "en_US",
     .status = "APPROVED",
     .category = "MARKETING",
     .body = "Hi {{1}}, the {{2}} course starts on Monday.",
     .body_examples = {"Ann", "Robotics"},
     .footer = "Reply STOP to opt out",
     .buttons = {{SB_BTN_QUICK_REPLY, "No thanks", NULL, NULL}},
     .nbuttons = 1},
    {.id = "2045113470239901",
     .name = "hello_world",
     .language = "en_US",
     .status = "APPROVED",
     .category = "UTILITY",
     .header = SB_HDR_TEXT,
     .header_text = "Hello World",
     .body = "Welcome and congratulations!! This message demonstrates your ability to send a "
             "WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for "
             "taking the time to test with us.",
     .footer = "WhatsApp Business Platform sample message"},
    {.id = "1122334455667701",
     .name = "bienvenida",
     .language = "es",
     .status = "APPROVED",
     .category = "UTILITY",
     .named = true,
     .body = "Hola {{first_name}}, tu inscripción a {{course}} está confirmada.",
     .body_examples = {"Ana", "Robótica"}},
    {.id = "1122334455667702",
     .name = "recordatorio_clase",
     .language = "es_AR",
     .status = "APPROVED",
     .category = "UTILITY",
     .body = "Hola {{1}}, te recordamos tu clase de {{2}} el {{3}}.",
     .body_examples = {"Ana", "Robótica", "lunes 10 a las 18 h"}},
    {.id = "1122334455667703",
     .name = "cupon_descuento",
     .language = "es_MX",
     .status = "APPROVED",
     .category = "MARKETING",
     .body = "¡Hola! Usa el cupón {{1}} y obtén 20% de descuento en tu próxima inscripción.",
     .body_examples = {"MARZO20"},
     .footer = "Válido hasta el 31 de marzo",
     .buttons = {{SB_BTN_URL, "Ver cupón", "https://cursos.example.com/cupon/{{1}}",
                  "https://cursos.example.com/cupon/MARZO20"},
                 {SB_BTN_QUICK_REPLY, "No gracias", NULL, NULL}},
     .nbuttons = 2},
    {.id = "1122334455667704",
     .name = "oferta_pausada",
     .language = "es_AR",
     .status = "PAUSED",
     .category = "MARKETING",
     .body = "Oferta especial: {{1}} con 30% de descuento.",
     .body_examples = {"Robótica"}},
    {.id = "1122334455667705",
     .name = "rechazada",
     .language = "es",
     .status = "REJECTED",
     .category = "MARKETING",
     .body = "¡Ganá plata fácil desde tu casa!"},
    {.id = "1122334455667706",
     .name = "aviso_pago",
     .language = "es_AR",
     .status = "APPROVED",
     .category = "UTILITY",
     .body = "Recibimos tu pago de {{1}}. ¡Gracias!",
     .body_examples = {"$ 15.000"}},
    {.id = "1122334455667707",
     .name = "confirmacion_turno",
     .language = "es",
     .status = "APPROVED",
     .category = "UTILITY",
     .body = "Tu turno quedó confirmado para el {{1}} a las {{2}}.",
     .body_examples = {"martes 12", "10:30"}},
    {.id = "1122334455667708",
     .name = "encuesta_satisfaccion",
     .language = "es_AR",
     .status = "APPROVED",
     .category = "MARKETING",
     .body = "¿Cómo calificarías el curso que terminaste?",
     .buttons = {{SB_BTN_QUICK_REPLY, "Muy bueno", NULL, NULL},
                 {SB_BTN_QUICK_REPLY, "Regular", NULL, NULL},
                 {SB_BTN_QUICK_REPLY, "Malo", NULL, NULL}},
     .nbuttons = 3},
    {.id = "1122334455667709",
     .name = "novedades_semana",
     .language = "es_AR",
     .status = "APPROVED",
     .category = "MARKETING",
     .header = SB_HDR_IMAGE,
     .header_example = "4::aW1hZ2UvanBlZw==:ARZsandboxexample",
     .body = "{{1}}, mirá las novedades de esta semana.",
     .body_examples = {"Ana"},
     .footer = "Respondé STOP para no recibir más"},
    {.id = "1122334455667710",
     .name = "recordatorio_pago",
     .language = "es_MX",
     .status = "APPROVED",
     .category = "UTILITY",
     .body = "Hola {{1}}, tu cuota vence el {{2}}.",
     .body_examples = {"Ana", "15 de abril"},
     .buttons = {{SB_BTN_PHONE, "Llamar", "+5215512345678", NULL}},
     .nbuttons = 1},
    {.id = "1122334455667711",
     .name = "codigo_promocional",
     .language = "es_AR",
     .status = "APPROVED",
     .category = "MARKETING",
     .body = "Tu código de descuento es {{1}}. Copialo y usalo al inscribirte.",
     .body_examples = {"ABC123"},
     .buttons = {{SB_BTN_COPY_CODE, "Copiar código", NULL, "ABC123"}},
     .nbuttons = 1},
    {.id = "1122334455667712",
     .name = "campania_vieja",
     .language = "es_AR",
     .status = "DISABLED",
     .category = "MARKETING",
     .body = "Última oportunidad: {{1}}.",
     .body_examples = {"Robótica"}},
    {.id = "1122334455667713",
     .name = "bienvenida_pendiente",
     .language = "es",
     .status = "PENDING",
     .category = "UTILITY",
     .named = true,
     .body = "Hola {{first_name}}, ya casi terminamos tu alta.",
     .body_examples = {"Ana"}},
};

#define NTEMPLATES ((int)(sizeof catalogue / sizeof catalogue[0]))

/* Counts a text's placeholders: positional ones by highest number, named ones by distinct
 * name (kept in order of first appearance). Returns -1 on a malformed placeholder, which
 * would be a bug in the catalogue above. */
static int count_placeholders(const char *text, bool named, char names[][32], size_t *plen)
{
    int count = 0;
    size_t placeholder_len = 0;
    const char *p = text;

    while (text && (p = strstr(p, "{{")) != NULL) {
        const char *end = strstr(p + 2, "}}");
        size_t n;
        if (!end)
            return -1;
        n = (size_t)(end - (p + 2));
        if (n == 0 || n >= 32)
            return -1;
        placeholder_len += n + 4;
        if (named) {
            int i;
            for (i = 0; i < count; i++)
                if (strlen(names[i]) == n && !memcmp(names[i], p + 2, n))
                    break;
            if (i == count) {
                if (count == SB_TMPL_MAX_PARAMS)
                    return -1;
                memcpy(names[count], p + 2, n);
                names[count][n] = '\0';
                count++;
            }
        } else {
            int v = 0;
            for (size_t i = 0; i < n; i++) {
                if (p[2 + i] < '0' || p[2 + i] > '9')
                    return -1;
                v = v * 10 + (p[2 + i] - '0');
            }
            if (v < 1 || v > SB_TMPL_MAX_PARAMS)
                return -1;
            if (v > count)
                count = v;
        }
        p = end + 2;
    }
    if (plen)
        *plen = placeholder_len;
    return count;
}

int sb_tmpl_init(void)
{
    for (int i = 0; i < NTEMPLATES; i++) {
        struct sb_template *t = &catalogue[i];
        size_t plen = 0;
        t->header_params = 0;
        if (t->header == SB_HDR_TEXT)
            t->header_params = count_placeholders(t->header_text, t->named, t->header_names, NULL);
        else if (t->header != SB_HDR_NONE)
            t->header_params = 1;
        t->body_params = count_placeholders(t->body, t->named, t->body_names, &plen);
        if (t->header_params < 0 || t->body_params < 0) {
            sb_log("template %s/%s: malformed placeholder", t->name, t->language);
            return -1;
        }
        /* placeholders are ASCII, so characters outside them = all characters - plen */
        t->body_fixed_len = 0;
        for (const char *c = t->body; *c; c++)
            t->body_fixed_len += ((unsigned char)*c & 0xC0) != 0x80;
        t->body_fixed_len -= plen;
        for (int b = 0; b < t->nbuttons; b++)
            t->button_dynamic[b] =
                (t->buttons[b].type == SB_BTN_URL && strstr(t->buttons[b].value, "{{1}}")) ||
                t->buttons[b].type == SB_BTN_COPY_CODE;
    }
    return 0;
}

int sb_tmpl_count(void)
{
    return NTEMPLATES;
}

const struct sb_template *sb_tmpl_get(int idx)
{
    return idx >= 0 && idx < NTEMPLATES ? &catalogue[idx] : NULL;
}

int sb_tmpl_find(const char *name, const char *language, bool *name_seen)
{
    *name_seen = false;
    for (int i = 0; i < NTEMPLATES; i++) {
        if (strcmp(catalogue[i].name, name) != 0)
            continue;
        *name_seen = true;
        if (strcmp(catalogue[i].language, language) == 0)
            return i;
    }
    return -1;
}

/* Whether `field` is in the comma-separated list (a "components{...}" style sub-selection
 * counts as the whole field). */
static bool field_wanted(const char *fields, const char *field)
{
    size_t n = strlen(field);
    const char *p = fields;

    if (!fields || !*fields)
        return true;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *start = p;
        int depth = 0;
        while (*p && (depth > 0 || *p != ',')) {
            depth += *p == '{';
            depth -= *p == '}' && depth > 0;
            p++;
        }
        size_t len = strcspn(start, "{, ");
        if (len > (size_t)(p - start))
            len = (size_t)(p - start);
        if (len == n && !memcmp(start, field, n))
            return true;
    }
    return false;
}

static json_object *str_array1(const char *s)
{
    json_object *a = json_object_new_array();
    json_object_array_add(a, json_object_new_string(s));
    return a;
}

static json_object *named_examples(const struct sb_template *t, bool header)
{
    json_object *a = json_object_new_array();
    int n = header ? t->header_params : t->body_params;
    for (int i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        const char *ex = header ? t->header_example : t->body_examples[i];
        json_object_object_add(
            o, "param_name",
            json_object_new_string(header ? t->header_names[i] : t->body_names[i]));
        json_object_object_add(o, "example", json_object_new_string(ex ? ex : "ejemplo"));
        json_object_array_add(a, o);
    }
    return a;
}

static json_object *components_json(const struct sb_template *t)
{
    static const char *const hdr_formats[] = {"", "TEXT", "IMAGE", "VIDEO", "DOCUMENT"};
    static const char *const btn_types[] = {"QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE"};
    json_object *comps = json_object_new_array();

    if (t->header != SB_HDR_NONE) {
        json_object *h = json_object_new_object(), *ex = NULL;
        json_object_object_add(h, "type", json_object_new_string("HEADER"));
        json_object_object_add(h, "format", json_object_new_string(hdr_formats[t->header]));
        if (t->header == SB_HDR_TEXT) {
            json_object_object_add(h, "text", json_object_new_string(t->header_text));
            if (t->header_params > 0) {
                ex = json_object_new_object();
                if (t->named)
                    json_object_object_add(ex, "header_text_named_params", named_examples(t, true));
                else
                    json_object_object_add(ex, "header_text", str_array1(t->header_example));
            }
        } else {
            ex = json_object_new_object();
            json_object_object_add(ex, "header_handle", str_array1(t->header_example));
        }
        if (ex)
            json_object_object_add(h, "example", ex);
        json_object_array_add(comps, h);
    }

    json_object *b = json_object_new_object();
    json_object_object_add(b, "type", json_object_new_string("BODY"));
    json_object_object_add(b, "text", json_object_new_string(t->body));
    if (t->body_params > 0) {
        json_object *ex = json_object_new_object();
        if (t->named) {
            json_object_object_add(ex, "body_text_named_params", named_examples(t, false));
        } else {
            json_object *row = json_object_new_array(), *rows = json_object_new_array();
            for (int i = 0; i < t->body_params; i++)
                json_object_array_add(
                    row, json_object_new_string(t->body_examples[i] ? t->body_examples[i] : "x"));
            json_object_array_add(rows, row);
            json_object_object_add(ex, "body_text", rows);
        }
        json_object_object_add(b, "example", ex);
    }
    json_object_array_add(comps, b);

    if (t->footer) {
        json_object *f = json_object_new_object();
        json_object_object_add(f, "type", json_object_new_string("FOOTER"));
        json_object_object_add(f, "text", json_object_new_string(t->footer));
        json_object_array_add(comps, f);
    }

    if (t->nbuttons > 0) {
        json_object *bs = json_object_new_object(), *arr = json_object_new_array();
        json_object_object_add(bs, "type", json_object_new_string("BUTTONS"));
        for (int i = 0; i < t->nbuttons; i++) {
            const struct sb_button *bt = &t->buttons[i];
            json_object *o = json_object_new_object();
            json_object_object_add(o, "type", json_object_new_string(btn_types[bt->type]));
            json_object_object_add(o, "text", json_object_new_string(bt->text));
            if (bt->type == SB_BTN_URL) {
                json_object_object_add(o, "url", json_object_new_string(bt->value));
                if (t->button_dynamic[i] && bt->example)
                    json_object_object_add(o, "example", str_array1(bt->example));
            } else if (bt->type == SB_BTN_PHONE) {
                json_object_object_add(o, "phone_number", json_object_new_string(bt->value));
            } else if (bt->type == SB_BTN_COPY_CODE) {
                json_object_object_add(o, "example", json_object_new_string(bt->example));
            }
            json_object_array_add(arr, o);
        }
        json_object_object_add(bs, "buttons", arr);
        json_object_array_add(comps, bs);
    }
    return comps;
}

json_object *sb_tmpl_json(const struct sb_template *t, const char *fields)
{
    json_object *o = json_object_new_object();

    if (field_wanted(fields, "name"))
        json_object_object_add(o, "name", json_object_new_string(t->name));
    if (field_wanted(fields, "parameter_format"))
        json_object_object_add(o, "parameter_format",
                               json_object_new_string(t->named ? "NAMED" : "POSITIONAL"));
    if (field_wanted(fields, "components"))
        json_object_object_add(o, "components", components_json(t));
    if (field_wanted(fields, "language"))
        json_object_object_add(o, "language", json_object_new_string(t->language));
    if (field_wanted(fields, "status"))
        json_object_object_add(o, "status", json_object_new_string(t->status));
    if (field_wanted(fields, "category"))
        json_object_object_add(o, "category", json_object_new_string(t->category));
    json_object_object_add(o, "id", json_object_new_string(t->id));
    return o;
}
