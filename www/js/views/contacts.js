// Contacts and opt-outs: list, search, tags, import, add, the opt-out list and the opt-out
// keywords and phrases (matched after case, accent and punctuation folding by the server).
import { h, field, showFieldError, clearErrors, nextId } from '../dom.js';
import { get, post, patch, del, upload, uploadChunked, CHUNKED_ABOVE, qs, listOf, cursorOf } from '../api.js';
import { t } from '../i18n.js';
import { date, num } from '../format.js';
import { pageHead, table, empty, errorBox, loading, toast, busy, meter, confirmDialog, dialog } from '../ui.js';
import { importReport } from './wizard.js';
import { peekCsv } from '../csv.js';

export async function render(root, params, ctx) {
  const admin = ctx.can('admin');
  let tab = ['optouts', 'keywords'].includes(params.tab) ? params.tab : 'contacts';
  const tablist = h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('contacts.title') });
  const panel = h('div', { class: 'tab-panel', role: 'tabpanel', id: 'contacts-panel', tabindex: '0' });
  root.append(pageHead(t('contacts.title')), tablist, panel);
  const tabs = [['contacts', t('contacts.tabContacts')], ['optouts', t('contacts.tabOptouts')], ['keywords', t('optkw.tab')]];
  function drawTabs() {
    tablist.replaceChildren(...tabs.map(([k, label], i) => {
      const b = h('button', { type: 'button', role: 'tab', id: 'ctab-' + k, class: 'tab', 'aria-selected': String(k === tab),
        'aria-controls': 'contacts-panel', tabindex: k === tab ? '0' : '-1' }, label);
      b.addEventListener('click', () => { tab = k; drawTabs(); });
      b.addEventListener('keydown', (ev) => {
        const d = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
        if (!d) return;
        tab = tabs[(i + d + tabs.length) % tabs.length][0];
        drawTabs();
        tablist.querySelector('[aria-selected="true"]').focus();
      });
      return b;
    }));
    panel.setAttribute('aria-labelledby', 'ctab-' + tab);
    panel.replaceChildren();
    if (tab === 'contacts') contactsTab(panel, admin); else if (tab === 'optouts') optoutsTab(panel, admin); else keywordsTab(panel, admin);
  }
  drawTabs();
}

function splitTags(v) {
  return String(v || '').split(',').map((x) => x.trim()).filter(Boolean);
}

function contactsTab(panel, admin) {
  const q = h('input', { type: 'search', placeholder: t('contacts.searchPh') });
  const tag = h('select', {}, h('option', { value: '' }, t('contacts.allTags')));
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': t('contacts.search') },
    field(t('contacts.search'), q).wrap, field(t('contacts.tag'), tag).wrap,
    h('button', { type: 'submit', class: 'btn' }, t('common.filter')));
  const tagsBox = h('div', { class: 'tag-cloud', 'aria-label': t('contacts.tags') });
  const list = h('div', { 'aria-live': 'polite' }, loading());
  const more = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true }, t('common.more'));
  let rows = [], cursor = null;

  async function loadTags() {
    try {
      const tags = listOf(await get('/api/tags'), 'tags').map((x) => (typeof x === 'string' ? { tag: x } : x));
      const cur = tag.value;
      tag.replaceChildren(h('option', { value: '' }, t('contacts.allTags')), tags.map((x) => h('option', { value: x.tag || x.name, selected: cur === (x.tag || x.name) }, `${x.tag || x.name}${(x.contacts ?? x.count) != null ? ` (${num(x.contacts ?? x.count)})` : ''}`)));
      tagsBox.replaceChildren(...tags.map((x) => h('button', { type: 'button', class: 'chip chip-tag', on: { click: () => { tag.value = x.tag || x.name; load(false); } } },
        x.tag || x.name, (x.contacts ?? x.count) != null ? h('span', { class: 'count' }, num(x.contacts ?? x.count)) : null)));
    } catch { tagsBox.replaceChildren(); }
  }
  async function load(append) {
    try {
      const body = await get('/api/contacts' + qs({ q: q.value.trim(), tag: tag.value, limit: 50, ...(append && cursor ? { [cursor.key]: cursor.value } : {}) }));
      const items = listOf(body, 'contacts');
      rows = append ? rows.concat(items) : items;
      cursor = cursorOf(body);
      more.hidden = !cursor;
      list.replaceChildren(rows.length ? table([
        { label: t('contacts.phone'), cell: (x) => x.phone || '' },
        { label: t('contacts.name'), cell: (x) => h('div', x.name || '', x.lead_id ? h('span', { class: 'block small muted' }, t('contacts.lead', { id: x.lead_id })) : null) },
        { label: t('contacts.tags'), cell: (x) => h('div', { class: 'tags' }, (x.tags || []).map((tg) => h('span', { class: 'chip chip-tag' }, tg))) },
        { label: t('contacts.consent'), cell: (x) => consentCell(x) },
        { label: t('contacts.optout'), cell: (x) => optoutCell(x) },
        admin ? { label: t('common.actions'), cell: (x) => rowActions(x) } : null,
      ].filter(Boolean), rows, { caption: t('contacts.tabContacts') }) : empty(t('contacts.none')));
    } catch (e) {
      list.replaceChildren(e.status === 404 || e.status === 405 ? empty(t('camp.endpointMissing')) : errorBox(e));
    }
  }
  function consentCell(x) {
    const at = x.consent_at || (x.consent && x.consent.at);
    const src = x.consent_source || (x.consent && x.consent.source);
    return at ? h('span', { class: 'chip chip-ok', title: src || '' }, t('contacts.consentYes', { d: date(at, { dateStyle: 'short' }) }))
      : h('span', { class: 'chip chip-bad' }, t('contacts.consentNo'));
  }
  function optoutCell(x) {
    const at = x.opted_out_at || (x.opt_out && x.opt_out.at) || (x.opted_out === true ? true : null);
    return at ? h('span', { class: 'chip chip-bad' }, t('contacts.optedOut')) : h('span', { class: 'muted' }, '—');
  }
  function rowActions(x) {
    const edit = h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, t('contacts.editTags'));
    edit.setAttribute('aria-label', t('contacts.editTagsOf', { phone: x.phone }));
    edit.addEventListener('click', async () => {
      const inp = h('input', { type: 'text', value: (x.tags || []).join(', ') });
      const f = field(t('contacts.tagsComma'), inp);
      const d = await dialog(t('contacts.editTags'), h('div', h('p', x.phone), f.wrap),
        [{ label: t('common.cancel'), value: 'cancel', class: 'btn btn-ghost' }, { label: t('common.save'), value: 'ok', class: 'btn btn-primary' }]);
      if (d !== 'ok') return;
      try { await patch(`/api/contacts/${x.id}`, { tags: splitTags(inp.value) }); toast(t('common.saved')); load(false); loadTags(); } catch (e) { toast(e.message, 'error'); }
    });
    const rm = h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, t('common.delete'));
    rm.setAttribute('aria-label', t('contacts.deleteOf', { phone: x.phone }));
    rm.addEventListener('click', async () => {
      if (!await confirmDialog(t('contacts.deleteTitle'), t('contacts.deleteText', { phone: x.phone }), t('common.delete'), true)) return;
      try { await del(`/api/contacts/${x.id}`); toast(t('common.deleted')); load(false); loadTags(); } catch (e) { toast(e.message, 'error'); }
    });
    return h('div', { class: 'row-actions' }, edit, rm);
  }
  filters.addEventListener('submit', (ev) => { ev.preventDefault(); load(false); });
  tag.addEventListener('change', () => load(false));
  more.addEventListener('click', () => load(true));

  const addBox = admin ? addContactForm(() => { load(false); loadTags(); }) : null;
  const importBox = admin ? importForm(() => { load(false); loadTags(); }) : null;
  panel.append(h('div', { class: 'grid-2' }, addBox, importBox), tagsBox, filters, list, h('p', { class: 'center' }, more));
  loadTags();
  load(false);
}

function addContactForm(onDone) {
  const phone = h('input', { type: 'tel', autocomplete: 'off', required: true });
  const name = h('input', { type: 'text', autocomplete: 'off' });
  const lead = h('input', { type: 'text', autocomplete: 'off' });
  const tags = h('input', { type: 'text', autocomplete: 'off', placeholder: 'robotica, 2026' });
  const src = h('input', { type: 'text', autocomplete: 'off', placeholder: t('contacts.consentSrcPh') });
  const consent = h('input', { type: 'checkbox', id: nextId('cons') });
  const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('contacts.add'));
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'add-c-h' },
    h('h2', { id: 'add-c-h' }, t('contacts.addTitle')),
    h('div', { class: 'inline-fields' },
      field(t('contacts.phone'), phone, { name: 'phone' }).wrap, field(t('contacts.name'), name, { name: 'name' }).wrap,
      field(t('contacts.leadId'), lead, { name: 'lead_id' }).wrap, field(t('contacts.tagsComma'), tags, { name: 'tags' }).wrap,
      field(t('contacts.consentSrc'), src, { name: 'consent' }).wrap),
    h('div', { class: 'check', dataset: { field: 'consent_check' } }, consent, h('label', { for: consent.id }, t('contacts.consentCheck')),
      h('p', { class: 'field-error', role: 'alert', hidden: true })),
    formErr, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (!phone.value.trim()) return showFieldError(form, { field: 'phone', message: t('contacts.needPhone') });
    if (!consent.checked) return showFieldError(form, { field: 'consent_check', message: t('contacts.needConsent') });
    await busy(submit, async () => {
      const body = { phone: phone.value.trim(), name: name.value.trim(), tags: splitTags(tags.value),
        consent: { source: src.value.trim() || t('contacts.consentDefault') } };
      if (lead.value.trim()) body.lead_id = lead.value.trim();
      try {
        await post('/api/contacts', body);
        form.reset();
        toast(t('contacts.added'));
        onDone();
      } catch (e) { showFieldError(form, e, formErr); }
    });
  });
  return form;
}

function importForm(onDone) {
  const input = h('input', { type: 'file', accept: '.csv,text/csv,text/plain' });
  const m = meter(t('wiz.uploading'));
  const out = h('div', { 'aria-live': 'polite' });
  const btn = h('button', { type: 'submit', class: 'btn' }, t('contacts.importBtn'));
  const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'imp-h' },
    h('h2', { id: 'imp-h' }, t('contacts.importTitle')),
    field(t('contacts.importFile'), input, { name: 'body', hint: t('contacts.importHint') }).wrap, m.el, formErr, btn, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const f = input.files[0];
    if (!f) return showFieldError(form, { field: 'body', message: t('contacts.needFile') });
    try {
      const p = await peekCsv(f);
      if (p.headerOnly) throw new Error(t('csv.headerOnly', { file: f.name }));
    } catch (e) { return showFieldError(form, { field: 'body', message: e.message }); }
    await busy(btn, async () => {
      try {
        const progress = (x) => { m.set(x); if (x >= 1) m.indeterminate(); };
        // Large files go in pieces, so they pass any web server's request limit.
        const r = f.size > CHUNKED_ABOVE ?
          await uploadChunked('/api/contacts/uploads', f, {}, progress) :
          await upload('/api/contacts/import', f, 'text/csv', progress);
        m.hide();
        out.replaceChildren(importReport(r, f.name, f));
        onDone();
      } catch (e) { m.hide(); showFieldError(form, e, formErr); }
    });
  });
  return form;
}

function optoutsTab(panel, admin) {
  const q = h('input', { type: 'search', placeholder: t('contacts.phoneSearchPh'), inputmode: 'tel' });
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': t('contacts.optSearch') },
    field(t('contacts.optSearch'), q).wrap, h('button', { type: 'submit', class: 'btn' }, t('common.filter')));
  const list = h('div', { 'aria-live': 'polite' }, loading());
  const more = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true }, t('common.more'));
  let rows = [], cursor = null;
  async function load(append) {
    try {
      const body = await get('/api/opt-outs' + qs({ phone: q.value.trim(), limit: 50, ...(append && cursor ? { [cursor.key]: cursor.value } : {}) }));
      const items = listOf(body, 'opt_outs', 'optouts');
      rows = append ? rows.concat(items) : items;
      cursor = cursorOf(body);
      more.hidden = !cursor;
      list.replaceChildren(rows.length ? table([
        { label: t('contacts.phone'), cell: (x) => x.phone || '' },
        { label: t('contacts.optSource'), cell: (x) => t('optsrc.' + x.source) !== 'optsrc.' + x.source ? t('optsrc.' + x.source) : x.source || '' },
        { label: t('contacts.optDetail'), cell: (x) => x.detail || '' },
        { label: t('contacts.optWhen'), cell: (x) => date(x.created_at) },
        { label: t('optkw.lockCol'), cell: (x) => x.operator_lock ? h('span', { class: 'chip', title: t('optkw.lockHint') }, t('optkw.locked')) : h('span', { class: 'muted' }, '—') },
        admin ? { label: t('common.actions'), cell: (x) => {
          const b = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': t('contacts.liftOf', { phone: x.phone }) }, t('contacts.lift'));
          b.addEventListener('click', async () => {
            if (!await confirmDialog(t('contacts.liftTitle'), t('contacts.liftText', { phone: x.phone }), t('contacts.lift'), true)) return;
            try { await del('/api/opt-outs' + qs({ phone: x.phone })); toast(t('contacts.lifted')); load(false); } catch (e) { toast(e.message, 'error'); }
          });
          return b;
        } } : null,
      ].filter(Boolean), rows, { caption: t('contacts.tabOptouts') }) : empty(t('contacts.noOptouts')));
    } catch (e) {
      list.replaceChildren(e.status === 404 || e.status === 405 ? empty(t('camp.endpointMissing')) : errorBox(e));
    }
  }
  filters.addEventListener('submit', (ev) => { ev.preventDefault(); load(false); });
  more.addEventListener('click', () => load(true));
  let addForm = null;
  if (admin) {
    const phone = h('input', { type: 'tel', autocomplete: 'off' });
    const detail = h('input', { type: 'text', autocomplete: 'off', maxlength: 500 });
    const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('contacts.optAdd'));
    addForm = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'oo-h' },
      h('h2', { id: 'oo-h' }, t('contacts.optAddTitle')), h('p', { class: 'hint' }, t('contacts.optAddHint')),
      h('div', { class: 'inline-fields' }, field(t('contacts.phone'), phone, { name: 'phone' }).wrap,
        field(t('contacts.optDetail'), detail, { name: 'detail' }).wrap), formErr, submit);
    addForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(addForm);
      if (!phone.value.trim()) return showFieldError(addForm, { field: 'phone', message: t('contacts.needPhone') });
      await busy(submit, async () => {
        const body = { phone: phone.value.trim() };
        if (detail.value.trim()) body.detail = detail.value.trim();
        try { await post('/api/opt-outs', body); addForm.reset(); toast(t('contacts.optAdded')); load(false); } catch (e) { showFieldError(addForm, e, formErr); }
      });
    });
  }
  panel.append(addForm, filters, list, h('p', { class: 'center' }, more));
  load(false);
}

// The words (whole message) and phrases (inside a message) that opt a person out, or that lift
// an opt-out that came from WhatsApp ("resume"; never one an operator recorded).
function keywordsTab(panel, admin) {
  const list = h('div', { 'aria-live': 'polite' }, loading());
  async function load() {
    try {
      const body = await get('/api/optout-keywords');
      const rows = listOf(body, 'keywords');
      list.replaceChildren(rows.length ? table([
        { label: t('optkw.keyword'), cell: (x) => x.keyword || '' },
        { label: t('optkw.kind'), cell: (x) => t('optkw.kind.' + x.kind) },
        { label: t('optkw.action'), cell: (x) => h('span', { class: 'chip' + (x.action === 'stop' ? ' chip-bad' : '') }, t('optkw.action.' + x.action)) },
        { label: t('optkw.by'), cell: (x) => x.created_by || t('optkw.seed') },
        { label: t('contacts.optWhen'), cell: (x) => date(x.created_at) },
        admin ? { label: t('common.actions'), cell: (x) => {
          const b = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': t('optkw.removeOf', { keyword: x.keyword }) }, t('optkw.remove'));
          b.addEventListener('click', async () => {
            if (!await confirmDialog(t('optkw.removeTitle'), t('optkw.removeText', { keyword: x.keyword }), t('optkw.remove'), true)) return;
            try { await del('/api/optout-keywords' + qs({ keyword: x.keyword })); toast(t('optkw.removed')); load(); } catch (e) { toast(e.message, 'error'); }
          });
          return b;
        } } : null,
      ].filter(Boolean), rows, { caption: t('optkw.tab') }) : empty(t('optkw.none')));
    } catch (e) {
      list.replaceChildren(errorBox(e));
    }
  }
  let addForm = null;
  if (admin) {
    const keyword = h('input', { type: 'text', autocomplete: 'off', maxlength: 64 });
    const kind = h('select', {}, ['keyword', 'phrase'].map((k) => h('option', { value: k }, t('optkw.kind.' + k))));
    const action = h('select', {}, ['stop', 'resume'].map((k) => h('option', { value: k }, t('optkw.action.' + k))));
    const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('optkw.add'));
    addForm = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'kw-h' },
      h('h2', { id: 'kw-h' }, t('optkw.addTitle')), h('p', { class: 'hint' }, t('optkw.addHint')),
      h('div', { class: 'inline-fields' }, field(t('optkw.keyword'), keyword, { name: 'keyword' }).wrap,
        field(t('optkw.kind'), kind, { name: 'kind' }).wrap, field(t('optkw.action'), action, { name: 'action' }).wrap),
      formErr, submit);
    addForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(addForm);
      if (!keyword.value.trim()) return showFieldError(addForm, { field: 'keyword', message: t('optkw.needKeyword') });
      await busy(submit, async () => {
        try {
          await post('/api/optout-keywords', { keyword: keyword.value.trim(), kind: kind.value, action: action.value });
          addForm.reset(); toast(t('optkw.added')); load();
        } catch (e) { showFieldError(addForm, e, formErr); }
      });
    });
  }
  panel.append(addForm, h('p', { class: 'hint' }, t('optkw.rules')), list);
  load();
}
