// Segments: saved definitions of which contacts make an audience (docs/api.md, Segments),
// with a live count while one is written. Campaigns add one from the wizard's audience step.
import { h, field, showFieldError, clearErrors } from '../dom.js';
import { get, post, del, listOf } from '../api.js';
import { t } from '../i18n.js';
import { date, num, localToIso } from '../format.js';
import { pageHead, table, empty, errorBox, loading, toast, busy, confirmDialog } from '../ui.js';

const OPS = ['equals', 'contains', 'empty'];

const tagList = (v) => v.split(',').map((x) => x.trim()).filter(Boolean);

/** A definition in words, for the list. */
function summary(d) {
  const parts = [];
  if (d.include_tags && d.include_tags.length) parts.push(t(d.match === 'all' ? 'seg.sumAll' : 'seg.sumAny', { tags: d.include_tags.join(', ') }));
  if (d.exclude_tags && d.exclude_tags.length) parts.push(t('seg.sumExclude', { tags: d.exclude_tags.join(', ') }));
  for (const a of d.attributes || []) parts.push(t('seg.sumAttr.' + a.op, { key: a.key, value: a.value ?? '' }));
  if (d.consent_since) parts.push(t('seg.sumConsent', { date: date(d.consent_since) }));
  if (d.not_in_campaigns && d.not_in_campaigns.length) parts.push(t('seg.sumNotIn', { ids: d.not_in_campaigns.map((x) => '#' + x).join(', ') }));
  return parts.length ? parts.join(' · ') : t('seg.sumEveryone');
}

export async function render(root, params, ctx) {
  const list = h('div', loading());
  root.append(pageHead(t('seg.title')), h('p', { class: 'hint' }, t('seg.help')), list);
  if (ctx.can('admin')) root.append(editor(load));

  async function load() {
    try {
      const segs = listOf(await get('/api/segments'), 'segments');
      const counts = new Map(await Promise.all(segs.map((x) => get(`/api/segments/${x.id}`).then((g) => [x.id, g.count]).catch(() => [x.id, null]))));
      list.replaceChildren(segs.length ? table([
        { label: t('seg.name'), cell: (x) => h('strong', x.name) },
        { label: t('seg.rules'), cell: (x) => summary(x.definition || {}) },
        { label: t('seg.contacts'), class: 'num', cell: (x) => { const c = counts.get(x.id); return c ? t('seg.countShort', { n: num(c.contacts), c: num(c.with_consent) }) : '—'; } },
        { label: t('keys.createdBy'), cell: (x) => h('span', x.created_by || '', h('span', { class: 'block small muted' }, date(x.created_at))) },
        { label: t('common.actions'), cell: (x) => {
          if (!ctx.can('admin')) return '';
          const b = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': t('seg.delete') + ' ' + x.name }, t('seg.delete'));
          b.addEventListener('click', async () => {
            if (!(await confirmDialog(t('seg.delete'), t('seg.deleteConfirm', { name: x.name }), t('seg.delete'), true))) return;
            busy(b, async () => {
              try { await del(`/api/segments/${x.id}`); toast(t('seg.deleted')); await load(); } catch (e) { toast(e.message, 'error'); }
            });
          });
          return b;
        } },
      ], segs, { caption: t('seg.title') }) : empty(t('seg.none')));
    } catch (e) { list.replaceChildren(errorBox(e)); }
  }
  await load();
}

/** The form of a new segment, with its count kept up to date as it is written. */
function editor(reload) {
  const name = h('input', { type: 'text', maxlength: 200, autocomplete: 'off' });
  const inc = h('input', { type: 'text', autocomplete: 'off', placeholder: 'robotica, salta' });
  const match = h('select', {}, ['any', 'all'].map((m) => h('option', { value: m }, t('seg.match.' + m))));
  const exc = h('input', { type: 'text', autocomplete: 'off' });
  const since = h('input', { type: 'date' });
  const notIn = h('input', { type: 'text', autocomplete: 'off', inputmode: 'numeric', placeholder: '12, 15' });
  const attrs = h('div', { class: 'seg-attrs', dataset: { field: 'definition.attributes' } });
  const addAttr = h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, t('seg.addAttr'));
  const live = h('p', { class: 'seg-count', 'aria-live': 'polite', role: 'status' });
  const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('seg.save'));
  const rows = [];

  function attrRow() {
    const key = h('input', { type: 'text', maxlength: 64, autocomplete: 'off' });
    const op = h('select', {}, OPS.map((o) => h('option', { value: o }, t('seg.op.' + o))));
    const value = h('input', { type: 'text', maxlength: 256, autocomplete: 'off' });
    const rm = h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, t('seg.removeAttr'));
    const n = rows.length + 1;
    const row = h('div', { class: 'inline-fields' }, field(t('seg.attrKey', { n }), key).wrap, field(t('seg.attrOp', { n }), op).wrap,
      field(t('seg.attrValue', { n }), value).wrap, rm);
    const r = { row, key, op, value };
    op.addEventListener('change', () => { value.disabled = op.value === 'empty'; changed(); });
    for (const el of [key, value]) el.addEventListener('input', changed);
    rm.addEventListener('click', () => { rows.splice(rows.indexOf(r), 1); row.remove(); changed(); });
    rows.push(r);
    attrs.append(row);
  }
  addAttr.addEventListener('click', () => { if (rows.length < 20) attrRow(); });

  function definition() {
    const d = {};
    if (tagList(inc.value).length) { d.include_tags = tagList(inc.value); d.match = match.value; }
    if (tagList(exc.value).length) d.exclude_tags = tagList(exc.value);
    const a = rows.filter((r) => r.key.value.trim()).map((r) => (r.op.value === 'empty' ?
      { key: r.key.value.trim(), op: 'empty' } : { key: r.key.value.trim(), op: r.op.value, value: r.value.value }));
    if (a.length) d.attributes = a;
    if (since.value) d.consent_since = localToIso(since.value + 'T00:00');
    const ids = tagList(notIn.value).map(Number);
    if (ids.length) d.not_in_campaigns = ids;
    return d;
  }

  let timer = null, seq = 0;
  function changed() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const mine = ++seq;
      try {
        const c = await post('/api/segments/count', { definition: definition() });
        if (mine === seq) live.textContent = t('seg.countLive', { n: num(c.contacts), c: num(c.with_consent) });
      } catch (e) { if (mine === seq) live.textContent = e.message; }
    }, 300);
  }
  for (const el of [inc, exc, notIn]) el.addEventListener('input', changed);
  for (const el of [match, since]) el.addEventListener('change', changed);

  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'seg-new-h' },
    h('h2', { id: 'seg-new-h' }, t('seg.new')),
    field(t('seg.name'), name, { name: 'name' }).wrap,
    h('div', { class: 'inline-fields' },
      field(t('seg.include'), inc, { name: 'definition.include_tags', hint: t('seg.tagsHint') }).wrap,
      field(t('seg.matchLabel'), match, { name: 'definition.match' }).wrap),
    field(t('seg.exclude'), exc, { name: 'definition.exclude_tags', hint: t('seg.tagsHint') }).wrap,
    h('fieldset', h('legend', t('seg.attrs')), attrs, addAttr),
    h('div', { class: 'inline-fields' },
      field(t('seg.since'), since, { name: 'definition.consent_since' }).wrap,
      field(t('seg.notIn'), notIn, { name: 'definition.not_in_campaigns', hint: t('seg.notInHint') }).wrap),
    live, formErr, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (!name.value.trim()) return showFieldError(form, { field: 'name', message: t('seg.needName') });
    await busy(submit, async () => {
      try {
        const g = await post('/api/segments', { name: name.value.trim(), definition: definition() });
        toast(t('seg.saved', { name: g.name, n: num(g.count ? g.count.contacts : 0) }));
        form.reset();
        for (const r of [...rows]) r.row.remove();
        rows.length = 0;
        live.textContent = '';
        await reload();
      } catch (e) { showFieldError(form, e, formErr); }
    });
  });
  changed();
  return form;
}
