// The campaigns list: newest first, status chips, progress bars, search and filters.
import { h, field } from '../dom.js';
import { get, qs, listOf } from '../api.js';
import { t } from '../i18n.js';
import { num, date } from '../format.js';
import { pageHead, statusChip, campaignChip, progressBar, table, empty, errorBox, loading } from '../ui.js';

const STATES = ['draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed'];

export async function render(root, params, ctx) {
  const q = h('input', { type: 'search', value: params.q || '', placeholder: t('campaigns.searchPh') });
  const st = h('select', {}, h('option', { value: '' }, t('campaigns.allStates')),
    STATES.map((s) => h('option', { value: s, selected: params.status === s }, t('status.' + s))));
  const tpl = h('input', { type: 'text', value: params.template || '', placeholder: t('campaigns.templatePh') });
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': t('campaigns.filters') },
    field(t('campaigns.search'), q).wrap, field(t('campaigns.status'), st).wrap,
    field(t('campaigns.template'), tpl).wrap,
    h('button', { type: 'submit', class: 'btn' }, t('common.filter')));
  const list = h('div', { 'aria-live': 'polite' }, loading());
  const more = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true }, t('common.more'));
  const newBtn = ctx.can('admin') ? h('a', { href: '#/campaigns/new', class: 'btn btn-primary' }, t('campaigns.new')) : null;
  root.append(pageHead(t('campaigns.title'), newBtn),
    !ctx.can('admin') ? h('p', { class: 'alert alert-info' }, t('campaigns.viewerNote')) : null,
    filters, list, h('p', { class: 'center' }, more));

  let rows = [], cursor = null, stopped = false, timer = null;
  const current = () => ({ q: q.value.trim(), status: st.value, template: tpl.value.trim() });

  function draw() {
    if (!rows.length) { list.replaceChildren(empty(t('campaigns.none'))); return; }
    list.replaceChildren(table([
      { label: '#', class: 'num', cell: (c) => String(c.id) },
      { label: t('campaigns.name'), cell: (c) => h('div', h('a', { href: `#/campaigns/${c.id}`, class: 'camp-name' }, c.name || `#${c.id}`),
        c.sandbox ? h('span', { class: 'badge-sandbox badge-sm' }, t('sandbox.badge')) : null,
        h('div', { class: 'muted small' }, `${(c.template && c.template.name) || ''} (${(c.template && c.template.language) || ''})`)) },
      { label: t('campaigns.status'), cell: (c) => campaignChip(c) },
      { label: t('campaigns.progress'), class: 'w-progress', cell: (c) => h('div', progressBar(c.counters || {}, { figures: c.figures }),
        h('div', { class: 'small muted' }, t('campaigns.progressLine', {
          sent: num(c.counters && c.counters.sent), delivered: num(c.counters && c.counters.delivered),
          read: num(c.counters && c.counters.read), failed: num(c.counters && (c.counters.failed + (c.counters.blocked || 0))),
          total: num(c.counters && c.counters.total) }))) },
      { label: t('campaigns.created'), cell: (c) => h('div', date(c.created_at), h('div', { class: 'small muted' }, c.created_by || '')) },
    ], rows, { caption: t('campaigns.title'), class: 'campaigns-table' }));
  }

  async function load(append) {
    const f = current();
    try {
      const body = await get('/api/campaigns' + qs({ ...f, limit: 25, before: append && cursor ? cursor : '' }));
      const items = listOf(body, 'campaigns');
      rows = append ? rows.concat(items) : items;
      cursor = body && body.next_before != null ? body.next_before : null;
      more.hidden = cursor == null;
      draw();
    } catch (e) {
      list.replaceChildren(errorBox(e));
    }
  }
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    history.replaceState(null, '', '#/campaigns' + qs(current()));
    load(false);
  });
  st.addEventListener('change', () => filters.requestSubmit());
  more.addEventListener('click', () => load(true));
  await load(false);
  // Keep the first page fresh while something is running.
  const tick = async () => {
    if (stopped) return;
    if (cursor == null || rows.length <= 25) {
      if (rows.some((c) => c.status === 'running' || c.status === 'scheduled')) await load(false);
    }
    timer = setTimeout(tick, 5000);
  };
  timer = setTimeout(tick, 5000);
  return () => { stopped = true; clearTimeout(timer); };
}
