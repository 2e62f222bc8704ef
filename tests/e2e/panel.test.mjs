// The admin panel end to end, in Debian's headless Chromium against a whole isolated stack
// (tests/integration/test_ui.py starts it and passes PREGON_BASE and the superadmin's
// credentials). One scenario, step by step, sharing one browser:
//   sign in; sync templates; contacts and an opt-out; a campaign from a CSV with bad rows and
//   its validation report; preflight, test send, start; watch it complete with delivered and
//   read counts from the sandbox's webhooks; pause and resume another; retry failed recipients
//   (and unknown ones on request); schedule one, see Meta pause its template and lift it;
//   import contacts from a CSV; each account's budget on the dashboard; a viewer who cannot
//   start campaigns; the English switch; a phone-sized screen.
// A screenshot of every screen goes to tests/out/screenshots/.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from './browser.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.PREGON_BASE;
const EMAIL = process.env.PREGON_ADMIN_EMAIL;
const PASSWORD = process.env.PREGON_ADMIN_PASSWORD;
const SANDBOX = process.env.PREGON_SANDBOX; // the sandbox's control API (signed webhooks)
const SHOTS = process.env.PREGON_SCREENSHOTS || path.join(HERE, '..', 'out', 'screenshots');
const SLOW = 120000;

if (!BASE || !EMAIL || !PASSWORD) {
  throw new Error('set PREGON_BASE, PREGON_ADMIN_EMAIL and PREGON_ADMIN_PASSWORD (test_ui.py does)');
}

// Numbers of this run only (Córdoba mobiles, +54 9 351 ...), so the scenario does not meet the
// recipients, contacts or opt-outs of the other integration tests on the same stack.
const R = String(100 + Math.floor(Math.random() * 900));
const num = (n) => `+549351${R}${n}`;
// Nine rows: four good ones and one of each rejection reason.
const CSV = [
  'phone,name,day,consent',
  `+54 9 351 ${R}-1001,Ana,martes,si`,
  `${num('1002')},Bruno,,si`,
  `0351 15 ${R}-1003,Carla,jueves,sí`,
  `${num('1004')},Dario,viernes,2026-03-01`,
  '12345,Eva,lunes,si',
  `${num('1001')},Ana otra vez,martes,si`,
  `${num('1006')},Fede,lunes,`,
  `${num('1007')},Gabi,lunes,si`,
  `${num('1008')},,lunes,si`,
].join('\r\n') + '\r\n';
const OPTED_OUT = num('1007');
const CONTACT = num('9999');
const TAG = `ui${R}`;
const GOOD_ROWS = 4;
const AUDIENCE = GOOD_ROWS + 1; // and the contact with the run's tag

let browser, page, shotN = 0;
const viewerEmail = `lector-${Date.now()}@pregon.test`;
// No two neighbouring characters (like "ab" or "98"): cracklib refuses too many of them as
// "too simplistic/systematic", and a random password must always be accepted.
const viewerPassword = 'Lector-' + Array.from({ length: 16 },
  () => 'acegikmoqsuwy02468'[Math.floor(Math.random() * 18)]).join('') + '-Pw9';
let campaignId = null;

async function shot(name, opts = {}) {
  shotN += 1;
  const file = path.join(SHOTS, `${String(shotN).padStart(2, '0')}-${name}.png`);
  await page.waitForTimeout(opts.settle ?? 300);
  // Toasts would cover the page, and the sticky bar would sit mid-page in a full-page shot.
  await page.evaluate(() => { document.getElementById('toasts')?.replaceChildren(); window.scrollTo(0, 0); });
  await page.screenshot({ path: file, fullPage: opts.fullPage ?? true });
  return file;
}

async function go(hash) {
  await page.goto(`${BASE}/${hash}`);
  await page.locator('#page-title').first().waitFor();
}

async function signIn(email, password) {
  await go('#/login');
  await page.getByLabel(/Correo electrónico|E-mail/).fill(email);
  await page.getByLabel(/^(Contraseña|Password)$/).fill(password);
  await page.getByRole('button', { name: /^(Ingresar|Sign in)$/ }).click();
  await page.locator('#user-menu').waitFor({ state: 'visible' });
}

async function counts() {
  const text = await page.locator('.big-progress .legend').innerText();
  const n = (label) => Number((text.match(new RegExp(label + '\\s*([\\d.,]+)')) || [, '-1'])[1].replace(/[.,]/g, ''));
  return { sent: n('Enviados'), delivered: n('Entregados'), read: n('Leídos'), failed: n('Fallidos') };
}

/** A link of the top navigation. */
function nav(name) {
  return page.getByRole('navigation').getByRole('link', { name, exact: true });
}

async function waitStatus(label, timeout = SLOW) {
  await page.locator('h1 .chip', { hasText: label }).waitFor({ timeout });
}

/** A JSON API call from the signed-in page (its cookie and CSRF token). */
async function apiCall(method, p, body) {
  return page.evaluate(async ([m, url, b]) => {
    const sess = await (await fetch('/api/me')).json();
    const r = await fetch(url, { method: m, headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': sess.csrf_token || '' },
      body: b ? JSON.stringify(b) : undefined });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  }, [method, p, body]);
}

async function sandbox(p, body) {
  const r = await fetch(SANDBOX + p, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  assert.equal(r.status, 200, `sandbox ${p}: ${text}`);
  return JSON.parse(text);
}

/** Meta's message_template_status_update for a template, signed and posted by the sandbox. */
async function metaTemplateEvent(event, tpl, waba) {
  const r = await sandbox('/_sandbox/webhook', { payload: { object: 'whatsapp_business_account', entry: [{ id: waba, changes: [{
    field: 'message_template_status_update',
    value: { event, message_template_id: Number(tpl.meta_id), message_template_name: tpl.name,
      message_template_language: tpl.language, reason: 'NONE', other_info: { title: 'FIRST_PAUSE', description: 'low quality' } } }] }] } });
  assert.equal(r.status, 200, 'our webhook accepted it: ' + JSON.stringify(r));
}

/** Waits until no campaign is sending (webhook events apply to every campaign of a template). */
async function idle() {
  for (let i = 0; i < 120; i++) {
    const r = await apiCall('GET', '/api/campaigns?status=running&limit=5');
    if (!r.body.campaigns.length) return;
    await page.waitForTimeout(1000);
  }
  throw new Error('campaigns still running');
}

/** Duplicates a campaign with all its recipients and starts it (or schedules it at `at`). */
async function cloneAndStart(fromId, at) {
  await go(`#/campaigns/${fromId}`);
  await page.getByRole('button', { name: 'Duplicar' }).click();
  await page.getByLabel('Todos (menos las bajas)').check();
  await page.locator('dialog').getByRole('button', { name: 'Duplicar' }).click();
  await page.getByRole('heading', { name: 'Ritmo' }).waitFor();
  const id = Number(page.url().match(/campaigns\/(\d+)\/edit/)[1]);
  await page.getByLabel('Tamaño del lote').fill('5');
  await page.getByLabel('Segundos entre mensajes').fill('0.1');
  if (at) {
    await page.getByLabel('Programar para más tarde').check();
    await page.getByLabel('Fecha y hora de inicio').fill(at);
  }
  await page.getByRole('button', { name: 'Siguiente' }).click();
  await page.locator('.preflight').waitFor({ timeout: SLOW });
  await page.getByLabel(/Entiendo los riesgos de bloqueo/).check();
  await page.getByRole('button', { name: at ? /^Programar para/ : 'Iniciar el envío' }).click();
  await page.waitForURL(new RegExp(`#/campaigns/${id}$`));
  return id;
}

/** Reloads the campaign until its counters match (webhooks land after completion). */
async function waitCounts(want) {
  for (let i = 0; i < 60; i++) {
    await page.locator('.big-progress .legend').waitFor();
    const c = await counts();
    if (Object.entries(want).every(([k, v]) => c[k] === v)) return c;
    await page.waitForTimeout(1000);
    await page.reload();
  }
  assert.deepEqual(await counts(), want);
}

describe('admin panel', { timeout: 15 * 60 * 1000 }, () => {
  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const f of fs.readdirSync(SHOTS)) if (f.endsWith('.png')) fs.rmSync(path.join(SHOTS, f));
    browser = await launch();
    page = browser.context.pages()[0] || await browser.context.newPage();
  });
  after(async () => {
    if (browser) {
      // Every console error is a failure, except the 401 of "who am I?" before signing in.
      const problems = browser.problems.filter((p) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(p));
      await browser.close();
      assert.deepEqual(problems, [], 'the browser console reported errors');
    }
  });

  it('signs in and shows the dashboard with the Sandbox badge', async () => {
    await page.goto(BASE + '/');
    await page.getByRole('heading', { name: 'Ingresar' }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'es');
    // The e-mail field has the focus already, ready to type.
    assert.equal(await page.evaluate(() => document.activeElement.type), 'email');
    // A wrong password is answered next to the form, not with a page change.
    await page.getByLabel('Correo electrónico').fill(EMAIL);
    await page.getByLabel('Contraseña').fill('wrong-password-123');
    await page.getByRole('button', { name: 'Ingresar' }).click();
    await page.getByText('Correo o contraseña incorrectos.').waitFor();
    await shot('login');
    await signIn(EMAIL, PASSWORD);
    await page.getByRole('heading', { name: 'Cuentas de WhatsApp' }).waitFor();
    assert.ok(await page.locator('#sandbox').isVisible(), 'the Sandbox badge is visible');
    await page.getByText('habilitadas').first().waitFor();
    await shot('dashboard');
  });

  it('syncs the templates from the sandbox and previews one as a WhatsApp bubble', async () => {
    await nav('Plantillas').click();
    await page.getByRole('heading', { name: 'Plantillas', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Sincronizar con Meta' }).click();
    await page.getByText(/Cuenta #\d+: \d+ leídas/).waitFor({ timeout: SLOW });
    await page.getByRole('row', { name: /promo_marzo es_AR/ }).getByRole('button', { name: 'promo_marzo' }).click();
    await page.locator('.tpl-preview .wa-bubble').waitFor();
    const bubble = await page.locator('.tpl-preview .wa-bubble').innerText();
    assert.match(bubble, /el curso de/);
    assert.ok(await page.locator('.tpl-preview .wa-button', { hasText: 'No gracias' }).isVisible());
    await shot('templates');
  });

  it('adds a contact with consent and tags, and an opt-out', async () => {
    await nav('Contactos').click();
    await page.getByRole('heading', { name: 'Agregar un contacto' }).waitFor();
    const form = page.locator('form', { has: page.getByRole('heading', { name: 'Agregar un contacto' }) });
    // Without consent the form refuses, next to the checkbox.
    await form.getByLabel('Teléfono').fill(CONTACT);
    await form.getByLabel('Nombre').fill('Hilda <b>negrita</b>');
    await form.getByLabel('Etiquetas (separadas por coma)').fill(`${TAG}, 2026`);
    await form.getByRole('button', { name: 'Agregar' }).click();
    await form.getByText('Sin consentimiento no se puede agregar para campañas.').waitFor();
    await form.getByLabel('Esta persona aceptó recibir mensajes por WhatsApp.').check();
    await form.getByRole('button', { name: 'Agregar' }).click();
    // The server's text is shown as text: the <b> stays literal.
    await page.getByRole('cell', { name: 'Hilda <b>negrita</b>' }).waitFor();
    assert.equal(await page.locator('td b').count(), 0, 'no HTML from the server is interpreted');
    await page.getByRole('button', { name: new RegExp('^' + TAG) }).first().waitFor();
    await shot('contacts');
    await page.getByRole('tab', { name: 'Bajas (opt-out)' }).click();
    const oo = page.locator('form', { has: page.getByRole('heading', { name: 'Registrar una baja' }) });
    await oo.getByLabel('Teléfono').fill('12');
    await oo.getByRole('button', { name: 'Dar de baja' }).click();
    await oo.locator('.field-error:visible').first().waitFor(); // the API's error, at the phone field
    await oo.getByLabel('Teléfono').fill(OPTED_OUT);
    await oo.getByLabel('Detalle').fill('pidió no recibir más');
    await oo.getByRole('button', { name: 'Dar de baja' }).click();
    await page.getByRole('cell', { name: OPTED_OUT, exact: true }).waitFor();
    // recorded by an operator: only an operator lifts it
    await page.getByRole('row', { name: new RegExp(OPTED_OUT.replace('+', '\\+')) }).getByText('solo un operador').waitFor();
    await shot('opt-outs');
    // opt-out words and phrases: a phrase found inside messages, refused twice once folded
    await page.getByRole('tab', { name: 'Palabras de baja' }).click();
    const kw = page.locator('form', { has: page.getByRole('heading', { name: 'Agregar una palabra o frase' }) });
    const phrase = `no me llamen ${TAG}`;
    await kw.getByLabel('Palabra o frase').fill(phrase);
    await kw.getByLabel('Cómo se busca').selectOption('phrase');
    await kw.getByRole('button', { name: 'Agregar' }).click();
    await page.getByRole('cell', { name: phrase, exact: true }).waitFor();
    await page.getByRole('row', { name: new RegExp(phrase) }).getByText('dentro del mensaje').waitFor();
    await kw.getByLabel('Palabra o frase').fill(`¡NO me LLAMEN ${TAG}!`);
    await kw.getByRole('button', { name: 'Agregar' }).click();
    await kw.locator('.field-error:visible').first().waitFor(); // 409 duplicate, at the field
    await shot('opt-out-words');
  });

  it('creates a campaign from a CSV with bad rows and shows the validation report', async () => {
    await nav('Campañas').click();
    await page.getByRole('link', { name: 'Nueva campaña' }).first().click();
    await page.getByRole('heading', { name: 'Nueva campaña' }).waitFor();
    // Step 1: name and an APPROVED template, with its live preview.
    await page.getByRole('button', { name: 'Siguiente' }).click();
    await page.getByText('Poné un nombre a la campaña.').waitFor();
    await page.getByLabel('Nombre de la campaña').fill('Robótica — recordatorio de marzo');
    await page.getByLabel(/recordatorio_clase/).check();
    await page.locator('.preview-box .wa-bubble').waitFor();
    await shot('wizard-1-template');
    await page.getByRole('button', { name: 'Siguiente' }).click();
    // Step 2: map the three body variables; the CSV's header offers its columns.
    await page.getByRole('heading', { name: 'Variables' }).waitFor();
    await page.getByLabel('Leer las columnas de un CSV (opcional)').setInputFiles({
      name: 'alumnos.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await page.getByText(/alumnos\.csv: columnas phone, name, day, consent/).waitFor();
    const row = (n) => page.locator('fieldset.map-row', { hasText: `Cuerpo {{${n}}}` });
    await row(1).getByLabel('Origen').selectOption('column');
    await row(1).getByLabel('Columna').fill('name');
    await row(2).getByLabel('Origen').selectOption('fixed');
    await row(2).getByLabel('Valor').fill('Robótica');
    await row(3).getByLabel('Origen').selectOption('column');
    await row(3).getByLabel('Columna').fill('day');
    await row(3).getByLabel('Si está vacío').fill('lunes');
    await page.locator('.preview-box .wa-body', { hasText: 'Ana' }).waitFor();
    await shot('wizard-2-variables');
    await page.getByRole('button', { name: 'Siguiente' }).click();
    // Step 3: drop the CSV on the drop zone, upload it, read the report.
    await page.getByRole('heading', { name: 'Destinatarios' }).waitFor();
    campaignId = Number(page.url().match(/campaigns\/(\d+)\/edit/)[1]);
    const dt = await page.evaluateHandle((text) => {
      const d = new DataTransfer();
      d.items.add(new File([text], 'alumnos.csv', { type: 'text/csv' }));
      return d;
    }, CSV);
    await page.dispatchEvent('.dropzone', 'drop', { dataTransfer: dt });
    await page.getByText(/alumnos\.csv · \d+ KB/).waitFor();
    await page.getByRole('button', { name: 'Subir y validar' }).click();
    const report = page.locator('.report-card');
    await report.waitFor({ timeout: SLOW });
    const stats = await report.locator('.stats').innerText();
    assert.match(stats, /Filas leídas\s*9/);
    assert.match(stats, new RegExp(`Aceptadas\\s*${GOOD_ROWS}`));
    assert.match(stats, /Rechazadas\s*5/);
    for (const reason of ['Repetido', 'Sin consentimiento', 'Se dio de baja', 'Falta el valor de una variable'])
      await report.getByText(reason).first().waitFor();
    // Rejected rows with their line numbers (the header is line 1).
    await report.getByRole('row', { name: /^6 / }).waitFor();
    await report.getByRole('row', { name: /^7 Repetido/ }).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      report.getByRole('button', { name: 'Descargar rechazos (CSV)' }).click(),
    ]);
    const body = fs.readFileSync(await download.path(), 'utf8');
    assert.match(body, /line,reason,reason_text,message/);
    assert.equal(body.trim().split(/\r?\n/).length, 6);
    assert.equal(await page.locator('.audience-total strong').innerText(), String(GOOD_ROWS));
    await shot('wizard-3-report');
    // Contacts chosen by tag join the audience too (the keyboard moves between the tabs).
    await page.getByRole('tab', { name: 'Archivo CSV' }).focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getByRole('tab', { name: 'Contactos por etiqueta' }).getAttribute('aria-selected'), 'true');
    await page.getByLabel(`Incluir ${TAG}`).check();
    await page.getByRole('button', { name: 'Agregar contactos' }).click();
    await page.locator('.report-card .stats', { hasText: /Aceptadas\s*1/ }).waitFor();
    await page.locator('.audience-total strong', { hasText: String(GOOD_ROWS + 1) }).waitFor();
  });

  it('sets the pace, runs the preflight with its warnings, sends a test and starts', async () => {
    await page.getByRole('button', { name: 'Siguiente' }).click();
    await page.getByRole('heading', { name: 'Ritmo' }).waitFor();
    // An API error lands next to its field: a batch of 5000 is refused by the server.
    await page.getByLabel('Tamaño del lote').fill('5000');
    await page.getByRole('button', { name: 'Siguiente' }).click();
    await page.locator('[data-field="batch_size"] .field-error:visible').waitFor();
    await page.getByLabel('Tamaño del lote').fill('2');
    await page.getByLabel('Segundos entre mensajes').fill('0.2');
    await page.getByLabel('Tope diario').fill('1000');
    // Over the account's frequency cap (issue 21): this campaign skips the person.
    await page.getByLabel('Si la persona llegó al tope de frecuencia').selectOption('skip');
    await shot('wizard-4-pace');
    await page.getByRole('button', { name: 'Siguiente' }).click();
    await page.getByRole('heading', { name: 'Revisión y envío' }).waitFor();
    assert.equal((await apiCall('GET', `/api/campaigns/${campaignId}`)).body.freq_cap_action, 'skip');
    await page.locator('.preflight').waitFor({ timeout: SLOW });
    assert.match(await page.locator('.preflight .stats').innerText(), new RegExp(`Se enviarán\\s*${AUDIENCE}`));
    await page.getByText(/Riesgo de bloqueo/).waitFor();
    await page.getByText(/ningún mensaje llega a un teléfono real/).waitFor();
    // A test send to one number before starting.
    await page.getByLabel('Número de prueba').fill(`+54 9 351 ${R}-1001`);
    await page.getByRole('button', { name: 'Enviar prueba' }).click();
    await page.getByText(`Prueba aceptada por WhatsApp para ${num('1001')}.`).waitFor({ timeout: SLOW });
    // Starting without the acknowledgement is refused next to the checkbox.
    await page.getByRole('button', { name: 'Iniciar el envío' }).click();
    await page.getByText('Confirmá que entendés los riesgos antes de enviar.').waitFor();
    await page.getByLabel(/Entiendo los riesgos de bloqueo/).check();
    await shot('wizard-5-preflight');
    await page.getByRole('button', { name: 'Iniciar el envío' }).click();
    await page.waitForURL(new RegExp(`#/campaigns/${campaignId}$`));
  });

  it('watches the campaign complete with delivered and read counts from the webhooks', async () => {
    await waitStatus('Completada');
    await page.waitForFunction(async (n) => {
      const t = document.querySelector('.big-progress .legend');
      return t && new RegExp(`Leídos\\s*${n}\\b`).test(t.innerText);
    }, AUDIENCE, { timeout: SLOW, polling: 500 }).catch(async () => {
      await page.reload();
      await page.locator('.big-progress .legend').waitFor();
    });
    // Completed stops polling; read counts can land a moment later, so look again if needed.
    for (let i = 0; i < 60; i++) {
      const c = await counts();
      if (c.read === AUDIENCE) break;
      await page.waitForTimeout(1000);
      await page.reload();
      await page.locator('.big-progress .legend').waitFor();
    }
    const c = await counts();
    assert.deepEqual(c, { sent: AUDIENCE, delivered: AUDIENCE, read: AUDIENCE, failed: 0 });
    await page.locator('svg.funnel').waitFor();
    await page.getByRole('heading', { name: 'Registro de envíos' }).waitFor();
    await page.locator('table', { hasText: num('1002') }).first().waitFor();
    assert.ok(await page.getByRole('link', { name: 'Exportar registro (CSV)' }).isVisible());
    await shot('campaign-completed');
    const csv = await page.evaluate(async (id) => (await fetch(`/api/campaigns/${id}/log.csv`)).text(), campaignId);
    assert.ok(csv.includes(num('1003').slice(1)), 'the log export has the recipients');
    // Cost: the sandbox's statuses carry Meta's pricing; with no rate in the card, every
    // billable message is shown without a rate (issue 21).
    const cost = page.locator('section', { has: page.getByRole('heading', { name: 'Costo', exact: true }) });
    await cost.getByRole('button', { name: 'Actualizar' }).click();
    await cost.locator('table').waitFor({ timeout: SLOW });
    assert.match(await cost.locator('table').innerText(), /sin tarifa/);
    await cost.getByText(`${AUDIENCE} mensajes facturables no tienen tarifa`).waitFor();
    assert.ok(await cost.getByRole('link', { name: 'Exportar costo (CSV)' }).isVisible());
  });

  it('pauses and resumes another campaign, with the reason shown', async () => {
    // A copy of the first one with every recipient, slowed down so it can be paused. The
    // dialog also offers retargeting by what each message did.
    await page.getByRole('button', { name: 'Duplicar' }).click();
    for (const l of ['Los no entregados', 'Los entregados que no lo leyeron', 'Los que lo leyeron y no respondieron',
      'Los que respondieron', 'Los que tocaron un botón']) await page.getByLabel(l).waitFor();
    await shot('clone-retargeting');
    await page.getByLabel('Todos (menos las bajas)').check();
    await page.locator('dialog').getByRole('button', { name: 'Duplicar' }).click();
    await page.getByRole('heading', { name: 'Ritmo' }).waitFor();
    const second = Number(page.url().match(/campaigns\/(\d+)\/edit/)[1]);
    assert.notEqual(second, campaignId);
    await page.getByLabel('Tamaño del lote').fill('1');
    await page.getByLabel('Segundos entre mensajes').fill('4');
    await page.getByRole('button', { name: 'Siguiente' }).click();
    await page.locator('.preflight').waitFor({ timeout: SLOW });
    await page.getByLabel(/Entiendo los riesgos de bloqueo/).check();
    await page.getByRole('button', { name: 'Iniciar el envío' }).click();
    await page.waitForURL(new RegExp(`#/campaigns/${second}$`));
    await waitStatus('Enviando');
    await page.getByRole('button', { name: 'Pausar' }).click();
    await page.getByLabel('Motivo (opcional)').fill('revisar el texto con dirección');
    await page.locator('dialog').getByRole('button', { name: 'Pausar' }).click();
    await waitStatus('Pausada');
    await page.getByText(/revisar el texto con dirección/).first().waitFor();
    // Who paused it, and that it can be resumed now (the server's resumable).
    await page.locator('.pause-box', { hasText: 'Pausada por: una persona' }).waitFor();
    await page.getByText('Se puede reanudar ahora.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Reanudar' }).isEnabled(), true);
    await shot('campaign-paused');
    await page.getByRole('button', { name: 'Reanudar' }).click();
    await waitStatus(/Enviando|Completada/);
    await nav('Campañas').click();
    await page.locator('.campaigns-table').waitFor();
    await page.locator('.campaigns-table .chip', { hasText: 'Completada' }).first().waitFor();
    await shot('campaigns-list');
    // Search narrows the list.
    await page.getByLabel('Buscar por nombre').fill('copia');
    await page.getByRole('button', { name: 'Filtrar' }).click();
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('.campaigns-table tbody tr')];
      return rows.length > 0 && rows.every((r) => /copia/.test(r.textContent));
    });
  });

  it('retries the failed recipients, and the unknown ones only when asked', async () => {
    await idle();
    // One number fails once, reported later by a status webhook (131000: may be retried).
    await sandbox('/_sandbox/config', { errors: [{ to: num('1003'), code: 131000, mode: 'async', times: 1 }] });
    const id = await cloneAndStart(campaignId);
    await waitStatus('Completada');
    await waitCounts({ read: AUDIENCE - 1, failed: 1 });
    await page.locator('table', { hasText: '131000' }).first().waitFor();
    // The send log is newest first: its times never go up from one row to the next.
    const ids = await page.evaluate(async (cid) => (await (await fetch(`/api/campaigns/${cid}/log?order=desc`)).json()).entries.map((e) => e.id), id);
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a));
    assert.equal(await page.locator('section[aria-labelledby="log-h"] tbody tr').count(), ids.length);
    await shot('campaign-failed');
    // Pretend the server also counts an unknown one, to see the UI ask before including them.
    await page.route(`**/api/campaigns/${id}`, async (route) => {
      const res = await route.fetch();
      const c = await res.json();
      c.counters.unknown = 1;
      await route.fulfill({ response: res, json: c });
    });
    await page.reload();
    await page.getByRole('button', { name: 'Reintentar fallidos' }).click();
    const dlg = page.locator('dialog');
    await dlg.getByText('Hay 1 fallidos y 1 con estado desconocido.', { exact: false }).waitFor();
    await dlg.getByLabel(/Incluir también los de estado desconocido/).check();
    await shot('campaign-retry-dialog', { fullPage: false });
    const [req] = await Promise.all([
      page.waitForRequest((r) => r.url().endsWith(`/api/campaigns/${id}/retry`) && r.method() === 'POST'),
      dlg.getByRole('button', { name: 'Reintentar fallidos' }).click(),
    ]);
    assert.deepEqual(JSON.parse(req.postData()), { acknowledge_risk: true, include_unknown: true });
    await page.getByText('1 destinatarios vuelven a la cola.').waitFor();
    await page.unrouteAll({ behavior: 'wait' }); // let a request in flight finish first
    await page.reload();
    await waitStatus('Completada');
    await waitCounts({ read: AUDIENCE, failed: 0 });
    await shot('campaign-retried');
  });

  it('schedules a campaign; Meta pauses its template and it cannot resume until Meta lifts it', async () => {
    await idle();
    const at = await page.evaluate(() => {
      const d = new Date(Date.now() + 2 * 3600 * 1000);
      const p = (n) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    });
    const id = await cloneAndStart(campaignId, at);
    await waitStatus('Programada');
    await page.getByText(/programada para/).first().waitFor();
    await shot('campaign-scheduled');
    const tpl = (await apiCall('GET', '/api/templates?name=recordatorio_clase&language=es_AR')).body.templates[0];
    const acct = (await apiCall('GET', `/api/accounts/${tpl.account_id}`)).body;
    await metaTemplateEvent('PAUSED', tpl, acct.waba_id);
    await page.reload();
    await waitStatus('Pausada');
    const box = page.locator('.pause-box');
    await box.getByText(/Meta pausó o deshabilitó la plantilla de la campaña/).waitFor();
    await box.getByText('Meta (plantilla)').waitFor();
    await box.getByText('Todavía no se puede reanudar:').waitFor();
    await box.getByText(/Meta tiene que levantar la causa primero/).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Reanudar' }).isDisabled(), true, 'resume is not offered');
    await shot('campaign-paused-by-meta');
    // The dashboard lists it under the account, as paused by Meta.
    await go('#/');
    const meta = page.locator('.paused-by-meta');
    await meta.getByText('Campañas pausadas por Meta').waitFor();
    await meta.locator(`a[href="#/campaigns/${id}"]`).waitFor();
    await shot('dashboard-paused-by-meta');
    // Meta approves it again: the campaign may be resumed, back to waiting for its time.
    await metaTemplateEvent('APPROVED', tpl, acct.waba_id);
    await go(`#/campaigns/${id}`);
    await page.getByText('Se puede reanudar ahora.').waitFor();
    await page.getByRole('button', { name: 'Reanudar' }).click();
    await waitStatus('Programada');
    await page.getByRole('button', { name: 'Cancelar campaña' }).click();
    await page.locator('dialog').getByRole('button', { name: 'Cancelar campaña' }).click();
    await waitStatus('Cancelada');
  });

  it('imports contacts from a CSV and reports the bad rows by line', async () => {
    await nav('Contactos').click();
    await page.getByRole('heading', { name: 'Importar contactos (CSV)' }).waitFor();
    const file = [
      'telefono;nombre;consent;tags;ciudad',
      `${num('2001')};Irene;si;import${R};Córdoba`,
      `0351 15 ${R}-2002;Juan;sí;import${R};Córdoba`,
      '123;Corto;si;;Córdoba',
      `${num('2001')};Irene otra vez;si;;Córdoba`,
      `${num('2004')};Sin permiso;no;;Córdoba`,
    ].join('\r\n') + '\r\n';
    const form = page.locator('form', { has: page.getByRole('heading', { name: 'Importar contactos (CSV)' }) });
    await form.getByLabel('Archivo CSV').setInputFiles({ name: 'contactos.csv', mimeType: 'text/csv', buffer: Buffer.from(file) });
    await form.getByRole('button', { name: 'Importar' }).click();
    const report = page.locator('.report-card');
    await report.waitFor({ timeout: SLOW });
    const stats = await report.locator('.stats').innerText();
    assert.match(stats, /Filas leídas\s*5/);
    assert.match(stats, /Aceptadas\s*2/);
    assert.match(stats, /Rechazadas\s*3/);
    await report.getByRole('row', { name: /^4 / }).waitFor();
    await report.getByRole('row', { name: /^5 Repetido/ }).waitFor();
    await report.getByRole('row', { name: /^6 Sin consentimiento/ }).waitFor();
    await page.getByRole('button', { name: new RegExp('^import' + R) }).first().waitFor();
    await shot('contacts-import');
  });

  it('keeps a segment of contacts, counted as it is written', async () => {
    await nav('Segmentos').click();
    const form = page.locator('form', { has: page.getByRole('heading', { name: 'Nuevo segmento' }) });
    await form.waitFor();
    await form.getByLabel('Nombre').fill(`Córdoba ${R}`);
    await form.getByLabel('Con las etiquetas').fill(`import${R}`);
    await form.getByRole('button', { name: 'Agregar una condición' }).click();
    await form.getByLabel('Dato 1').fill('ciudad');
    await form.getByLabel('Condición 1').selectOption('contains');
    await form.getByLabel('Valor 1').fill('córdoba');
    // the two contacts the CSV import above stored, both with consent
    await form.getByText('Este segmento toma 2 contactos; 2 tienen consentimiento').waitFor();
    await shot('segment-new');
    await form.getByRole('button', { name: 'Guardar segmento' }).click();
    await page.getByRole('cell', { name: `Córdoba ${R}`, exact: true }).waitFor();
    await page.getByRole('cell', { name: '2 (2 con consentimiento)' }).waitFor();
    await shot('segments');
  });

  it('shows each account\'s budget of the day as a bar on the dashboard', async () => {
    // The sandbox has no tier limit; give it one for a moment to see the bar.
    const r = await apiCall('PATCH', '/api/accounts/1', { messaging_tier: 'TIER_1K' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(r.body.tier_usage.used_last_24h >= AUDIENCE, 'users reached: ' + JSON.stringify(r.body.tier_usage));
    try {
      await go('#/');
      const card = page.locator('.acc-card').first();
      await card.locator('.budget-bar[role="progressbar"]').waitFor();
      await card.getByText(/de 1\.000 usuarios únicos/).waitFor();
      await card.getByText(/quedan [\d.]+ usuarios nuevos/).waitFor();
      assert.ok(await page.locator('#sandbox').isVisible(), 'the Sandbox badge stays');
      await shot('dashboard-budget');
    } finally {
      await apiCall('PATCH', '/api/accounts/1', { messaging_tier: 'TIER_UNLIMITED' });
    }
  });

  it('manages settings: accounts with masked secrets, users and the audit log', async () => {
    await nav('Configuración').click();
    await page.getByRole('heading', { name: 'Webhook para Meta' }).waitFor();
    await page.getByText(`${BASE}/webhook`).waitFor();
    await page.getByText(/Actual: ••••/).first().waitFor();
    const html = await page.content();
    assert.doesNotMatch(html, /SANDBOX_ACCESS_TOKEN|Bearer /);
    await shot('settings-accounts');
    // The frequency cap (issue 21): 2 messages per person every 48 h, saved as seconds.
    const acc = page.locator('form.card.acc-form').first();
    await acc.getByLabel('Mensajes por persona').fill('2');
    await acc.getByLabel('En un período de (horas)').fill('48');
    await acc.getByRole('button', { name: 'Guardar' }).click();
    await page.getByText('Guardado').first().waitFor();
    const a1 = (await apiCall('GET', '/api/accounts/1')).body;
    assert.deepEqual([a1.freq_cap_count, a1.freq_cap_window_s], [2, 172800]);
    assert.equal((await apiCall('PATCH', '/api/accounts/1', { freq_cap_count: 0, freq_cap_window_s: 86400 })).status, 200);
    await page.getByRole('tab', { name: 'Usuarios y roles' }).click();
    const form = page.locator('form', { has: page.getByRole('heading', { name: 'Nuevo usuario' }) });
    await form.getByLabel('Correo').fill(viewerEmail);
    await form.getByLabel('Nombre').fill('Lectora de prueba');
    await form.getByLabel('Rol').selectOption('viewer');
    await form.getByLabel('Contraseña inicial').fill(viewerPassword);
    await form.getByRole('button', { name: 'Crear usuario' }).click();
    await page.getByRole('cell', { name: new RegExp('^' + viewerEmail) }).waitFor();
    await shot('settings-users');
    await page.getByRole('tab', { name: 'Auditoría' }).click();
    await page.getByRole('cell', { name: 'Inició la campaña' }).first().waitFor();
    await shot('settings-audit');
  });

  it('a viewer sees campaigns but cannot start or act on them', async () => {
    await page.getByRole('button', { name: 'Salir' }).click();
    await page.getByRole('heading', { name: 'Ingresar' }).waitFor();
    await signIn(viewerEmail, viewerPassword);
    await nav('Campañas').click();
    await page.locator('.campaigns-table').waitFor();
    await page.getByText('Tu rol es de lectura').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Nueva campaña' }).count(), 0);
    assert.equal(await nav('Configuración').isVisible(), false);
    await go(`#/campaigns/${campaignId}`);
    await page.getByText('Tu rol es de lectura: no podés iniciar, pausar ni cancelar campañas.').waitFor();
    for (const name of ['Pausar', 'Reanudar', 'Cancelar campaña', 'Duplicar', 'Reintentar fallidos'])
      assert.equal(await page.getByRole('button', { name }).count(), 0, `${name} is not offered`);
    await go('#/campaigns/new');
    await page.getByRole('heading', { name: 'Sin permiso' }).waitFor();
    await shot('viewer-forbidden');
    // Even a hand-made request is refused by the server.
    const status = await page.evaluate(async (id) => (await fetch(`/api/campaigns/${id}/start`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"acknowledge_risk":true}' })).status, campaignId);
    assert.equal(status, 403);
  });

  it('changes the own password', async () => {
    await page.locator('#password-link').click();
    await page.getByRole('heading', { name: 'Cambiar mi contraseña' }).waitFor();
    await page.getByLabel('Contraseña actual').fill('not-the-password');
    await page.getByLabel('Contraseña nueva', { exact: true }).fill(viewerPassword + 'x');
    await page.getByLabel('Repetir la contraseña nueva').fill(viewerPassword + 'x');
    await page.getByRole('button', { name: 'Cambiar contraseña' }).click();
    await page.getByText('La contraseña actual no es correcta.').waitFor();
    await page.getByLabel('Contraseña actual').fill(viewerPassword);
    await page.getByRole('button', { name: 'Cambiar contraseña' }).click();
    await page.getByText('Contraseña cambiada.').waitFor();
  });

  it('switches to English and back', async () => {
    await go(`#/campaigns/${campaignId}`);
    await page.getByRole('button', { name: /Cambiar el idioma a inglés/ }).click();
    await nav('Campaigns').waitFor();
    await page.getByRole('heading', { name: 'Delivery funnel' }).waitFor();
    await page.getByText('Your role is read-only: you cannot start, pause or cancel campaigns.').waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await shot('english');
    await page.reload();
    await nav('Campaigns').waitFor(); // the choice is remembered
    await page.getByRole('button', { name: /Switch the language to Spanish/ }).click();
    await nav('Campañas').waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'es');
  });

  it('is readable on a phone', async () => {
    await page.getByRole('button', { name: 'Salir' }).click();
    await signIn(EMAIL, PASSWORD);
    await page.setViewportSize({ width: 390, height: 844 });
    await go(`#/campaigns/${campaignId}`);
    await page.locator('svg.funnel').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    // what sticks out, named, so a failure says where to look
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('nav'))
      .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')}`));
    assert.ok(overflow <= 1, `no sideways scrolling on a phone (overflow ${overflow}px: ${wide.join(', ')})`);
    await shot('phone-campaign', { fullPage: false });
    await go('#/');
    await page.getByRole('heading', { name: 'Cuentas de WhatsApp' }).waitFor();
    await shot('phone-dashboard', { fullPage: false });
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
