"""Issue 19: the operator's words and the campaign's figures. Errors carry a code, a key and
parameters and come in the language asked (?lang=, else Accept-Language, Spanish by default);
a campaign waiting for its send window says so; a cancelled one with nothing sent is not
"100 % answered"; sent and failed never overlap (lib/msgcat, lib/campaign_view)."""
import datetime
import subprocess

from harness import check, eq
from test_campaign_api import START, campaign, synced, upload


def error_of(r, status, code):
    eq(r.status, status, "status of %r" % r)
    e = r.json()["error"]
    eq(e["code"], code, "code")
    return e


def test_errors_answer_in_the_language_asked(s):
    en = error_of(s.get("/api/campaigns?limit=0", headers={"Accept-Language": "en-US,en;q=0.9"}),
                  400, "invalid_parameter")
    es = error_of(s.get("/api/campaigns?limit=0", headers={"Accept-Language": "es-AR"}),
                  400, "invalid_parameter")
    eq(en["message"], "limit must be an integer from 1 to 200", "English")
    eq(es["message"], "limit debe ser un número entero entre 1 y 200.", "Spanish")
    eq((en["field"], en["key"], en["params"]), ("limit", "field.int_range", {"min": 1, "max": 200}),
       "code, key and params are the same in both")
    eq((es["field"], es["key"], es["params"]), (en["field"], en["key"], en["params"]), "same")
    # ?lang= wins over the header; no preference: Spanish; q values are honoured
    eq(error_of(s.get("/api/campaigns?limit=0&lang=en", headers={"Accept-Language": "es"}),
                400, "invalid_parameter")["message"], en["message"], "lang wins")
    eq(error_of(s.get("/api/campaigns?limit=0", headers={"Accept-Language": ""}), 400,
                "invalid_parameter")["message"], es["message"], "Spanish by default")
    eq(error_of(s.get("/api/campaigns?limit=0", headers={"Accept-Language": "fr, es;q=0.5, "
                                                          "en;q=0.8"}),
                400, "invalid_parameter")["message"], en["message"], "by q")
    # A code without a precise message: the code's generic text in Spanish, the developer
    # text as detail; in English the developer text.
    es = error_of(s.get("/api/campaigns/999999999", headers={"Accept-Language": "es"}),
                  404, "not_found")
    eq(es["message"], "No existe (o ya no existe).", "generic Spanish")
    check(es.get("detail"), "detail kept: %r" % es)


def test_parameter_error_in_operator_words(s):
    synced(s)
    body = {"name": "Vacía", "template_name": "recordatorio_clase",
            "template_language": "es_AR", "account_id": 1,
            "params": {"body": {"1": {"value": ""}}}}
    es = error_of(s.post("/api/campaigns", body, headers={"Accept-Language": "es"}), 400,
                  "invalid_field")
    en = error_of(s.post("/api/campaigns", body, headers={"Accept-Language": "en"}), 400,
                  "invalid_field")
    eq(es["field"], "params.body.1", "field")
    eq(es["message"], "Escribí el valor de la variable {{1}} (de 1 a 1024 caracteres).", "es")
    eq(en["message"], "Type the value of variable {{1}} (1 to 1024 characters).", "en")
    eq(es["params"], {"var": "{{1}}"}, "params")


def _csv(prefix, n):
    return "phone,name,consent\n" + "".join("+549387557%s%02d,N%d,si\n" % (prefix, i, i)
                                            for i in range(n))


def test_waiting_for_the_window_and_cancelled_figures(s):
    synced(s)
    tz = s.query("SELECT timezone FROM wa_accounts WHERE id = 1")[0]["timezone"]
    hour = int(subprocess.run(["date", "+%H"], env={"TZ": tz}, capture_output=True,
                              text=True).stdout)
    start, end = (hour + 2) % 24, (hour + 3) % 24
    c = campaign(s, "Ventana cerrada")
    eq(upload(s, c["id"], _csv("91", 5)).status, 200, "upload")
    s.query("UPDATE campaigns SET send_window_start = %s, send_window_end = %s WHERE id = %s",
            (start, end, c["id"]))
    pf = s.post("/api/campaigns/%d/preflight" % c["id"], {}, headers={"Accept-Language": "es"}).json()
    w = [x for x in pf["warnings"] if x["code"] == "window_closed"]
    check(w, "the preflight warns about the window: %r" % pf["warnings"])
    check("%02d:00" % start in w[0]["message"] and "cerrada" in w[0]["message"], w[0])
    eq(s.post("/api/campaigns/%d/start" % c["id"], START).status, 200, "start")
    for lang, words in (("es", "Esperando la ventana de envío hasta las %02d:00" % start),
                        ("en", "Waiting for the send window until %02d:00" % start)):
        g = s.get("/api/campaigns/%d" % c["id"], headers={"Accept-Language": lang}).json()
        eq(g["status"], "running", "state")
        eq(g["waiting"]["code"], "send_window", "waits for the window")
        check(g["waiting"]["message"].startswith(words), g["waiting"])
        check(g["progress"]["eta_seconds"] >= 3600, "the ETA counts the wait: %r" % g["progress"])
        eq(g["progress"]["rate_per_minute"], 0, "no rate while waiting")
    opens = datetime.datetime.strptime(g["waiting"]["params"]["opens_at"], "%Y-%m-%dT%H:%M:%SZ")
    left = (opens - datetime.datetime.utcnow()).total_seconds()
    check(3600 <= left <= 7200 + 60, "opens in 1-2 h: %r" % left)
    # cancelled with nothing sent: nothing answered, 0 %
    eq(s.post("/api/campaigns/%d/cancel" % c["id"], {}).status, 200, "cancel")
    g = s.get("/api/campaigns/%d" % c["id"]).json()
    eq(g["status"], "cancelled", "cancelled")
    eq((g["progress"]["done"], g["progress"]["percent"]), (0, 0.0), "nothing answered")
    eq((g["figures"]["cancelled"]["count"], g["figures"]["cancelled"]["percent"]), (5, 100.0),
       "all cancelled")
    eq(g["waiting"], None, "not waiting")


def test_sent_and_failed_do_not_overlap(s):
    synced(s)
    c = campaign(s, "Cifras")
    eq(upload(s, c["id"], _csv("92", 4)).status, 200, "upload")
    # Four accepted messages, one of them failed afterwards (a status webhook): the counters
    # count it in sent (cumulative) and failed (current).
    s.query("UPDATE recipients SET status = 'sent' WHERE campaign_id = %s", (c["id"],))
    s.query("UPDATE recipients SET status = 'failed' WHERE campaign_id = %s ORDER BY id LIMIT 1",
            (c["id"],))
    s.query("UPDATE campaigns SET status = 'completed', pending_count = 0, sent_count = 4, "
            "failed_count = 1, delivered_count = 2 WHERE id = %s", (c["id"],))
    g = s.get("/api/campaigns/%d" % c["id"]).json()
    f = g["figures"]
    eq((f["sent"]["count"], f["sent"]["percent"]), (3, 75.0), "sent without the failed one")
    eq((f["failed"]["count"], f["failed"]["percent"]), (1, 25.0), "failed")
    eq(f["failed_after_sent"], 1, "failed after WhatsApp accepted it")
    eq((f["delivered"]["count"], f["delivered"]["percent"]), (2, 50.0), "delivered of the total")
    eq((g["progress"]["done"], g["progress"]["percent"]), (4, 100.0), "all answered")


def test_retry_refusal_and_pause_reason_in_language(s):
    synced(s)
    c = campaign(s, "Reintento")
    eq(upload(s, c["id"], _csv("93", 2)).status, 200, "upload")
    s.query("UPDATE recipients SET status = 'unknown' WHERE campaign_id = %s", (c["id"],))
    s.query("UPDATE campaigns SET status = 'completed', pending_count = 0, unknown_count = 2 "
            "WHERE id = %s", (c["id"],))
    r = s.post("/api/campaigns/%d/retry" % c["id"], START, headers={"Accept-Language": "es"})
    e = error_of(r, 409, "nothing_to_retry")
    check("include_unknown" not in e["message"] and "desconocido" in e["message"], e)
    eq((e["key"], e["params"]["unknown"]), ("retry.nothing_unknown", 2), "key and params")
    r = s.post("/api/campaigns/%d/retry" % c["id"], START, headers={"Accept-Language": "en"})
    check("unknown outcome" in error_of(r, 409, "nothing_to_retry")["message"], r.json())


def test_rate_and_eta_follow_the_recent_sends(s):
    """Twenty messages in the minute since a campaign started read about 10-20 a minute (not a
    fifth of it, as a five-minute average of a one-minute run would), and the ETA follows."""
    synced(s)
    c = campaign(s, "Ritmo")
    eq(upload(s, c["id"], _csv("94", 2)).status, 200, "upload")
    # Nothing for the worker to claim (the rows are sent); the counters say 40 are left.
    s.query("UPDATE recipients SET status = 'sent' WHERE campaign_id = %s", (c["id"],))
    s.query("UPDATE campaigns SET status = 'running', total_count = 60, pending_count = 40, "
            "sent_count = 20, started_at = DATE_FORMAT(NOW() - INTERVAL 1 MINUTE, "
            "'%%Y-%%m-%%d %%H:%%i:00') WHERE id = %s", (c["id"],))
    s.query("INSERT INTO send_minutes (campaign_id, minute, sent) VALUES (%s, "
            "DATE_FORMAT(NOW() - INTERVAL 1 MINUTE, '%%Y-%%m-%%d %%H:%%i:00'), 20)", (c["id"],))
    try:
        p = s.get("/api/campaigns/%d" % c["id"]).json()["progress"]
        check(9.9 <= p["rate_per_minute"] <= 20.1, "the real pace: %r" % p)
        eq(p["eta_basis"], "last 5 minutes", "basis")
        want = 40 * 60 / p["rate_per_minute"]
        check(abs(p["eta_seconds"] - want) <= 2, "ETA from that pace: %r (%r)" % (p, want))
    finally:
        s.query("UPDATE campaigns SET status = 'cancelled', pending_count = 0 WHERE id = %s",
                (c["id"],))


def test_password_refusals_in_language(s):
    """The texts the panel used to keep for itself come from the server now, in both languages."""
    email = "idioma-%s@pregon.test" % datetime.datetime.utcnow().strftime("%H%M%S%f")
    body = {"email": email, "role": "viewer", "password": "Password123"}
    es = error_of(s.post("/api/users", body, headers={"Accept-Language": "es"}), 422,
                  "breached_password")
    check(es["message"].startswith("Esa contraseña es conocida"), es)
    check("common" in es["detail"], "the developer's detail beside it: %r" % es)
    en = error_of(s.post("/api/users", body, headers={"Accept-Language": "en"}), 422,
                  "breached_password")
    check("common" in en["message"], en)
    body["password"] = "aaaaaaaaaaaa"
    es = error_of(s.post("/api/users", body, headers={"Accept-Language": "es"}), 422,
                  "weak_password")
    check(es["message"].startswith("La contraseña no sirve"), es)


def test_pause_in_operator_words(s):
    """An operator's pause keeps their words (no "paused by <user>"); a pause by Meta or the
    worker is told in the language asked, its stored English text as detail."""
    synced(s)
    c = campaign(s, "Pausa")
    eq(upload(s, c["id"], _csv("95", 2)).status, 200, "upload")
    s.query("UPDATE campaigns SET send_window_start = (HOUR(NOW()) + 2) %% 24, "
            "send_window_end = (HOUR(NOW()) + 3) %% 24 WHERE id = %s", (c["id"],))
    eq(s.post("/api/campaigns/%d/start" % c["id"], START).status, 200, "start")
    r = s.post("/api/campaigns/%d/pause" % c["id"], {"reason": "revisar el texto"})
    eq(r.status, 200, "pause: %r" % r)
    g = r.json()
    eq((g["pause_reason"], g["pause_kind"]), ("revisar el texto", "operator"), "stored as typed")
    eq(g["pause"], {"kind": "operator", "message": "revisar el texto", "detail": None}, "pause")
    s.query("UPDATE campaigns SET pause_kind = 'template', pause_reason = 'Meta paused the "
            "template recordatorio_clase (es_AR): FIRST_PAUSE' WHERE id = %s", (c["id"],))
    for lang, words in (("es", "Meta pausó o deshabilitó la plantilla de la campaña."),
                        ("en", "Meta paused or disabled the campaign's template.")):
        p = s.get("/api/campaigns/%d" % c["id"], headers={"Accept-Language": lang}).json()["pause"]
        eq(p["message"], words, lang)
        check(p["detail"].startswith("Meta paused the template"), p)
    eq(s.post("/api/campaigns/%d/cancel" % c["id"], {}).status, 200, "cancel")


def test_refusal_by_state_names_the_state_and_action(s):
    """A refusal because of the campaign's state says which state (the panel's word for it)
    and what cannot be done, in each language; the state stays a code in params."""
    synced(s)
    c = campaign(s, "Terminada")
    eq(upload(s, c["id"], _csv("96", 1)).status, 200, "upload")
    s.query("UPDATE campaigns SET status = 'completed', pending_count = 0 WHERE id = %s",
            (c["id"],))
    path = "/api/campaigns/%d" % c["id"]
    es = error_of(s.post(path + "/pause", {}, headers={"Accept-Language": "es"}), 409,
                  "invalid_state")
    eq(es["message"], "La campaña está «Completada»: no se puede pausar (solo una que está "
       "enviando o programada).", "Spanish names the state and the action")
    eq((es["key"], es["params"]["status"], es["params"]["state"]),
       ("campaign.refused.pause", "completed", {"key": "campaign.state.completed"}), "key, params")
    check("completed campaign cannot be paused" in es["detail"], es)
    en = error_of(s.post(path + "/pause", {}, headers={"Accept-Language": "en"}), 409,
                  "invalid_state")
    eq(en["message"], "The campaign is “Completed”: it cannot be paused (only a sending or "
       "scheduled one can).", "English")
    for method, sub, body, key, words in (
            ("POST", "/resume", {}, "campaign.refused.resume", "no se puede reanudar"),
            ("POST", "/start", START, "campaign.refused.start", "no se puede iniciar"),
            ("POST", "/cancel", {}, "campaign.refused.cancel", "no se puede cancelar"),
            ("PATCH", "", {"name": "Otro"}, "campaign.refused.edit", "no se puede editar"),
            ("DELETE", "", None, "campaign.refused.delete", "no se puede eliminar")):
        r = s.request(method, path + sub, body, headers={"Accept-Language": "es"})
        e = error_of(r, 409, "invalid_state")
        eq(e["key"], key, "%s %s" % (method, sub))
        check("«Completada»" in e["message"] and words in e["message"], e)
    r = s.post(path + "/recipients", _csv("97", 1),
               headers={"Content-Type": "text/csv", "Accept-Language": "es"})
    e = error_of(r, 409, "invalid_state")
    eq((e["key"], e["params"]["status"]), ("campaign.refused.add_recipients", "completed"), "add")
    check("«Completada»" in e["message"], e)
    r = s.request("DELETE", path + "/recipients", headers={"Accept-Language": "en"})
    eq(error_of(r, 409, "invalid_state")["message"],
       "Recipients can be removed only from a draft campaign.", "clear")


def test_missing_value_row_names_the_column(s):
    """A row without the value of a column the template's variables use names that column."""
    synced(s)
    c = campaign(s, "Sin nombre")
    text = "phone,name,consent\n+5493875579801,,si\n+5493875579802,Ana,si\n"
    for lang, words in (("es", "Falta el valor de la columna «name», que usa una variable de "
                                "la plantilla."),
                        ("en", "The column “name”, which a template variable uses, has no "
                               "value.")):
        r = s.post("/api/campaigns/%d/recipients" % c["id"], text,
                   headers={"Content-Type": "text/csv", "Accept-Language": lang})
        eq(r.status, 200, "upload: %r" % r)
        rej = [x for x in r.json()["rejected"] if x["reason"] == "missing_param"]
        eq(len(rej), 1, "one row missing its value: %r" % r.json())
        eq(rej[0]["message"], words, lang)
        eq(rej[0]["params"], {"column": "name"}, "params")
        check("'name'" in rej[0]["detail"], rej[0])
        eq(s.request("DELETE", "/api/campaigns/%d/recipients" % c["id"]).status, 200, "clear")


def test_unreadable_csv_names_its_line_in_language(s):
    """A file that cannot be read as CSV names the line in the operator's words (not only in
    the developer's detail, which the panel does not show)."""
    synced(s)
    c = campaign(s, "CSV roto")
    text = 'phone,name,consent\n+5493875579811,Ana,si\n+5493875579812,"Bea,si\n'
    r = s.post("/api/campaigns/%d/recipients" % c["id"], text,
               headers={"Content-Type": "text/csv", "Accept-Language": "es"})
    eq((r.status, r.error_code()), (400, "invalid_csv"), "refused: %r" % r)
    e = r.json()["error"]
    check("línea 3" in e["message"] and e["params"].get("line") == 3, "es: %r" % e)
    check(e["detail"].startswith("line 3:"), "the developer's text kept: %r" % e)
    r = s.post("/api/campaigns/%d/recipients" % c["id"], text,
               headers={"Content-Type": "text/csv", "Accept-Language": "en"})
    check(r.json()["error"]["message"].startswith("line 3:"), "en: %r" % r.json())
    eq(s.query("SELECT total_count FROM campaigns WHERE id = %s", (c["id"],))[0]["total_count"], 0,
       "nothing stored")


def test_user_contact_and_account_refusals_in_language(s):
    """Validation of users, contacts and WhatsApp accounts names the field and its limits in the
    operator's language, not the code's generic sentence."""
    cases = [
        ("/api/users", {"role": "viewer", "password": "x"}, 400, "missing_field",
         "Escribí el correo del usuario.", "Type the user's e-mail address."),
        ("/api/users", {"email": "rol@pregon.test", "role": "jefe", "password": "x"}, 422,
         "invalid_role", "Ese rol no existe: elegí lector, administrador o superadministrador.",
         "That role does not exist: choose viewer, admin or superadmin."),
        ("/api/contacts", {"phone": "+5493875579901", "name": "n" * 201}, 400, "invalid_field",
         "El nombre lleva como máximo 200 caracteres.", "The name has at most 200 characters."),
        ("/api/contacts", {"phone": "+54 9 12"}, 400, "invalid_field",
         "El teléfono es demasiado corto.", "The phone number is too short."),
        ("/api/contacts", {"phone": "+5493875579902", "tags": ["ok", ""]}, 400, "invalid_field",
         "Cada etiqueta lleva de 1 a 64 caracteres (la número 2 no).",
         "Each tag has 1 to 64 characters (number 2 does not)."),
        ("/api/accounts", {"name": "Otra", "waba_id": "abc", "phone_number_id": "1"}, 400,
         "invalid_field", "El ID de la cuenta de WhatsApp Business (WABA) lleva solo números, "
         "como lo muestra Meta.", "The WhatsApp Business Account (WABA) id has digits only, as "
         "Meta shows it."),
        ("/api/accounts", {"name": "Otra", "waba_id": "123"}, 400, "missing_field",
         "Falta el ID del número de teléfono (phone_number_id).",
         "Missing: the phone number id (phone_number_id)."),
        ("/api/opt-outs", {"phone": "+54 9 12"}, 400, "invalid_field",
         "El teléfono es demasiado corto.", "The phone number is too short."),
        ("/api/opt-outs", {"phone": "+5493875579903", "detail": "d" * 501}, 400,
         "invalid_field", "La nota lleva como máximo 500 caracteres.",
         "The note has at most 500 characters."),
        ("/api/optout-keywords", {"keyword": "CHAU", "kind": "palabra"}, 400, "invalid_field",
         "El tipo es «palabra clave» (el mensaje entero, keyword) o «frase» (dentro del mensaje, "
         "phrase).", "The kind is keyword (the whole message) or phrase (within the message)."),
    ]
    for path, body, status, code, es_words, en_words in cases:
        es = error_of(s.post(path, body, headers={"Accept-Language": "es"}), status, code)
        en = error_of(s.post(path, body, headers={"Accept-Language": "en"}), status, code)
        eq((es["message"], en["message"]), (es_words, en_words), "%s %r" % (path, body))
        eq((es["key"], es["params"]), (en["key"], en["params"]), "same key and params")
        check(es["key"] and not es["key"].startswith("error."), "a precise key: %r" % es)


def test_stored_send_errors_in_language(s):
    """The worker's English texts reach the panel with a key and a message in the language asked;
    the stored text stays as it is."""
    synced(s)
    c = campaign(s, "Errores")
    eq(upload(s, c["id"], _csv("98", 2)).status, 200, "upload")
    rid = s.query("SELECT id FROM recipients WHERE campaign_id = %s ORDER BY id", (c["id"],))
    a, b = rid[0]["id"], rid[1]["id"]
    s.query("UPDATE recipients SET status = 'unknown', last_error_text = 'the worker sending it "
            "stopped; outcome unknown' WHERE id = %s", (a,))
    s.query("UPDATE recipients SET status = 'failed', last_error_code = 131026, "
            "last_error_text = 'Message undeliverable' WHERE id = %s", (b,))
    s.query("INSERT INTO send_log (campaign_id, recipient_id, phone, template_name, "
            "template_language, attempt, outcome, error_text) SELECT campaign_id, id, phone, "
            "'recordatorio_clase', 'es_AR', 1, 'unknown', last_error_text FROM recipients "
            "WHERE id = %s", (a,))
    try:
        for lang, words in (("es", "El proceso que lo enviaba se detuvo: no se sabe si WhatsApp "
                                   "lo recibió."),
                            ("en", "The process sending it stopped: it is not known whether "
                                   "WhatsApp received it.")):
            h = {"Accept-Language": lang}
            rs = s.get("/api/campaigns/%d/recipients" % c["id"], headers=h).json()["recipients"]
            e = {x["id"]: x["error"] for x in rs}
            eq((e[a]["key"], e[a]["message"], e[a]["text"]),
               ("send.worker_stopped", words, "the worker sending it stopped; outcome unknown"),
               "recipient without a code (%s)" % lang)
            eq((e[b]["key"], e[b]["params"]["code"]), ("send.meta_error", 131026), "coded")
            check(e[b]["message"].startswith("Error 131026 de Meta: " if lang == "es" else
                                             "Meta error 131026: "), e[b])
            log = s.get("/api/campaigns/%d/log" % c["id"], headers=h).json()["entries"]
            eq([(x["error"]["key"], x["error"]["message"]) for x in log],
               [("send.worker_stopped", words)], "the send log (%s)" % lang)
            st = s.get("/api/campaigns/%d/stats" % c["id"], headers=h).json()
            fc = [x for x in st["failures_by_code"] if x["code"] == 131026]
            eq(fc[0]["key"], "send.meta_error", "failures by code: %r" % fc)
    finally:
        s.query("UPDATE campaigns SET status = 'cancelled', pending_count = 0 WHERE id = %s",
                (c["id"],))


def test_campaign_fields_and_test_send_in_language(s):
    """A campaign's own fields, its start time and a test send without a column's value are
    refused in the operator's words, naming the limit or the column."""
    synced(s)
    body = {"name": "", "template_name": "recordatorio_clase", "template_language": "es_AR",
            "account_id": 1, "params": {"body": [{"column": "name"}, "x", "y"]}}
    es = error_of(s.post("/api/campaigns", body, headers={"Accept-Language": "es"}), 400,
                  "invalid_field")
    eq((es["key"], es["message"], es["params"]),
       ("campaign.name_length", "El nombre de la campaña lleva de 1 a 200 caracteres.",
        {"min": 1, "max": 200}), "name")
    c = campaign(s, "Fecha")
    eq(upload(s, c["id"], _csv("99", 1)).status, 200, "upload")
    at = dict(START, at="2020-01-02T09:00:00-03:00")
    for lang, words in (("es", "La fecha de inicio ya pasó: dejala vacía para empezar ahora."),
                        ("en", "The start time has passed: leave it empty to start now.")):
        e = error_of(s.post("/api/campaigns/%d/start" % c["id"], at,
                            headers={"Accept-Language": lang}), 400, "invalid_field")
        eq((e["key"], e["field"], e["message"]), ("campaign.at_past", "at", words), lang)
    r = s.post("/api/campaigns/%d/test" % c["id"], {"phone": "+5493875579990", "vars": {}},
               headers={"Accept-Language": "es"})
    e = error_of(r, 422, "missing_value")
    eq((e["key"], e["params"]), ("test.missing_column", {"column": "name"}), "test send: %r" % e)
    check("«name»" in e["message"], e)


def test_codes_that_had_no_text_speak_spanish(s):
    """Codes that had no text in the catalogue answered Spanish with the developer's English:
    each has its own text now."""
    synced(s)
    c = campaign(s, "Solo encabezado")
    r = s.post("/api/campaigns/%d/recipients" % c["id"], "phone,name\n",
               headers={"Content-Type": "text/csv", "Accept-Language": "es"})
    e = error_of(r, 422, "no_rows")
    eq(e["message"], "El archivo tiene encabezado pero ninguna fila de datos: no hay nada que "
       "importar.", "no rows")
    r = s.post("/api/campaigns/%d/recipients" % c["id"], "nombre,dia\nAna,lunes\n",
               headers={"Content-Type": "text/csv", "Accept-Language": "es"})
    check(error_of(r, 422, "missing_column")["message"].startswith("El archivo no tiene columna "
                                                                   "de teléfono"), r.json())
    r = s.get("/api/campaigns/%d/recipients?status=raro" % c["id"],
              headers={"Accept-Language": "es"})
    e = error_of(r, 400, "invalid_parameter")
    eq(e["key"], "recipients.status", "status")
    check(e["message"].startswith("El estado es uno de: pendiente"), e)
