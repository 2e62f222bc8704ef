// Replies: what people sent back, newest first, with filters, "handled" marks and an answer
// box that sends a free-form text while the 24-hour window is open (GET /api/replies).
import { h, field } from '../dom.js';
import { get, patch, post, qs, listOf } from '../api.js';
import { t } from '../i18n.js';
import { date } from '../format.js';
import { pageHead, table, empty, errorBox, loading, toast, busy } from '../ui.js';

function what(x) {
  if (x.button) return h('span', h('span', { class: 'chip' }, t('rpl.button')), ' ', x.button.text || x.button.payload || '');
  if (x.media) return h('span', h('span', { class: 'chip' }, t('rpl.media')), ' ', x.type, x.media.caption ? ' · ' + x.media.caption : '', h('span', { class: 'block small muted' }, x.media.id || ''));
  return x.text || h('span', { class: 'muted' }, x.type);
}

export async function render(root, params, ctx) {
  const camp = h('input', { type: 'number', min: 1, size: 6, name: 'campaign_id' });
  const handled = h('select', { name: 'handled' }, h('option', { value: '' }, t('rpl.any')),
    h('option', { value: '0' }, t('rpl.pending')), h('option', { value: '1' }, t('rpl.handled')));
  const win = h('select', { name: 'window' }, h('option', { value: '' }, t('rpl.any')),
    h('option', { value: '1' }, t('rpl.windowOpen')), h('option', { value: '0' }, t('rpl.windowClosed')));
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': t('rpl.filters') },
    field(t('rpl.campaign'), camp).wrap, field(t('rpl.state'), handled).wrap, field(t('rpl.window'), win).wrap,
    h('button', { type: 'submit', class: 'btn' }, t('common.filter')));
  const csv = h('a', { class: 'btn', href: '/api/replies.csv', download: 'replies.csv' }, t('rpl.csv'));
  const list = h('div', loading());
  root.append(pageHead(t('rpl.title'), csv), filters, list);

  function query() {
    return qs({ campaign_id: camp.value.trim(), handled: handled.value, window: win.value, limit: 100 });
  }

  function answerBox(x) {
    if (!ctx.can('admin')) return null;
    if (!x.window_open) return h('p', { class: 'small muted' }, t('rpl.closed'));
    const text = h('textarea', { rows: 2, maxlength: 4096, 'aria-label': t('rpl.answerLabel'), 'data-reply': x.id });
    const send = h('button', { type: 'submit', class: 'btn btn-primary btn-sm' }, t('rpl.send'));
    const out = h('div', { 'aria-live': 'polite' });
    const form = h('form', { class: 'reply-answer' }, text, send, out);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy(send, async () => {
        try {
          await post(`/api/replies/${x.id}/answer`, { text: text.value });
          toast(t('rpl.sent'));
          await load();
        } catch (e) { out.replaceChildren(errorBox(e)); }
      });
    });
    return form;
  }

  function handledButton(x) {
    if (!ctx.can('admin')) return x.handled ? t('rpl.handled') : '';
    const b = h('button', { type: 'button', class: 'btn btn-sm' }, x.handled ? t('rpl.unmark') : t('rpl.mark'));
    b.addEventListener('click', () => busy(b, async () => {
      try { await patch(`/api/replies/${x.id}`, { handled: !x.handled }); await load(); } catch (e) { toast(e.message, 'bad'); }
    }));
    return b;
  }

  async function load() {
    try {
      const items = listOf(await get('/api/replies' + query()), 'replies');
      csv.setAttribute('href', '/api/replies.csv' + qs({ campaign_id: camp.value.trim(), handled: handled.value, window: win.value }));
      list.replaceChildren(items.length ? table([
        { label: t('rpl.at'), class: 'nowrap small', cell: (x) => date(x.sent_at) },
        { label: t('rpl.contact'), cell: (x) => h('span', x.contact.name || '', h('span', { class: 'block small muted' }, x.contact.phone || x.contact.user_id || '')) },
        { label: t('rpl.campaign'), cell: (x) => x.campaign_id ? h('a', { href: `#/campaigns/${x.campaign_id}` }, x.campaign_name || '#' + x.campaign_id) : '' },
        { label: t('rpl.message'), cell: (x) => h('div', what(x), x.answers ? h('span', { class: 'block' }, h('span', { class: 'chip chip-ok' }, t('rpl.answered', { n: x.answers }))) : null, x.in_reply_to ? h('span', { class: 'block small muted' }, t('rpl.inReplyTo', { tpl: x.in_reply_to.template_name || x.in_reply_to.wamid })) : null) },
        { label: t('rpl.window'), cell: (x) => h('span', { class: x.window_open ? 'chip chip-ok' : 'chip' }, x.window_open ? t('rpl.windowOpen') : t('rpl.windowClosed')) },
        { label: t('rpl.state'), cell: (x) => handledButton(x) },
        { label: t('rpl.answer'), cell: (x) => answerBox(x) },
      ], items, { caption: t('rpl.title') }) : empty(t('rpl.none')));
    } catch (e) { list.replaceChildren(errorBox(e)); }
  }
  filters.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  await load();
}
