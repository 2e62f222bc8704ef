// Shared pieces of the panel: chips, progress bars, toasts, dialogs, busy buttons, tables.
import { h, clear } from './dom.js';
import { t, has } from './i18n.js';
import { num, pct } from './format.js';

export function statusChip(status) {
  return h('span', { class: ['chip', 'st-' + String(status || 'unknown')] },
    has('status.' + status) ? t('status.' + status) : String(status || '—'));
}

export function qualityChip(q) {
  const v = String(q || 'UNKNOWN').toUpperCase();
  return h('span', { class: ['chip', 'q-' + v.toLowerCase()] },
    has('quality.' + v) ? t('quality.' + v) : v);
}

/** A campaign's status chip: a running campaign that waits for its send window says so. */
export function campaignChip(c) {
  return statusChip(c && c.status === 'running' && c.waiting && c.waiting.code === 'send_window' ? 'waiting_window' : c && c.status);
}

/**
 * Stacked bar: read, delivered, sent, failed over the total. With opts.figures (the campaign's
 * `figures` from the server: counts and percentages by one rule, sent and failed never
 * overlapping) the bar, its legend and the funnel show the same numbers.
 */
export function progressBar(c, opts = {}) {
  const f = opts.figures;
  const cnt = (k) => (f && f[k] ? Number(f[k].count) || 0 : Number(c[k]) || 0);
  const total = f ? Number(f.total) || 0 : Number(c.total) || 0;
  const read = cnt('read');
  const delivered = Math.max(0, cnt('delivered') - read);
  const sent = Math.max(0, cnt('sent') - cnt('delivered'));
  const failed = f && f.failed_or_blocked ? Number(f.failed_or_blocked.count) || 0 : cnt('failed') + cnt('blocked');
  const share = (k, v) => (f && f[k] ? f[k].percent : pct(v, total));
  const parts = [['read', read], ['delivered', delivered], ['sent', sent], ['failed', failed]];
  const label = t('progress.aria', {
    sent: num(cnt('sent')), delivered: num(cnt('delivered')), read: num(read), failed: num(failed),
    total: num(total),
  });
  const bar = h('div', { class: ['pbar', opts.large && 'pbar-lg'], role: 'img', 'aria-label': label, title: label });
  for (const [k, v] of parts) {
    if (!v || !total) continue;
    const seg = h('span', { class: 'seg seg-' + k });
    seg.style.width = Math.min(100, (100 * v) / total) + '%';
    bar.append(seg);
  }
  if (!opts.legend) return bar;
  const legend = h('ul', { class: 'legend' },
    h('li', h('span', { class: 'sw seg-sent' }), t('count.sent'), ' ', h('strong', num(cnt('sent'))), ` (${share('sent', cnt('sent'))}%)`),
    h('li', h('span', { class: 'sw seg-delivered' }), t('count.delivered'), ' ', h('strong', num(cnt('delivered'))), ` (${share('delivered', cnt('delivered'))}%)`),
    h('li', h('span', { class: 'sw seg-read' }), t('count.read'), ' ', h('strong', num(read)), ` (${share('read', read)}%)`),
    h('li', h('span', { class: 'sw seg-failed' }), t('count.failed'), ' ', h('strong', num(failed)), ` (${share('failed_or_blocked', failed)}%)`),
    h('li', t('count.total'), ' ', h('strong', num(total))));
  return h('div', { class: 'pwrap' }, bar, legend);
}

/** A simple determinate progress bar for long actions (uploads). */
export function meter(labelText) {
  const p = h('progress', { max: 100, value: 0, 'aria-label': labelText });
  const txt = h('span', { class: 'meter-text', 'aria-hidden': 'true' }, '0%');
  const wrap = h('div', { class: 'meter', hidden: true }, p, txt);
  return {
    el: wrap,
    set(f) { wrap.hidden = false; const v = Math.round(f * 100); p.value = v; txt.textContent = v + '%'; },
    indeterminate() { wrap.hidden = false; p.removeAttribute('value'); txt.textContent = ''; },
    hide() { wrap.hidden = true; },
  };
}

let toastRoot;
export function toast(message, kind = 'ok') {
  toastRoot = toastRoot || document.getElementById('toasts');
  const el = h('div', { class: ['toast', 'toast-' + kind] }, message);
  toastRoot.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 9000 : 5000);
}

/** Runs fn while the button shows it is busy; the button is disabled meanwhile. */
export async function busy(button, fn) {
  const old = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.classList.add('is-busy');
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.classList.remove('is-busy');
    button.textContent = old;
  }
}

/** A modal dialog; resolves with the value of the button pressed (or null). */
export function dialog(title, body, buttons) {
  return new Promise((resolve) => {
    const d = h('dialog', { class: 'dlg', 'aria-labelledby': 'dlg-title' });
    const foot = h('div', { class: 'dlg-actions' });
    for (const b of buttons) {
      foot.append(h('button', {
        type: 'button', class: b.class || 'btn', value: b.value,
        on: { click: () => { d.close(b.value); } },
      }, b.label));
    }
    d.append(h('h2', { id: 'dlg-title' }, title), h('div', { class: 'dlg-body' }, body), foot);
    d.addEventListener('close', () => { resolve(d.returnValue || null); d.remove(); });
    document.body.append(d);
    d.showModal();
  });
}

export async function confirmDialog(title, text, okLabel, danger) {
  const v = await dialog(title, h('p', text), [
    { label: t('common.cancel'), value: 'cancel', class: 'btn btn-ghost' },
    { label: okLabel, value: 'ok', class: danger ? 'btn btn-danger' : 'btn btn-primary' },
  ]);
  return v === 'ok';
}

/** A table: columns [{label, cell(row) -> Node|string, class}] */
export function table(columns, rows, opts = {}) {
  const thead = h('thead', h('tr', columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label))));
  const tbody = h('tbody');
  for (const r of rows) {
    const tr = h('tr', opts.rowAttrs ? opts.rowAttrs(r) : null);
    for (const c of columns) tr.append(h('td', { class: c.class, 'data-label': c.label }, c.cell(r)));
    tbody.append(tr);
  }
  const tbl = h('table', { class: ['tbl', opts.class] }, opts.caption ? h('caption', { class: 'sr-only' }, opts.caption) : null, thead, tbody);
  return h('div', { class: 'tbl-wrap' }, tbl);
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}

export function errorBox(err) {
  const msg = err && err.code === 'network' ? t('err.network') : (err && err.message) || String(err);
  return h('div', { class: 'alert alert-error', role: 'alert' }, msg);
}

export function pageHead(title, ...actions) {
  return h('div', { class: 'page-head' },
    h('h1', { id: 'page-title', tabindex: '-1' }, title),
    h('div', { class: 'page-actions' }, actions));
}

export function loading() {
  return h('p', { class: 'loading', role: 'status' }, t('common.loading'));
}

export function section(title, ...content) {
  return h('section', { class: 'card' }, h('h2', title), content);
}

export function setContent(el, ...nodes) {
  clear(el).append(...nodes.flat().filter(Boolean));
}
