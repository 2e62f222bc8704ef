// Templates: Meta's message templates as cached here, a sync button, and a preview.
import { h, field } from '../dom.js';
import { get, post, qs, listOf } from '../api.js';
import { t, has } from '../i18n.js';
import { date, num } from '../format.js';
import { bubble } from '../bubble.js';
import { pageHead, statusChip, table, empty, errorBox, loading, toast, busy, meter } from '../ui.js';
import { slotLabel } from './wizard.js';

const STATUSES = ['APPROVED', 'PENDING', 'REJECTED', 'PAUSED', 'DISABLED'];
const CATS = ['MARKETING', 'UTILITY', 'AUTHENTICATION'];

/** Meta's reason, without the "NONE" it sends when there is none. */
function reasonText(r) {
  return String(r || '').replace(/^NONE\b\s*/, '').trim();
}

function hasText(p) {
  return !!(p && (p.body || p.header || p.header_format || (p.buttons || []).length));
}

export async function render(root, params, ctx) {
  const sync = ctx.can('admin') ? h('button', { type: 'button', class: 'btn btn-primary' }, t('tpl.sync')) : null;
  const syncMeter = meter(t('tpl.syncing'));
  const syncOut = h('div', { 'aria-live': 'polite' });
  const st = h('select', {}, h('option', { value: '' }, t('tpl.allStatus')), STATUSES.map((s) => h('option', { value: s }, t('status.' + s))));
  const cat = h('select', {}, h('option', { value: '' }, t('tpl.allCat')), CATS.map((s) => h('option', { value: s }, t('cat.' + s))));
  const lang = h('input', { type: 'text', placeholder: 'es_AR', size: 8 });
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': t('tpl.filters') },
    field(t('tpl.status'), st).wrap, field(t('tpl.category'), cat).wrap, field(t('tpl.language'), lang).wrap,
    h('button', { type: 'submit', class: 'btn' }, t('common.filter')));
  const list = h('div', loading());
  const prev = h('aside', { class: 'card tpl-preview', 'aria-live': 'polite', 'aria-labelledby': 'tp-h' },
    h('h2', { id: 'tp-h' }, t('tpl.preview')), h('p', { class: 'muted' }, t('tpl.pickOne')));
  root.append(pageHead(t('tpl.title'), sync), syncMeter.el, syncOut, filters, h('div', { class: 'split tpl-split' }, list, prev));
  let shown = null; // the template in the preview
  const pickOne = () => prev.replaceChildren(h('h2', { id: 'tp-h' }, t('tpl.preview')), h('p', { class: 'muted' }, t('tpl.pickOne')));

  async function load() {
    try {
      const body = await get('/api/templates' + qs({ status: st.value, category: cat.value, language: lang.value.trim() }));
      const items = listOf(body, 'templates');
      list.replaceChildren(items.length ? table([
        { label: t('tpl.name'), cell: (x) => h('button', { type: 'button', class: 'link', on: { click: () => show(x) } }, x.name) },
        { label: t('tpl.language'), cell: (x) => x.language },
        { label: t('tpl.category'), cell: (x) => has('cat.' + x.category) ? t('cat.' + x.category) : x.category || '' },
        { label: t('tpl.status'), cell: (x) => h('span', statusChip(x.status), x.missing_since ? h('span', { class: 'chip chip-bad' }, t('tpl.missing')) : null,
          reasonText(x.status_reason) ? h('span', { class: 'block small muted' }, reasonText(x.status_reason)) : null) },
        { label: t('tpl.params'), class: 'num', cell: (x) => num((x.params || []).length) },
        { label: t('tpl.usable'), cell: (x) => x.usable ? h('span', { class: 'chip chip-ok' }, t('common.yes')) : h('span', { class: 'chip' }, t('common.no')) },
        { label: t('tpl.synced_at'), class: 'nowrap small', cell: (x) => date(x.synced_at) },
      ], items, { caption: t('tpl.title') }) : empty(t('tpl.none')));
      // A sync that removed the template on show leaves no stale preview behind.
      if (shown && !items.some((x) => x.id === shown.id && !x.missing_since)) { shown = null; pickOne(); }
    } catch (e) { list.replaceChildren(errorBox(e)); }
  }
  async function show(x) {
    shown = x;
    prev.replaceChildren(h('h2', { id: 'tp-h' }, t('tpl.preview'), ': ', x.name), loading());
    const slots = x.params || [];
    try {
      const r = await post(`/api/templates/${x.id}/preview`, { values: slots.map((s) => s.type === 'image' ? 'https://example.com/imagen.jpg' : `{{${s.name || s.label}}}`) });
      prev.replaceChildren(h('h2', { id: 'tp-h' }, t('tpl.preview'), ': ', x.name),
        h('p', { class: 'muted' }, [x.language, has('cat.' + x.category) ? t('cat.' + x.category) : x.category].filter(Boolean).join(' · '), ' · ', statusChip(x.status)),
        // A template known only from Meta's status webhook has no text yet: its bubble says so.
        hasText(r.preview) ? bubble(r.preview) : bubble({ body: t('tpl.noText') }),
        hasText(r.preview) ? null : h('p', { class: 'hint' }, t('tpl.noTextHint')),
        slots.length ? h('div', h('h3', t('tpl.params')), h('ul', slots.map((s) => h('li', slotLabel(s)))))
          : hasText(r.preview) ? h('p', { class: 'muted' }, t('wiz.noParams')) : null);
      prev.querySelector('h2').focus?.();
    } catch (e) { prev.replaceChildren(h('h2', { id: 'tp-h' }, t('tpl.preview')), errorBox(e)); }
  }
  filters.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  if (sync) {
    sync.addEventListener('click', () => busy(sync, async () => {
      syncMeter.indeterminate();
      syncOut.replaceChildren();
      try {
        const r = await post('/api/templates/sync', {});
        const accs = listOf(r, 'accounts');
        syncOut.replaceChildren(h('div', { class: 'alert alert-ok', role: 'status' }, t('tpl.synced'),
          h('ul', accs.map((a) => h('li', a.ok ? t('tpl.syncLine', { acc: a.account_id, fetched: num(a.fetched), inserted: num(a.inserted), updated: num(a.updated), missing: num(a.newly_missing) })
            : `#${a.account_id}: ${(a.error && a.error.message) || t('tpl.syncFailed')}`)))));
        toast(t('tpl.synced'));
        await load();
      } catch (e) { syncOut.replaceChildren(errorBox(e)); }
      finally { syncMeter.hide(); }
    }));
  }
  await load();
}
