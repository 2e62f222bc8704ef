// Issue 19, "Trust in the figures" and "Language", in Debian's headless Chromium against the
// stack test_ui.py starts: a campaign waiting for its send window (chip, banner, English and
// Spanish), a cancelled one with nothing sent (0 %, not "100 % answered"), and a server error
// in the panel's language. Screenshots of the changed screens go to docs/screenshots/.
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
if (!BASE || !EMAIL || !PASSWORD) throw new Error('set PREGON_BASE, PREGON_ADMIN_EMAIL and PREGON_ADMIN_PASSWORD (test_ui.py does)');

let browser, page;

async function shot(name) {
  await page.waitForTimeout(300);
  await page.evaluate(() => { document.getElementById('toasts')?.replaceChildren(); window.scrollTo(0, 0); });
  await page.screenshot({ path: path.join(DOCS, name + '.png'), fullPage: false });
}

async function go(hash) {
  await page.goto(`${BASE}/${hash}`);
  await page.locator('#page-title').first().waitFor();
}

async function apiCall(method, p, body, type) {
  return page.evaluate(async ([m, url, b, ct]) => {
    const sess = await (await fetch('/api/me')).json();
    const r = await fetch(url, { method: m, headers: { 'Content-Type': ct || 'application/json', 'X-CSRF-Token': sess.csrf_token || '' },
      body: b == null ? undefined : (ct ? b : JSON.stringify(b)) });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  }, [method, p, body, type]);
}

/** The panel's language, as its switch keeps it; the page is loaded again to take it. */
async function setLang(l) {
  await page.evaluate((x) => localStorage.setItem('pregon.lang', x), l);
  await page.reload();
  await page.locator('#page-title').first().waitFor();
}

async function newCampaign(name, n) {
  const c = await apiCall('POST', '/api/campaigns', { name, template_name: 'recordatorio_clase', template_language: 'es_AR', account_id: 1,
    params: { body: [{ column: 'name' }, 'Robótica', { column: 'day', fallback: 'lunes' }] } });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const csv = 'phone,name,consent\n' + Array.from({ length: n }, (_, i) => `+549351${R}9${n}${i}0,N${i},si`).join('\n') + '\n';
  const u = await apiCall('POST', `/api/campaigns/${c.body.id}/recipients`, csv, 'text/csv');
  assert.equal(u.status, 200, JSON.stringify(u.body));
  return c.body;
}

describe('figures and language', { timeout: 5 * 60 * 1000 }, () => {
  before(async () => {
    fs.mkdirSync(DOCS, { recursive: true });
    browser = await launch();
    page = browser.context.pages()[0] || await browser.context.newPage();
    await page.goto(BASE + '/');
    await setLang('es');
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

  it('shows a campaign waiting for its send window, in Spanish and English', async () => {
    const c = await newCampaign(`Ventana ${R}`, 3);
    const tz = (c.send_window && c.send_window.timezone) || (await apiCall('GET', '/api/accounts')).body.accounts?.[0]?.timezone || 'UTC';
    const hour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
    const start = (hour + 2) % 24, end = (hour + 3) % 24;
    const p = await apiCall('PATCH', `/api/campaigns/${c.id}`, { send_window: { start, end } });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    const hh = String(start).padStart(2, '0') + ':00';
    const pf = await apiCall('POST', `/api/campaigns/${c.id}/preflight`, {});
    assert.ok(pf.body.warnings.some((w) => w.code === 'window_closed' && w.message.includes(hh)), JSON.stringify(pf.body.warnings));
    const st = await apiCall('POST', `/api/campaigns/${c.id}/start`, { acknowledge_risk: true });
    assert.equal(st.status, 200, JSON.stringify(st.body));
    try {
      await go(`#/campaigns/${c.id}`);
      await page.locator('h1 .chip', { hasText: 'Esperando la ventana' }).waitFor();
      await page.locator('.wait-reason', { hasText: `Esperando la ventana de envío hasta las ${hh}` }).waitFor();
      await shot('campaign-waiting-window');
      await setLang('en');
      await page.locator('h1 .chip', { hasText: 'Waiting for window' }).waitFor();
      await page.locator('.wait-reason', { hasText: `Waiting for the send window until ${hh}` }).waitFor();
      await shot('campaign-waiting-window-en');
      await setLang('es');
    } finally {
      // cancelled with nothing sent (and out of the way of the other scenario's "idle")
      assert.equal((await apiCall('POST', `/api/campaigns/${c.id}/cancel`, {})).status, 200);
    }
    await go(`#/campaigns/${c.id}`);
    await page.locator('h1 .chip', { hasText: 'Cancelada' }).waitFor();
    const head = await page.locator('.big-progress .row').innerText();
    assert.match(head, /^0\s*%/, head);
    assert.match(head, /0 de 3 con respuesta/, head);
    await shot('campaign-cancelled-nothing-sent');
  });

  it('shows server errors in the panel language', async () => {
    const ask = (lang) => page.evaluate(async (l) => {
      const r = await fetch('/api/campaigns?limit=0', { headers: { 'Accept-Language': l } });
      return (await r.json()).error.message;
    }, lang);
    assert.equal(await ask('es'), 'limit debe ser un número entero entre 1 y 200.');
    assert.equal(await ask('en'), 'limit must be an integer from 1 to 200');
    // The panel's own requests carry its language: a retry refused in each language.
    const c = await newCampaign(`Sin reintento ${R}`, 2);
    // A draft cannot be paused: refused with the state's words, in each language.
    for (const [lang, re] of [['es', /La campaña está «Borrador»: no se puede pausar/], ['en', /The campaign is “Draft”: it cannot be paused/]]) {
      await setLang(lang);
      const msg = await page.evaluate(async (id) => {
        const { post } = await import('/js/api.js');
        try { await post(`/api/campaigns/${id}/pause`, {}); return 'no error'; } catch (e) { return e.message; }
      }, c.id);
      assert.match(msg, re, msg);
    }
    await setLang('es');
  });
});
