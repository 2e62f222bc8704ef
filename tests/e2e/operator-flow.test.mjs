// The operator's first hour (issue #19, "Flow"), in Debian's headless Chromium against the
// stack test_ui.py starts: first-run guidance on the dashboard; the pace a campaign starts
// with and why; a test send to a number outside the list (the first recipient's values, or
// typed ones); changing the pace and window of a paused campaign; "retry failed" only when
// something can be retried; templates known only from Meta's webhook, their statuses and a
// preview that a sync clears; the templates table at 1366 px; a stale error that goes once
// recipients are in; contact attributes as variable sources; header-only and binary files;
// the rejected-rows download with the original rows; copies named "(copia 2)"; the new
// user's password shown once; the audit filter and details; the phone header.
// Screenshots go to tests/out/screenshots/operator-flow/ (panel.test.mjs empties its own
// folder, not this one).
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
const SANDBOX = process.env.PREGON_SANDBOX;
const SHOTS = path.join(process.env.PREGON_SCREENSHOTS || path.join(HERE, '..', 'out', 'screenshots'), 'operator-flow');
const SLOW = 120000;

if (!BASE || !EMAIL || !PASSWORD || !SANDBOX) {
  throw new Error('set PREGON_BASE, PREGON_ADMIN_EMAIL, PREGON_ADMIN_PASSWORD and PREGON_SANDBOX (test_ui.py does)');
}

// Numbers of this run only (Córdoba, +54 9 351 ...), apart from the other tests' numbers.
const R = String(100 + Math.floor(Math.random() * 900));
const num = (n) => `+549351${R}${n}`;
const OWN = num('7000'); // the operator's own phone: never on a list
const LIST = ['phone,name,day,consent', `${num('7001')},Ana,martes,formulario web`, `${num('7002')},Beto,jueves,si`].join('\r\n') + '\r\n';

let browser, page;

async function shot(name, opts = {}) {
  await page.waitForTimeout(opts.settle ?? 300);
  await page.evaluate(() => { document.getElementById('toasts')?.replaceChildren(); window.scrollTo(0, 0); });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: opts.fullPage ?? true });
}

async function go(hash) {
  // a step that failed must not leave a modal dialog over the next one
  await page.evaluate(() => document.querySelectorAll('dialog[open]').forEach((d) => d.close())).catch(() => {});
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

/** A JSON (or CSV) API call from the signed-in page (its cookie and CSRF token). */
async function apiCall(method, p, body, type = 'application/json') {
  return page.evaluate(async ([m, url, b, ct]) => {
    const sess = await (await fetch('/api/me')).json();
    const r = await fetch(url, { method: m, headers: { 'Content-Type': ct, 'X-CSRF-Token': sess.csrf_token || '' },
      body: b == null ? undefined : ct === 'application/json' ? JSON.stringify(b) : b });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  }, [method, p, body, type]);
}

async function sandbox(p, body) {
  const r = await fetch(SANDBOX + p, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 200, `sandbox ${p}: ${await r.text()}`);
}

/** A draft on recordatorio_clase with name and day from the CSV, and LIST as its audience. */
async function draft(name, extra = {}, csv = LIST) {
  const r = await apiCall('POST', '/api/campaigns', { name, template_name: 'recordatorio_clase', template_language: 'es_AR',
    params: { body: [{ column: 'name' }, 'Robótica', { column: 'day', fallback: 'lunes' }] }, ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  if (csv) {
    const u = await apiCall('POST', `/api/campaigns/${r.body.id}/recipients`, csv, 'text/csv');
    assert.equal(u.status, 200, JSON.stringify(u.body));
  }
  return r.body.id;
}

describe('operator flow', { timeout: 10 * 60 * 1000 }, () => {
  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    browser = await launch();
    page = browser.context.pages()[0] || await browser.context.newPage();
    await signIn(EMAIL, PASSWORD);
  });
  after(async () => {
    if (browser) {
      const problems = browser.problems.filter((p) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(p));
      await browser.close();
      assert.deepEqual(problems, [], 'the browser console reported errors');
    }
  });

  it('guides a new installation step by step on the dashboard', async () => {
    // A new installation, whatever this stack already holds: no templates, contacts or campaigns.
    const none = (key) => (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ [key]: [] }) });
    await page.route(/\/api\/templates\?limit=1$/, none('templates'));
    await page.route(/\/api\/contacts\?limit=1$/, none('contacts'));
    await page.route(/\/api\/campaigns\?limit=1$/, none('campaigns'));
    await page.evaluate(() => localStorage.removeItem('pregon.keepSandbox'));
    await go('#/');
    const guide = page.locator('.first-run');
    await guide.getByRole('heading', { name: 'Primeros pasos' }).waitFor();
    assert.equal(await guide.locator('.guide-step').count(), 4);
    assert.equal(await guide.locator('.guide-step.next').getAttribute('data-step'), 'account');
    await guide.getByRole('link', { name: 'Conectar cuenta' }).waitFor();
    await shot('dashboard-first-run');
    await guide.getByRole('button', { name: 'Seguir con el sandbox' }).click();
    await guide.locator('.guide-step.next[data-step="templates"]').waitFor();
    assert.equal(await guide.locator('.guide-step[data-step="account"]').getAttribute('class'), 'guide-step done');
    await page.unroute(/\/api\/templates\?limit=1$/);
    await page.unroute(/\/api\/contacts\?limit=1$/);
    await page.unroute(/\/api\/campaigns\?limit=1$/);
    // Done steps drop out; when all are done the card goes.
    assert.equal((await apiCall('POST', '/api/templates/sync', {})).status, 200);
    await apiCall('POST', '/api/contacts', { phone: num('7100'), name: 'Caro', attributes: { curso: 'Robótica' }, consent: { source: 'inscripción presencial' } });
    await draft(`Primera ${R}`, {}, null);
    await page.reload();
    await page.getByRole('heading', { name: 'Cuentas de WhatsApp' }).waitFor();
    await page.locator('.first-run').waitFor({ state: 'detached', timeout: 15000 });
  });

  it('suggests a pace that fits the account and says why', async () => {
    const id = await draft(`Ritmo ${R}`);
    const acc = (await apiCall('GET', '/api/accounts')).body.accounts[0];
    const dp = acc.default_pace;
    await go(`#/campaigns/${id}/edit?step=4`);
    await page.getByRole('heading', { name: 'Ritmo' }).waitFor();
    await page.locator('.pace-why', { hasText: 'Ritmo sugerido para esta cuenta' }).waitFor();
    assert.equal(await page.getByLabel('Tamaño del lote').inputValue(), String(dp.batch_size));
    assert.equal(Number(await page.getByLabel('Segundos entre mensajes').inputValue()), dp.interval_ms / 1000);
    await shot('wizard-4-pace-why');
    await page.getByRole('button', { name: 'Siguiente' }).click();
    await page.locator('.preflight').waitFor({ timeout: SLOW });
    const saved = (await apiCall('GET', `/api/campaigns/${id}`)).body;
    assert.equal(saved.batch_size, dp.batch_size, 'the suggested pace is what was saved');
  });

  it('sends a test to a number outside the list, with the first recipient\'s or typed values', async () => {
    const id = await draft(`Prueba propia ${R}`);
    await go(`#/campaigns/${id}/edit?step=5`);
    await page.locator('.preflight').waitFor({ timeout: SLOW });
    const form = page.locator('.test-send');
    await form.getByLabel('Número de prueba').fill(OWN);
    await form.getByText('Valores de las variables').waitFor();
    await form.getByRole('button', { name: 'Enviar prueba' }).click();
    await form.getByText(`Se usaron los valores del primer destinatario (${num('7001')}).`).waitFor();
    await shot('wizard-5-test-first-recipient');
    await form.getByLabel(/^Escribirlos/).check();
    await form.getByLabel('Columna «name»').fill('Yo');
    await form.getByLabel('Columna «day»').fill('viernes');
    await form.getByRole('button', { name: 'Enviar prueba' }).click();
    await form.locator('.alert-ok').waitFor();
    assert.equal(await form.getByText(/primer destinatario \(/).count(), 0, 'typed values are not the first recipient\'s');
    const msgs = (await (await fetch(SANDBOX + '/_sandbox/messages?limit=1000')).json()).messages.filter((m) => m.to === OWN);
    const texts = msgs.map((m) => m.request.template.components[0].parameters.map((p) => p.text).join('|'));
    assert.deepEqual(texts.slice(-2), ['Ana|Robótica|martes', 'Yo|Robótica|viernes']);
    await shot('wizard-5-test-typed');
  });

  it('changes the pace and window of a paused campaign', async () => {
    const id = await draft(`Pausada ${R}`, { batch_size: 200 });
    const at = new Date(Date.now() + 3 * 3600 * 1000).toISOString();
    assert.equal((await apiCall('POST', `/api/campaigns/${id}/start`, { acknowledge_risk: true, at })).body.status, 'scheduled');
    assert.equal((await apiCall('POST', `/api/campaigns/${id}/pause`, { reason: 'revisar ritmo' })).body.status, 'paused');
    await go(`#/campaigns/${id}`);
    await page.getByRole('button', { name: 'Cambiar ritmo y horario' }).click();
    const dlg = page.locator('dialog');
    await dlg.getByLabel('Tamaño del lote').fill('7');
    await dlg.getByLabel('Segundos entre mensajes').fill('2');
    await dlg.getByLabel('Enviar solo en una franja horaria').check();
    await dlg.getByLabel('Si la persona llegó al tope de frecuencia').selectOption('skip');
    await shot('campaign-paused-pace-dialog', { fullPage: false });
    await dlg.getByRole('button', { name: 'Guardar' }).click();
    await page.locator('details.pace dd', { hasText: /^7$/ }).waitFor({ state: 'attached' });
    const c = (await apiCall('GET', `/api/campaigns/${id}`)).body;
    assert.deepEqual([c.status, c.batch_size, c.interval_ms, !!c.send_window, c.freq_cap_action],
      ['paused', 7, 2000, true, 'skip']);
    await page.locator('details.pace summary').click();
    await shot('campaign-paused-pace-saved');
    // The audit trail says it, readably.
    await go('#/settings?tab=audit');
    await page.getByLabel('Acción').selectOption({ label: 'Editó la campaña' });
    await page.getByRole('button', { name: 'Filtrar' }).click();
    const detail = page.locator('dl.detail', { hasText: 'tamaño del lote: 7' }).first();
    await detail.waitFor();
    assert.ok(!(await detail.innerText()).includes('{'), 'no raw JSON');
    await shot('settings-audit-readable');
  });

  it('offers "retry failed" only when something can be retried', async () => {
    await sandbox('/_sandbox/config', { errors: [{ to: num('7201'), code: 131026, mode: 'sync', times: -1 }] });
    try {
      const id = await draft(`Sin reintento ${R}`, { interval_ms: 0 }, `phone,name,consent\r\n${num('7201')},Dora,si\r\n`);
      await apiCall('POST', `/api/campaigns/${id}/start`, { acknowledge_risk: true });
      for (let i = 0; i < 60; i++) {
        const c = (await apiCall('GET', `/api/campaigns/${id}`)).body;
        if (c.status === 'completed' && c.counters.failed === 1) break;
        await page.waitForTimeout(1000);
      }
      await go(`#/campaigns/${id}`);
      await page.getByRole('button', { name: 'Duplicar' }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Reintentar fallidos' }).count(), 0, 'a 131026 cannot be retried');
    } finally {
      await sandbox('/_sandbox/config', { errors: [] });
    }
  });

  it('shows templates known only from a webhook, translated, and clears a stale preview', async () => {
    const name = `aviso_${R}`;
    await sandbox('/_sandbox/webhook', { payload: { object: 'whatsapp_business_account', entry: [{ id: (await apiCall('GET', '/api/accounts')).body.accounts[0].waba_id, changes: [{
      field: 'message_template_status_update',
      value: { event: 'FLAGGED', message_template_id: 990000 + Number(R), message_template_name: name, message_template_language: 'es_AR', reason: 'NONE' } }] }] } });
    await page.setViewportSize({ width: 1366, height: 768 });
    let row;
    for (let i = 0; i < 20; i++) {
      await go('#/templates');
      row = page.getByRole('row', { name: new RegExp(name) });
      if (await row.count()) break;
      await page.waitForTimeout(500);
    }
    await row.getByText('Marcada por Meta (calidad baja)').waitFor();
    assert.ok(!(await row.innerText()).includes('NONE'), 'no NONE reason');
    const cut = await page.evaluate(() => { const w = document.querySelector('.tbl-wrap'); return w.scrollWidth - w.clientWidth; });
    assert.ok(cut <= 1, `the templates table fits at 1366 px (cut ${cut}px)`);
    await row.getByRole('button', { name }).click();
    await page.locator('.tpl-preview .wa-body', { hasText: 'todavía no se sincronizó' }).waitFor();
    await shot('templates-webhook-only');
    // Meta does not list it: the sync marks it missing and the preview goes.
    await page.getByRole('button', { name: 'Sincronizar con Meta' }).click();
    await page.locator('.tpl-preview', { hasText: 'Elegí una plantilla de la lista para verla.' }).waitFor({ timeout: SLOW });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('offers contact attributes as variable sources and says "1 variable"', async () => {
    await go('#/campaigns/new');
    await page.getByText('1 variable', { exact: true }).first().waitFor();
    assert.equal(await page.getByText(/^1 variables$/).count(), 0);
    await page.getByLabel('Nombre de la campaña').fill(`Atributos ${R}`);
    await page.getByLabel(/recordatorio_clase/).check();
    await page.getByRole('button', { name: 'Siguiente' }).click();
    const row = page.locator('fieldset.map-row', { hasText: 'Cuerpo {{2}}' });
    await row.getByLabel('Origen').selectOption('contact');
    const options = await row.locator('select').nth(1).locator('option').allInnerTexts();
    assert.ok(options.includes('atributo «curso»'), `offered: ${options}`);
    await row.locator('select').nth(1).selectOption({ label: 'atributo «curso»' });
    await shot('wizard-2-contact-attribute');
  });

  it('clears a stale error once recipients are in, and refuses junk and header-only files', async () => {
    const id = await draft(`Vacía ${R}`, {}, null);
    await go(`#/campaigns/${id}/edit?step=3`);
    await page.getByRole('heading', { name: 'Destinatarios' }).waitFor();
    const input = page.locator('.dropzone').locator('xpath=..').locator('input[type=file]');
    await input.setInputFiles({ name: 'basura.csv', mimeType: 'text/csv', buffer: Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0x70, 0x68, 0x6f, 0x6e, 0x65, 10, 1, 2]) });
    await page.getByText('«basura.csv» no es un archivo CSV de texto').waitFor();
    assert.ok(await page.getByRole('button', { name: 'Subir y validar' }).isDisabled());
    await input.setInputFiles({ name: 'titulos.csv', mimeType: 'text/csv', buffer: Buffer.from('phone,name,consent\r\n') });
    await page.getByText('«titulos.csv» solo tiene la fila de títulos').waitFor();
    await shot('wizard-3-header-only');
    await page.getByRole('button', { name: 'Siguiente' }).click();
    const err = page.locator('.wiz-step > .form-error');
    await err.waitFor();
    await input.setInputFiles({ name: 'lista.csv', mimeType: 'text/csv', buffer: Buffer.from(LIST) });
    await page.getByRole('button', { name: 'Subir y validar' }).click();
    await page.locator('.report-card').waitFor({ timeout: SLOW });
    await err.waitFor({ state: 'hidden' });
  });

  it('downloads rejected rows with the original row, to fix and upload again', async () => {
    await go('#/contacts');
    const file = ['Telefono,Nombre,consent,ciudad', `0351 15 ${R}-7301,Eli,formulario web,Córdoba`, `0351 15 ${R}-7302,Fabi,no acepta,Río Cuarto`, '12-34,Gus,si,Salta'].join('\r\n') + '\r\n';
    const form = page.locator('form', { has: page.getByRole('heading', { name: 'Importar contactos (CSV)' }) });
    await form.getByLabel('Archivo CSV').setInputFiles({ name: 'contactos.csv', mimeType: 'text/csv', buffer: Buffer.from(file) });
    await form.getByRole('button', { name: 'Importar' }).click();
    const report = page.locator('.report-card');
    await report.waitFor({ timeout: SLOW });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      report.getByRole('button', { name: 'Descargar rechazos (CSV)' }).click(),
    ]);
    const lines = fs.readFileSync(await download.path(), 'utf8').replace(/^\ufeff/, '').trim().split(/\r?\n/);
    assert.equal(lines[0], 'line,reason,reason_text,message,Telefono,Nombre,consent,ciudad');
    assert.ok(lines.some((l) => l.startsWith('3,no_consent,') && l.endsWith(`0351 15 ${R}-7302,Fabi,no acepta,Río Cuarto`)), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('4,') && l.endsWith('12-34,Gus,si,Salta')), lines.join('\n'));
    await shot('contacts-import-rejected');
  });

  it('names copies (copia 2) and shows a new user\'s password once', async () => {
    const id = await draft(`Duplicable ${R}`, {}, null);
    const k1 = (await apiCall('POST', `/api/campaigns/${id}/clone`, {})).body;
    await go(`#/campaigns/${k1.id}`);
    await page.getByRole('button', { name: 'Duplicar' }).click();
    await page.locator('dialog').getByRole('button', { name: 'Duplicar' }).click();
    await page.waitForURL(/edit/);
    await page.getByLabel('Nombre de la campaña').or(page.getByRole('heading', { name: /Variables|Destinatarios/ })).first().waitFor();
    const copyId = Number(page.url().match(/campaigns\/(\d+)\/edit/)[1]);
    assert.equal((await apiCall('GET', `/api/campaigns/${copyId}`)).body.name, `Duplicable ${R} (copia 2)`);
    await go('#/settings?tab=users');
    const email = `nuevo-${Date.now()}@pregon.test`;
    const form = page.locator('form', { hasText: 'Nuevo usuario' });
    await form.getByLabel('Correo', { exact: true }).fill(email);
    const pw = await form.getByLabel('Contraseña inicial').inputValue();
    await form.getByRole('button', { name: 'Crear usuario' }).click();
    const card = page.locator('.new-password');
    await card.getByText(`Contraseña de ${email}`).waitFor();
    assert.equal(await card.locator('.pw-once').innerText(), pw, 'the password that was set');
    await shot('settings-user-password-once');
    await page.reload();
    await page.getByRole('heading', { name: 'Usuarios y roles' }).first().waitFor();
    assert.equal(await page.locator('.new-password').count(), 0, 'shown once');
  });

  it('keeps the phone header compact with Settings in sight', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await go('#/');
    await page.getByRole('heading', { name: 'Cuentas de WhatsApp' }).waitFor();
    const head = await page.locator('header.top').boundingBox();
    assert.ok(head.height <= 110, `header height ${head.height}px`);
    const gear = page.getByRole('navigation').getByRole('link', { name: 'Configuración', exact: true });
    const box = await gear.boundingBox();
    assert.ok(box && box.x + box.width <= 390, `Settings is on screen (${JSON.stringify(box)})`);
    assert.ok(await page.locator('.nav-settings .nav-ico').isVisible(), 'the gear is the visible cue');
    await shot('phone-header', { fullPage: false });
    await gear.click();
    await page.getByRole('heading', { name: 'Configuración' }).first().waitFor();
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
