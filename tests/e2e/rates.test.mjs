// The rate card in Settings (cost, issue 21), in headless Chromium against the stack
// test_ui.py starts: a superadmin adds a rate, a wrong price is shown at the price field with
// the catalogue's words, the rate is listed, then deleted. Screenshots to tests/out/screenshots/.
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
const SHOTS = process.env.PREGON_SCREENSHOTS || path.join(HERE, '..', 'out', 'screenshots');

if (!BASE || !EMAIL || !PASSWORD) {
  throw new Error('set PREGON_BASE, PREGON_ADMIN_EMAIL and PREGON_ADMIN_PASSWORD (test_ui.py does)');
}

let browser, page;

async function rates() {
  return page.evaluate(async () => (await (await fetch('/api/rate-card')).json()).rates);
}

describe('rate card', { timeout: 3 * 60 * 1000 }, () => {
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

  it('adds a rate, shows a wrong price at its field, and deletes the rate', async () => {
    await page.goto(`${BASE}/#/login`);
    await page.getByLabel(/Correo electrónico|E-mail/).fill(EMAIL);
    await page.getByLabel(/^(Contraseña|Password)$/).fill(PASSWORD);
    await page.getByRole('button', { name: /^(Ingresar|Sign in)$/ }).click();
    await page.locator('#user-menu').waitFor({ state: 'visible' });
    await page.goto(`${BASE}/#/settings?tab=rates`);
    await page.getByRole('heading', { name: 'Tarifa nueva' }).waitFor();
    const before = (await rates()).length;
    await page.getByLabel('País').fill('uy');
    await page.getByLabel('Categoría').selectOption('utility');
    await page.getByLabel('Precio por mensaje').fill('0,05');
    await page.getByLabel('Desde').fill('2026-01-01');
    await page.getByRole('button', { name: 'Agregar tarifa' }).click();
    // the API's words for the field, next to it
    await page.locator('[data-field="price"] .field-error', { hasText: 'El precio es un número decimal' }).waitFor();
    assert.equal((await rates()).length, before, 'nothing stored');
    await page.getByLabel('Precio por mensaje').fill('0.05');
    await page.getByRole('button', { name: 'Agregar tarifa' }).click();
    await page.getByText('Tarifa agregada.').waitFor();
    const row = page.locator('tbody tr', { hasText: 'UY' });
    await row.getByText('0.050000 USD').waitFor();
    const stored = (await rates()).filter((r) => r.country === 'UY');
    assert.equal(stored.length, 1, 'stored once');
    assert.deepEqual([stored[0].category, stored[0].price, stored[0].effective_from, stored[0].effective_to],
      ['utility', '0.050000', '2026-01-01', null]);
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(SHOTS, 'settings-rate-card.png'), fullPage: true });
    await row.getByRole('button', { name: 'Borrar la tarifa UY utility desde 2026-01-01' }).click();
    await page.getByText('Tarifa borrada.').waitFor();
    await row.waitFor({ state: 'detached' });
    assert.equal((await rates()).filter((r) => r.country === 'UY').length, 0, 'deleted');
  });
});
