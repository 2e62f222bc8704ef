// A/B variants with a holdout (issue 21), in Debian's headless Chromium against the stack
// test_ui.py starts: a draft with recipients gets two variants (two templates, their mappings,
// shares 45/35) and a 20 % holdout in the wizard's pace step; the preflight shows the split;
// once the worker sent it through the sandbox, the campaign page shows each variant's figures
// with their 95 % intervals and the holdout's baseline. Screenshot: docs/screenshots/
// campaign-ab-variants.png.
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
const DOCS = path.join(HERE, '..', '..', 'docs', 'screenshots');
const R = String(100 + Math.floor(Math.random() * 900));
const N = 40;
if (!BASE || !EMAIL || !PASSWORD) throw new Error('set PREGON_BASE, PREGON_ADMIN_EMAIL and PREGON_ADMIN_PASSWORD (test_ui.py does)');

let browser, page;

async function apiCall(method, p, body, type) {
  return page.evaluate(async ([m, url, b, ct]) => {
    const sess = await (await fetch('/api/me')).json();
    const r = await fetch(url, { method: m, headers: { 'Content-Type': ct || 'application/json', 'X-CSRF-Token': sess.csrf_token || '' },
      body: b == null ? undefined : (ct ? b : JSON.stringify(b)) });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  }, [method, p, body, type]);
}

describe('A/B variants', { timeout: 5 * 60 * 1000 }, () => {
  before(async () => {
    fs.mkdirSync(DOCS, { recursive: true });
    browser = await launch();
    page = browser.context.pages()[0] || await browser.context.newPage();
    await page.goto(BASE + '/');
    await page.evaluate(() => localStorage.setItem('pregon.lang', 'es'));
    await page.goto(BASE + '/');
    await page.getByLabel('Correo electrónico').fill(EMAIL);
    await page.getByLabel('Contraseña').fill(PASSWORD);
    await page.getByRole('button', { name: 'Ingresar' }).click();
    await page.locator('#user-menu').waitFor({ state: 'visible' });
    assert.equal((await apiCall('POST', '/api/templates/sync', { account_id: 1 })).status, 200);
  });
  after(async () => {
    if (browser) {
      const problems = browser.problems.filter((p) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(p));
      await browser.close();
      assert.deepEqual(problems, [], 'the browser console reported errors');
    }
  });

  it('sets two variants and a holdout in the wizard, and shows the results by variant', async () => {
    const c = await apiCall('POST', '/api/campaigns', { name: `Prueba A/B ${R}`, template_name: 'recordatorio_clase',
      template_language: 'es_AR', account_id: 1, params: { body: [{ column: 'name' }, 'Robótica', { column: 'day', fallback: 'lunes' }] } });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    const id = c.body.id;
    const csv = 'phone,name,consent,monto\n' + Array.from({ length: N }, (_, i) => `+549351${R}7${String(i).padStart(3, '0')},N${i},si,$ ${1000 + i}`).join('\n') + '\n';
    assert.equal((await apiCall('POST', `/api/campaigns/${id}/recipients`, csv, 'text/csv')).status, 200);

    await page.goto(`${BASE}/#/campaigns/${id}/edit?step=4`);
    const ab = page.locator('fieldset.ab-editor');
    await ab.waitFor();
    await ab.getByLabel('Enviar variantes (prueba A/B con grupo de control)').check();
    const v1 = ab.locator('fieldset.ab-variant').nth(0);
    const v2 = ab.locator('fieldset.ab-variant').nth(1);
    await v1.getByLabel('Plantilla', { exact: true }).selectOption({ label: 'recordatorio_clase (es_AR)' });
    await v2.getByLabel('Plantilla', { exact: true }).selectOption({ label: 'aviso_pago (es_AR)' });
    // recordatorio_clase: {{1}} the name column, {{2}} and {{3}} fixed; aviso_pago: {{1}} monto
    const v1values = v1.getByLabel('Valor', { exact: true });
    await v1values.nth(0).fill('name');
    await v1.getByLabel('body {{2}}', { exact: true }).selectOption('fixed');
    await v1values.nth(1).fill('Robótica');
    await v1.getByLabel('body {{3}}', { exact: true }).selectOption('fixed');
    await v1values.nth(2).fill('lunes');
    await v2.getByLabel('Valor', { exact: true }).fill('monto');
    await ab.getByLabel('Grupo de control (%)').fill('20');
    await v1.getByLabel('Porcentaje', { exact: true }).fill('45');
    await v2.getByLabel('Porcentaje', { exact: true }).fill('35');
    await ab.getByText('Suman 100 %').waitFor();
    await page.getByRole('button', { name: 'Siguiente' }).click();
    await page.getByText('Reparto A/B esperado:').waitFor();
    const saved = (await apiCall('GET', `/api/campaigns/${id}`)).body;
    assert.deepEqual(saved.variants.map((v) => [v.template_name, v.share]), [['recordatorio_clase', 45], ['aviso_pago', 35]]);
    assert.equal(saved.holdout_pct, 20);

    const s = await apiCall('POST', `/api/campaigns/${id}/start`, { acknowledge_risk: true });
    assert.equal(s.status, 200, JSON.stringify(s.body));
    for (let i = 0; i < 240; i++) {
      const g = (await apiCall('GET', `/api/campaigns/${id}`)).body;
      if (g.status === 'completed' && g.counters.read + g.counters.holdout === N) break;
      await page.waitForTimeout(500);
    }
    // a few people answer (signed inbound webhooks the sandbox posts): three of variant 1, one
    // of variant 2 with a button, and one of the holdout, who got nothing
    const acct = (await apiCall('GET', '/api/accounts/1')).body;
    const rs = (await apiCall('GET', `/api/campaigns/${id}/recipients?limit=100`)).body.recipients;
    const of = (v) => rs.filter((x) => x.variant === v);
    const answer = [...of(1).slice(0, 3).map((x) => [x, 'text']), ...of(2).slice(0, 1).map((x) => [x, 'button']), ...of(0).slice(0, 1).map((x) => [x, 'text'])];
    for (const [x, kind] of answer) {
      const from = x.phone.replace('+', '');
      const m = { from, id: `wamid.AB${R}${from}`, timestamp: String(Math.floor(Date.now() / 1000)), type: kind };
      if (kind === 'text') m.text = { body: 'gracias' }; else m.button = { payload: 'OK', text: 'OK' };
      if (x.wamid) m.context = { from: acct.display_phone, id: x.wamid };
      const payload = { object: 'whatsapp_business_account', entry: [{ id: acct.waba_id, changes: [{ field: 'messages', value: {
        messaging_product: 'whatsapp', metadata: { display_phone_number: acct.display_phone, phone_number_id: acct.phone_number_id },
        contacts: [{ profile: { name: 'Ana' }, wa_id: from }], messages: [m] } }] }] };
      const r = await fetch(process.env.PREGON_SANDBOX + '/_sandbox/webhook', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ payload }) });
      assert.equal((await r.json()).status, 200);
    }
    for (let i = 0; i < 60; i++) {
      const v = (await apiCall('GET', `/api/campaigns/${id}/variants`)).body;
      if (v.variants[0].replied.count + v.variants[1].replied.count >= Math.min(3, of(1).length) + Math.min(1, of(2).length)) break;
      await page.waitForTimeout(250);
    }
    await page.goto(`${BASE}/#/campaigns/${id}`);
    const card = page.locator('section.ab-stats');
    await card.getByRole('heading', { name: 'Resultados por variante' }).waitFor();
    await card.locator('svg.ab-chart').waitFor();
    await card.getByText(/Grupo de control \(20 %\)/).waitFor();
    const r = (await apiCall('GET', `/api/campaigns/${id}/variants`)).body;
    assert.equal(r.variants.length, 2);
    assert.equal(r.variants[0].sent + r.variants[1].sent + r.holdout.recipients, N);
    await card.scrollIntoViewIfNeeded();
    await page.evaluate(() => document.getElementById('toasts')?.replaceChildren());
    await card.screenshot({ path: path.join(DOCS, 'campaign-ab-variants.png') });
  });
});
