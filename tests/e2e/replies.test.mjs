// The Replies screen (issue 20), in headless Chromium against the stack test_ui.py starts:
// a person writes in (a signed inbound webhook the sandbox posts to our /webhook), the reply
// shows on the Replies screen newest first with its window open, the operator answers it from
// the answer box, and the text reaches the sandbox as a free-form message quoting the reply;
// a reply whose 24-hour window closed offers no answer box. Then an API key made on the API keys
// screen reads the replies as a CRM would, until it is revoked there. Screenshots to
// tests/out/screenshots/.
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
const SHOTS = process.env.PREGON_SCREENSHOTS || path.join(HERE, '..', 'out', 'screenshots');

if (!BASE || !EMAIL || !PASSWORD || !SANDBOX) {
  throw new Error('set PREGON_BASE, PREGON_SANDBOX, PREGON_ADMIN_EMAIL and PREGON_ADMIN_PASSWORD (test_ui.py does)');
}

// Numbers of this run only (Mendoza mobiles, +54 9 261 ...).
const R = String(100 + Math.floor(Math.random() * 900));
const PHONE = `549261${R}2001`;
const OLD_PHONE = `549261${R}2002`;
const TEXT = `¿Hay lugar el sábado? ${R}`;
const ANSWER = `Sí, quedan lugares. ${R}`;

let browser, page;

async function shot(name) {
  await page.waitForTimeout(300);
  await page.evaluate(() => { document.getElementById('toasts')?.replaceChildren(); window.scrollTo(0, 0); });
  await page.screenshot({ path: path.join(SHOTS, `replies-${name}.png`), fullPage: true });
}

async function apiCall(method, p, body) {
  return page.evaluate(async ([m, url, b]) => {
    const sess = await (await fetch('/api/me')).json();
    const r = await fetch(url, { method: m, headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': sess.csrf_token || '' },
      body: b ? JSON.stringify(b) : undefined });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  }, [method, p, body]);
}

/** An inbound text message from `from`, signed and posted by the sandbox to our webhook. */
async function inbound(acct, from, text, ts) {
  const payload = { object: 'whatsapp_business_account', entry: [{ id: acct.waba_id, changes: [{ field: 'messages', value: {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: acct.display_phone, phone_number_id: acct.phone_number_id },
    contacts: [{ profile: { name: 'Lucía' }, wa_id: from }],
    messages: [{ from, id: `wamid.UI${R}${from}${ts}`, timestamp: String(ts), type: 'text', text: { body: text } }] } }] }] };
  const r = await fetch(SANDBOX + '/_sandbox/webhook', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ payload }) });
  const out = await r.json();
  assert.equal(out.status, 200, 'our webhook accepted it: ' + JSON.stringify(out));
}

describe('replies', { timeout: 5 * 60 * 1000 }, () => {
  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    browser = await launch();
    page = browser.context.pages()[0] || await browser.context.newPage();
  });
  after(async () => {
    if (browser) {
      const problems = browser.problems.filter((p) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(p));
      await browser.close();
      assert.deepEqual(problems, [], 'the browser console reported errors');
    }
  });

  it('answers a reply from the Replies screen while its window is open', async () => {
    await page.goto(`${BASE}/#/login`);
    await page.getByLabel(/Correo electrónico|E-mail/).fill(EMAIL);
    await page.getByLabel(/^(Contraseña|Password)$/).fill(PASSWORD);
    await page.getByRole('button', { name: /^(Ingresar|Sign in)$/ }).click();
    await page.locator('#user-menu').waitFor({ state: 'visible' });
    const acct = (await apiCall('GET', '/api/accounts/1')).body; // the stack's sandbox account
    const now = Math.floor(Date.now() / 1000);
    await inbound(acct, OLD_PHONE, `Mensaje viejo ${R}`, now - 26 * 3600);
    await inbound(acct, PHONE, TEXT, now);

    await page.getByRole('navigation').getByRole('link', { name: 'Respuestas', exact: true }).click();
    await page.getByRole('heading', { name: 'Respuestas' }).waitFor();
    // newest first: the fresh message is in the first row, its window open
    const first = page.locator('tbody tr').first();
    for (let i = 0; i < 30 && !(await first.innerText()).includes(TEXT); i++) {
      await page.waitForTimeout(500); // the webhook applier runs off the request path
      await page.getByRole('button', { name: 'Filtrar' }).click();
    }
    await first.getByText(TEXT).waitFor();
    await first.getByText('Ventana abierta').waitFor();
    // the old one has no answer box, and says why
    const old = page.locator('tbody tr', { hasText: `Mensaje viejo ${R}` });
    await old.getByText('Ventana cerrada').waitFor();
    assert.equal(await old.locator('textarea').count(), 0, 'no answer box once the window closed');
    await old.getByText(/solo se puede enviar una plantilla/).waitFor();
    await shot('list');

    await first.getByLabel('Respuesta').fill(ANSWER);
    await first.getByRole('button', { name: 'Responder' }).click();
    await page.getByText('Respuesta enviada').waitFor();
    // answered: handled now (the row offers to unmark it)
    const row = page.locator('tbody tr', { hasText: TEXT });
    await row.getByRole('button', { name: 'Marcar sin atender' }).waitFor();
    await shot('answered');

    // what reached the sandbox: a text message quoting the reply
    const sent = await (await fetch(`${SANDBOX}/_sandbox/messages?to=${PHONE}`)).json();
    const texts = sent.messages.filter((m) => m.type === 'text');
    assert.equal(texts.length, 1, 'one text message sent: ' + JSON.stringify(sent.messages));
    assert.equal(texts[0].request.text.body, ANSWER);
    const list = await apiCall('GET', '/api/replies?limit=5');
    const mine = list.body.replies.find((x) => x.text === TEXT);
    assert.equal(mine.answers, 1, 'the answer is recorded');
    assert.equal(texts[0].request.context.message_id, mine.wamid, 'it quotes the reply');
  });

  it('creates an API key shown once, which a CRM uses to read the replies until it is revoked', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Claves API', exact: true }).click();
    await page.getByRole('heading', { name: 'Claves API', exact: true }).waitFor();
    await page.getByLabel('Nombre', { exact: true }).fill(`CRM ${R}`);
    await page.getByRole('button', { name: 'Crear la clave' }).click();
    await page.getByText('Copiala ahora').waitFor();
    const key = await page.getByLabel('La clave nueva').inputValue();
    assert.match(key, /^pgn_[A-Za-z0-9_-]{43}$/);
    await shot('key-created');
    const use = () => fetch(`${BASE}/api/replies?limit=1`, { headers: { Authorization: 'Bearer ' + key } });
    const ok = await use();
    assert.equal(ok.status, 200, 'the key reads the replies');
    assert.equal((await ok.json()).replies[0].text, TEXT, 'the newest reply');
    // shown once: a reload lists its prefix only
    await page.reload();
    const row = page.locator('tbody tr', { hasText: `CRM ${R}` });
    await row.getByText(key.slice(0, 12)).waitFor();
    assert.ok(!(await page.content()).includes(key), 'the key is not shown again');
    await row.getByRole('button', { name: 'Revocar' }).click();
    await page.locator('dialog').getByRole('button', { name: 'Revocar' }).click();
    await page.getByText('Clave revocada').waitFor();
    await row.waitFor({ state: 'detached' });
    assert.equal((await use()).status, 401, 'revoked: refused');
  });
});
