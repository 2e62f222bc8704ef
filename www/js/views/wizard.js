// The new-campaign wizard: 1 template, 2 parameters, 3 audience, 4 pace, 5 preflight and start.
// The campaign is created as a draft when leaving step 2 and edited from then on, so the
// wizard can be left and taken up again (#/campaigns/{id}/edit?step=N).
import { h, field, showFieldError, clearErrors, download, csvLine, nextId } from '../dom.js';
import { get, post, patch, del, upload, uploadChunked, CHUNKED_ABOVE, qs, listOf } from '../api.js';
import { t, has } from '../i18n.js';
import { num, duration, localToIso, date } from '../format.js';
import { bubble } from '../bubble.js';
import { peekCsv, rowsAtLines } from '../csv.js';
import { busy, meter, toast, table, errorBox, empty, loading, confirmDialog, statusChip } from '../ui.js';
import { explain } from '../errors.js';
import { abEditor, splitLine } from './abvariants.js';
import { slotsOf, mappingToParams } from '../mapping.js';

const CONTACT_FIELDS = ['name', 'lead_id'];

export async function render(root, params, ctx) {
  const st = {
    id: params.id ? Number(params.id) : null,
    campaign: null,
    accounts: [],
    templates: [],
    template: null,
    name: '',
    accountId: null,
    mapping: {},
    csvFile: null,
    csvColumns: [],
    csvSample: {},
    contactAttrs: [],
    report: null,
    when: 'now',
    at: '',
    step: Number(params.step) || 1,
  };
  const title = h('h1', { id: 'page-title', tabindex: '-1' }, st.id ? t('wiz.editTitle', { id: st.id }) : t('wiz.title'));
  const stepper = h('ol', { class: 'stepper', 'aria-label': t('wiz.steps') });
  const panel = h('div', { class: 'wiz-panel' }, loading());
  root.append(h('div', { class: 'page-head' }, title), stepper, panel);

  try {
    st.accounts = listOf(await get('/api/accounts'), 'accounts');
    if (st.id) {
      st.campaign = await get(`/api/campaigns/${st.id}`);
      st.name = st.campaign.name;
      st.accountId = st.campaign.account_id;
      fromParams(st, st.campaign.params || {});
    } else if (st.accounts.length) {
      st.accountId = st.accounts[0].id;
    }
    await loadTemplates(st);
    st.contactAttrs = await contactAttributes();
    if (st.campaign) {
      st.template = st.templates.find((x) => x.name === st.campaign.template.name &&
        x.language === st.campaign.template.language && x.account_id === st.campaign.account_id) || null;
      if (!st.template && st.campaign.template.id) {
        try { st.template = await get(`/api/templates/${st.campaign.template.id}`); } catch { /* gone */ }
      }
    }
  } catch (e) {
    panel.replaceChildren(errorBox(e));
    return;
  }
  if (st.campaign && st.campaign.status !== 'draft') {
    panel.replaceChildren(h('p', { class: 'alert alert-warn' }, t('wiz.notDraft', { status: t('status.' + st.campaign.status) }), ' ',
      h('a', { href: `#/campaigns/${st.id}` }, t('wiz.openDetail'))));
    return;
  }

  const steps = [
    ['wiz.s1', step1], ['wiz.s2', step2], ['wiz.s3', step3], ['wiz.s4', step4], ['wiz.s5', step5],
  ];
  let cleanupStep = null;

  function go(n) {
    if (cleanupStep) { cleanupStep(); cleanupStep = null; }
    st.step = Math.max(1, Math.min(5, n));
    if (!st.id && st.step > 2) st.step = st.template ? 2 : 1;
    if (!st.template && st.step > 1) st.step = 1;
    stepper.replaceChildren(...steps.map(([key], i) => {
      const n1 = i + 1;
      const reachable = n1 === 1 || (st.template && (n1 === 2 || st.id));
      const label = h('span', { class: 'step-n', 'aria-hidden': 'true' }, String(n1));
      const inner = reachable && n1 !== st.step
        ? h('button', { type: 'button', class: 'step-link', on: { click: () => go(n1) } }, label, t(key))
        : h('span', { class: 'step-link' }, label, t(key));
      return h('li', { class: ['step', n1 === st.step && 'is-current', n1 < st.step && 'is-done'],
        'aria-current': n1 === st.step ? 'step' : null }, inner);
    }));
    panel.replaceChildren();
    const c = steps[st.step - 1][1](panel, st, go, ctx);
    cleanupStep = typeof c === 'function' ? c : null;
    if (st.id) history.replaceState(null, '', `#/campaigns/${st.id}/edit?step=${st.step}`);
    const heading = panel.querySelector('h2');
    if (heading) { heading.setAttribute('tabindex', '-1'); heading.focus(); }
  }
  go(st.step);
  return () => { if (cleanupStep) cleanupStep(); };
}

async function loadTemplates(st) {
  const body = await get('/api/templates' + qs({ usable: 1, account_id: st.accountId || '' }));
  st.templates = listOf(body, 'templates');
}

/** The attribute names of the newest contacts (their CSV columns beyond phone, name, lead_id):
 * offered as variable sources beside name and lead_id. */
async function contactAttributes() {
  try {
    const keys = new Set();
    for (const c of listOf(await get('/api/contacts' + qs({ limit: 200 })), 'contacts')) {
      for (const k of Object.keys(c.attributes || {})) if (!CONTACT_FIELDS.includes(k)) keys.add(k);
    }
    return [...keys].sort();
  } catch { return []; }
}

function slotKey(sl) {
  return sl.component === 'button' ? `button:${sl.index}` : `${sl.component}:${sl.name || 'media'}`;
}

function fromParams(st, p) {
  st.mapping = {};
  for (const comp of ['header', 'body']) {
    const sec = p[comp];
    if (!sec) continue;
    const entries = Array.isArray(sec) ? sec.map((v, i) => [String(i + 1), v]) : Object.entries(sec);
    for (const [k, v] of entries) st.mapping[`${comp}:${k}`] = itemToMap(v);
  }
  for (const [k, v] of Object.entries(p.buttons || {})) st.mapping[`button:${k}`] = itemToMap(v);
}

function itemToMap(v) {
  if (typeof v === 'string') return { source: 'fixed', value: v, fallback: '' };
  if (v && v.column != null) {
    return { source: CONTACT_FIELDS.includes(v.column) ? 'contact' : 'column', value: v.column, fallback: v.fallback || '' };
  }
  return { source: 'fixed', value: (v && v.value) || '', fallback: '' };
}

/** The mapping as the API takes it (../mapping.js). */
function toParams(st) {
  return mappingToParams(st.template, st.mapping, slotKey);
}

function sampleValue(sl) {
  if (sl.type === 'image') return 'https://example.com/imagen.jpg';
  if (sl.type === 'video') return 'https://example.com/video.mp4';
  if (sl.type === 'document') return 'https://example.com/documento.pdf';
  return `{{${sl.name || sl.label || '?'}}}`;
}

/** Asks the API for the rendered preview and draws it into `box`. */
function previewer(box) {
  let seq = 0, timer = null;
  return function update(tpl, bodyFn, delay = 250) {
    clearTimeout(timer);
    if (!tpl) { box.replaceChildren(h('p', { class: 'muted' }, t('wiz.pickTemplate'))); return; }
    timer = setTimeout(async () => {
      const my = ++seq;
      box.setAttribute('aria-busy', 'true');
      try {
        const r = await post(`/api/templates/${tpl.id}/preview`, bodyFn());
        if (my !== seq) return;
        box.replaceChildren(bubble(r.preview || {}), valuesList(r.values));
      } catch (e) {
        if (my !== seq) return;
        // A variable still to fill in is a hint, not an alarm.
        box.replaceChildren(h('p', { class: e.field && e.field.startsWith('params') ? 'hint preview-hint' : 'alert alert-warn', role: 'status' }, e.message));
      } finally {
        if (my === seq) box.removeAttribute('aria-busy');
      }
    }, delay);
  };
}

function valuesList(values) {
  if (!Array.isArray(values) || !values.length) return null;
  return h('details', { class: 'values' }, h('summary', t('wiz.valuesUsed')),
    h('dl', { class: 'kv' }, values.map((v) => [h('dt', v.slot), h('dd', v.value)])));
}

function navButtons(onBack, onNext, nextLabel) {
  const back = onBack ? h('button', { type: 'button', class: 'btn btn-ghost', on: { click: onBack } }, t('wiz.back')) : h('span');
  const next = h('button', { type: 'submit', class: 'btn btn-primary' }, nextLabel || t('wiz.next'));
  return { el: h('div', { class: 'wiz-nav' }, back, next), next };
}

/* ---- step 1: template ------------------------------------------------------------------- */

function step1(panel, st, go, ctx) {
  const name = h('input', { type: 'text', value: st.name, maxlength: 200, required: true, autocomplete: 'off' });
  const fName = field(t('wiz.name'), name, { name: 'name', hint: t('wiz.nameHint') });
  const acc = h('select', {}, st.accounts.map((a) => h('option', { value: a.id, selected: a.id === st.accountId },
    `${a.name || ''} ${a.display_phone ? '(' + a.display_phone + ')' : ''}${a.sandbox ? ' · ' + t('sandbox.badge') : ''}`)));
  const fAcc = field(t('wiz.account'), acc, { name: 'account_id' });
  fAcc.wrap.hidden = st.accounts.length < 2;
  const list = h('div', { class: 'tpl-pick', role: 'radiogroup', 'aria-labelledby': 'tpl-legend' });
  const prevBox = h('div', { class: 'preview-box', 'aria-live': 'polite' });
  const update = previewer(prevBox);
  const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
  const tplField = h('div', { class: 'field', dataset: { field: 'template_name' } },
    h('p', { id: 'tpl-legend', class: 'label' }, t('wiz.template')),
    h('p', { class: 'field-error', role: 'alert', hidden: true }), list);
  const sync = ctx.can('admin') ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, t('tpl.sync')) : null;
  const radioName = nextId('tpl');

  function preview() {
    update(st.template, () => ({ values: slotsOf(st.template).map(sampleValue) }), 0);
  }
  function drawList() {
    if (!st.templates.length) {
      list.replaceChildren(empty(t('wiz.noTemplates')));
      return;
    }
    list.replaceChildren(...st.templates.map((tp) => {
      const id = nextId('tp');
      const r = h('input', { type: 'radio', name: radioName, id, value: tp.id, checked: st.template && st.template.id === tp.id });
      r.addEventListener('change', () => { st.template = tp; preview(); });
      return h('div', { class: 'tpl-option' }, r,
        h('label', { for: id }, h('strong', tp.name), ' ', h('span', { class: 'muted' }, tp.language), ' ',
          h('span', { class: 'chip chip-cat' }, has('cat.' + tp.category) ? t('cat.' + tp.category) : tp.category || ''),
          h('span', { class: 'small muted block' }, t('wiz.nParams', { n: slotsOf(tp).length }))));
    }));
  }
  if (sync) {
    sync.addEventListener('click', () => busy(sync, async () => {
      try {
        await post('/api/templates/sync', st.accountId ? { account_id: st.accountId } : {});
        await loadTemplates(st);
        drawList();
        toast(t('tpl.synced'));
      } catch (e) { toast(e.message, 'error'); }
    }));
  }
  acc.addEventListener('change', async () => {
    st.accountId = Number(acc.value);
    st.template = null;
    await loadTemplates(st);
    drawList();
    preview();
  });
  drawList();
  preview();
  const nav = navButtons(null, null);
  const form = h('form', { class: 'card wiz-step', novalidate: true },
    h('h2', t('wiz.s1')),
    h('div', { class: 'two-col' },
      h('div', fName.wrap, fAcc.wrap, tplField, sync ? h('p', h('span', { class: 'muted small' }, t('wiz.syncHint')), ' ', sync) : null),
      h('div', h('p', { class: 'label' }, t('wiz.preview')), prevBox)),
    formErr, nav.el);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(form);
    st.name = name.value.trim();
    if (!st.name) return showFieldError(form, { field: 'name', message: t('wiz.needName') });
    if (!st.template) return showFieldError(form, { field: 'template_name', message: t('wiz.needTemplate') });
    if (st.campaign && (st.campaign.template.name !== st.template.name || st.campaign.template.language !== st.template.language)) {
      st.mapping = {};
    }
    go(2);
  });
  panel.append(form);
}

/* ---- step 2: parameters ----------------------------------------------------------------- */

function step2(panel, st, go, ctx) {
  const slots = slotsOf(st.template);
  const prevBox = h('div', { class: 'preview-box', 'aria-live': 'polite' });
  const update = previewer(prevBox);
  const dlId = nextId('cols');
  const datalist = h('datalist', { id: dlId });
  const csvInput = h('input', { type: 'file', accept: '.csv,text/csv,text/plain' });
  const csvInfo = h('p', { class: 'small muted', 'aria-live': 'polite' });
  const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });

  function fillDatalist() {
    const cols = new Set([...st.csvColumns, ...CONTACT_FIELDS]);
    datalist.replaceChildren(...[...cols].map((c) => h('option', { value: c })));
    csvInfo.textContent = st.csvFile ? t('wiz.csvColumns', { file: st.csvFile.name, cols: st.csvColumns.join(', ') }) : '';
  }
  csvInput.addEventListener('change', async () => {
    const f = csvInput.files[0];
    if (!f) return;
    try {
      const p = await peekCsv(f);
      st.csvFile = f;
      st.csvColumns = p.columns;
      st.csvSample = p.sample;
      // A column named like a placeholder maps itself.
      for (const sl of slots) {
        const k = slotKey(sl);
        if (!st.mapping[k] || !st.mapping[k].value) {
          const guess = p.columns.find((c) => c.toLowerCase() === String(sl.name || '').toLowerCase());
          if (guess) st.mapping[k] = { source: 'column', value: guess, fallback: '' };
        }
      }
      draw();
    } catch (e) { csvInfo.textContent = e.message; }
  });

  function sampleVars() {
    const vars = {};
    for (const sl of slots) {
      const m = st.mapping[slotKey(sl)];
      if (m && m.source !== 'fixed' && m.value) vars[m.value] = st.csvSample[m.value] || `[${m.value}]`;
    }
    return vars;
  }
  function preview(delay) {
    update(st.template, () => ({ params: toParams(st), vars: sampleVars() }), delay);
  }
  const rows = h('div', { class: 'map-rows' });
  function draw() {
    fillDatalist();
    if (!slots.length) {
      rows.replaceChildren(h('p', { class: 'alert alert-info' }, t('wiz.noParams')));
      preview(0);
      return;
    }
    rows.replaceChildren(...slots.map((sl) => {
      const k = slotKey(sl);
      const m = st.mapping[k] = st.mapping[k] || { source: st.csvColumns.length ? 'column' : 'fixed', value: '', fallback: '' };
      const src = h('select', {},
        h('option', { value: 'column', selected: m.source === 'column' }, t('wiz.srcColumn')),
        h('option', { value: 'contact', selected: m.source === 'contact' }, t('wiz.srcContact')),
        h('option', { value: 'fixed', selected: m.source === 'fixed' }, t('wiz.srcFixed')));
      const contactSources = [...CONTACT_FIELDS, ...st.contactAttrs];
      if (m.source === 'contact' && m.value && !contactSources.includes(m.value)) contactSources.push(m.value);
      const val = m.source === 'contact'
        ? h('select', {}, contactSources.map((c) => h('option', { value: c, selected: m.value === c },
          CONTACT_FIELDS.includes(c) ? t('contact.field.' + c) : t('wiz.contactAttr', { name: c }))))
        : h('input', { type: 'text', value: m.value, list: m.source === 'column' ? dlId : null, autocomplete: 'off',
          placeholder: m.source === 'column' ? t('wiz.columnPh') : t('wiz.fixedPh') });
      if (m.source === 'contact' && !contactSources.includes(m.value)) m.value = CONTACT_FIELDS[0];
      const fb = h('input', { type: 'text', value: m.fallback, autocomplete: 'off', placeholder: t('wiz.fallbackPh') });
      src.addEventListener('change', () => { m.source = src.value; m.value = src.value === 'contact' ? 'name' : ''; draw(); });
      val.addEventListener('input', () => { m.value = val.value; preview(); });
      val.addEventListener('change', () => { m.value = val.value; preview(); });
      fb.addEventListener('input', () => { m.fallback = fb.value; preview(); });
      const fs = h('fieldset', { class: 'map-row', dataset: { field: `params.${sl.component}` } },
        h('legend', slotLabel(sl)),
        field(t('wiz.source'), src).wrap,
        field(m.source === 'fixed' ? t('wiz.value') : m.source === 'contact' ? t('wiz.contactField') : t('wiz.column'), val).wrap,
        m.source !== 'fixed' ? field(t('wiz.fallback'), fb, { hint: t('wiz.fallbackHint') }).wrap : null);
      return fs;
    }));
    preview(0);
  }
  draw();
  const nav = navButtons(() => go(1), null);
  const form = h('form', { class: 'card wiz-step', novalidate: true },
    h('h2', t('wiz.s2')),
    h('p', { class: 'muted' }, t('wiz.mapIntro')),
    h('div', { class: 'two-col' },
      h('div', field(t('wiz.csvPeek'), csvInput, { hint: t('wiz.csvPeekHint') }).wrap, csvInfo, datalist, rows),
      h('div', h('p', { class: 'label' }, t('wiz.preview')), prevBox)),
    formErr, nav.el);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    for (const sl of slots) {
      const m = st.mapping[slotKey(sl)];
      if (!m || (!m.value && m.source !== 'fixed') || (m.source === 'fixed' && !m.value)) {
        formErr.textContent = t('wiz.needValue', { slot: slotLabel(sl) });
        formErr.hidden = false;
        return;
      }
    }
    await busy(nav.next, async () => {
      const body = {
        name: st.name, template_name: st.template.name, template_language: st.template.language,
        account_id: st.template.account_id || st.accountId, params: toParams(st),
      };
      try {
        if (st.id) {
          if (st.campaign && st.campaign.counters && st.campaign.counters.total > 0 &&
              body.account_id === st.campaign.account_id) delete body.account_id;
          st.campaign = await patch(`/api/campaigns/${st.id}`, body);
        } else {
          st.campaign = await post('/api/campaigns', body);
          st.id = st.campaign.id;
          toast(t('wiz.draftSaved', { id: st.id }));
        }
        go(3);
      } catch (e) {
        if (e.field === 'name' || e.field === 'template_name') { go(1); toast(e.message, 'error'); return; }
        showFieldError(form, e, formErr);
      }
    });
  });
  panel.append(form);
}

export function slotLabel(sl) {
  const where = t('slot.' + sl.component);
  if (sl.component === 'button') return `${where} ${Number(sl.index) + 1}${sl.name ? ` {{${sl.name}}}` : ''}`;
  if (!sl.name) return `${where}: ${t('slot.type.' + sl.type) !== 'slot.type.' + sl.type ? t('slot.type.' + sl.type) : sl.type}`;
  return `${where} {{${sl.name}}}`;
}

/* ---- step 3: audience ------------------------------------------------------------------- */

function step3(panel, st, go, ctx) {
  const total = h('strong');
  const clearBtn = h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, t('wiz.clearRecipients'));
  const reportBox = h('div', { class: 'report', 'aria-live': 'polite' });
  const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });

  const history = h('div', { class: 'imports' });
  async function refresh() {
    try { st.campaign = await get(`/api/campaigns/${st.id}`); } catch { /* keep */ }
    total.textContent = num(st.campaign.counters.total);
    clearBtn.hidden = !st.campaign.counters.total;
    // "needs at least one recipient" said before an import no longer holds once one is in
    if (st.campaign.counters.total) formErr.hidden = true;
    try {
      const list = listOf(await get(`/api/campaigns/${st.id}/imports`), 'imports');
      history.replaceChildren(list.length ? h('details', h('summary', t('wiz.imports', { n: list.length })), table([
        { label: t('camp.when'), cell: (x) => date(x.created_at) },
        { label: t('wiz.importKind'), cell: (x) => has('kind.' + x.kind) ? t('kind.' + x.kind) : x.kind },
        { label: t('report.rows'), class: 'num', cell: (x) => num(x.rows ?? x.rows_read) },
        { label: t('report.accepted'), class: 'num', cell: (x) => num(x.accepted) },
        { label: t('report.rejected'), class: 'num', cell: (x) => num(x.rejected) },
        { label: t('audit.actor'), cell: (x) => x.actor || '' },
      ], list, { caption: t('wiz.imports', { n: list.length }) })) : null);
    } catch { history.replaceChildren(); }
  }
  clearBtn.addEventListener('click', async () => {
    if (!await confirmDialog(t('wiz.clearRecipients'), t('wiz.clearConfirm'), t('wiz.clearRecipients'), true)) return;
    try { await del(`/api/campaigns/${st.id}/recipients`); st.report = null; reportBox.replaceChildren(); } catch (e) { toast(e.message, 'error'); }
    refresh();
  });

  // Tabs: CSV, contacts by tags, pasted list.
  const tabs = [['csv', t('wiz.aCsv')], ['tags', t('wiz.aTags')], ['segment', t('wiz.aSegment')], ['list', t('wiz.aList')]];
  let tab = 'csv';
  const tablist = h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('wiz.audienceSource') });
  const tabPanel = h('div', { class: 'tab-panel', role: 'tabpanel', tabindex: '0' });
  function drawTabs() {
    tablist.replaceChildren(...tabs.map(([k, label], i) => {
      const b = h('button', { type: 'button', role: 'tab', id: 'tab-' + k, class: 'tab', 'aria-selected': String(k === tab),
        tabindex: k === tab ? '0' : '-1', 'aria-controls': 'tabpanel-aud' }, label);
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
    tabPanel.id = 'tabpanel-aud';
    tabPanel.setAttribute('aria-labelledby', 'tab-' + tab);
    tabPanel.replaceChildren(tab === 'csv' ? csvTab() : tab === 'tags' ? tagsTab() : tab === 'segment' ? segmentTab() : listTab());
  }

  function showReport(r, what, file) {
    st.report = r;
    st.reportFile = file || null;
    reportBox.replaceChildren(importReport(r, what, file));
    refresh();
  }

  function csvTab() {
    const input = h('input', { type: 'file', accept: '.csv,text/csv,text/plain', class: 'sr-only', id: nextId('csv') });
    const chosen = h('p', { class: 'drop-file', 'aria-live': 'polite' }, st.csvFile ? fileLabel(st.csvFile) : t('wiz.noFile'));
    const drop = h('label', { class: 'dropzone', for: input.id },
      h('span', { class: 'drop-icon', 'aria-hidden': 'true' }, '⬆'),
      h('span', h('strong', t('wiz.dropTitle')), h('span', { class: 'block muted' }, t('wiz.dropHint'))), chosen);
    const m = meter(t('wiz.uploading'));
    const go1 = h('button', { type: 'button', class: 'btn btn-primary', disabled: !st.csvFile }, t('wiz.uploadBtn'));
    const err = h('p', { class: 'field-error', role: 'alert', hidden: true });
    async function pick(f) {
      err.hidden = true;
      try {
        const p = await peekCsv(f);
        if (p.headerOnly) throw new Error(t('csv.headerOnly', { file: f.name }));
      } catch (e) {
        st.csvFile = null;
        chosen.textContent = fileLabel(f);
        go1.disabled = true;
        err.textContent = e.message;
        err.hidden = false;
        return;
      }
      st.csvFile = f;
      chosen.textContent = fileLabel(f);
      go1.disabled = false;
    }
    input.addEventListener('change', () => { if (input.files[0]) pick(input.files[0]); });
    for (const evn of ['dragenter', 'dragover']) drop.addEventListener(evn, (ev) => { ev.preventDefault(); drop.classList.add('is-over'); });
    for (const evn of ['dragleave', 'drop']) drop.addEventListener(evn, () => drop.classList.remove('is-over'));
    drop.addEventListener('drop', (ev) => {
      ev.preventDefault();
      const f = ev.dataTransfer && ev.dataTransfer.files[0];
      if (f) pick(f);
    });
    go1.addEventListener('click', () => busy(go1, async () => {
      err.hidden = true;
      m.set(0);
      try {
        // Large files go in pieces, so they pass any web server's request limit.
        const send = st.csvFile.size > CHUNKED_ABOVE ?
          (cb) => uploadChunked(`/api/campaigns/${st.id}/uploads`, st.csvFile, { filename: st.csvFile.name }, cb) :
          (cb) => upload(`/api/campaigns/${st.id}/recipients` + qs({ filename: st.csvFile.name }), st.csvFile, 'text/csv', cb);
        const r = await send((f) => {
          m.set(f);
          if (f >= 1) m.indeterminate();
        });
        m.hide();
        showReport(r, st.csvFile.name, st.csvFile);
        toast(t('wiz.uploaded', { n: num(r.accepted) }));
      } catch (e) {
        m.hide();
        err.textContent = e.message;
        err.hidden = false;
      }
    }));
    return h('div', { class: 'field', dataset: { field: 'body' } }, input, drop, h('p', { class: 'hint' }, t('wiz.csvRules')), m.el, err, go1);
  }

  function tagsTab() {
    const box = h('div', loading());
    const inc = new Set(), exc = new Set();
    const addBtn = h('button', { type: 'button', class: 'btn btn-primary', disabled: true }, t('wiz.addContacts'));
    const err = h('p', { class: 'field-error', role: 'alert', hidden: true });
    get('/api/tags').then((body) => {
      const tags = listOf(body, 'tags').map((x) => (typeof x === 'string' ? { tag: x } : x));
      if (!tags.length) { box.replaceChildren(empty(t('wiz.noTags'))); return; }
      const row = (x) => {
        const name = x.tag || x.name;
        const cnt = x.contacts ?? x.count;
        const a = h('input', { type: 'checkbox', id: nextId('inc') });
        const b = h('input', { type: 'checkbox', id: nextId('exc') });
        a.addEventListener('change', () => { a.checked ? inc.add(name) : inc.delete(name); if (a.checked) { b.checked = false; exc.delete(name); } addBtn.disabled = !inc.size; });
        b.addEventListener('change', () => { b.checked ? exc.add(name) : exc.delete(name); if (b.checked) { a.checked = false; inc.delete(name); } addBtn.disabled = !inc.size; });
        return h('tr', h('th', { scope: 'row' }, name), h('td', { class: 'num' }, cnt != null ? num(cnt) : '—'),
          h('td', a, h('label', { for: a.id, class: 'sr-only' }, t('wiz.include') + ' ' + name)),
          h('td', b, h('label', { for: b.id, class: 'sr-only' }, t('wiz.exclude') + ' ' + name)));
      };
      box.replaceChildren(h('div', { class: 'tbl-wrap' }, h('table', { class: 'tbl' },
        h('thead', h('tr', h('th', { scope: 'col' }, t('contacts.tag')), h('th', { scope: 'col', class: 'num' }, t('contacts.count')),
          h('th', { scope: 'col' }, t('wiz.include')), h('th', { scope: 'col' }, t('wiz.exclude')))),
        h('tbody', tags.map(row)))));
    }).catch((e) => box.replaceChildren(errorBox(e)));
    addBtn.addEventListener('click', () => busy(addBtn, async () => {
      err.hidden = true;
      try {
        const r = await post(`/api/campaigns/${st.id}/recipients/contacts`, { include_tags: [...inc], exclude_tags: [...exc] });
        showReport(r, t('wiz.aTags'));
      } catch (e) { err.textContent = e.message; err.hidden = false; }
    }));
    return h('div', h('p', { class: 'hint' }, t('wiz.tagsHint')), box, err, addBtn);
  }

  function segmentTab() {
    const box = h('div', loading());
    const pick = h('select', {});
    const count = h('p', { class: 'hint', 'aria-live': 'polite' });
    const addBtn = h('button', { type: 'button', class: 'btn btn-primary', disabled: true }, t('wiz.addSegment'));
    const err = h('p', { class: 'field-error', role: 'alert', hidden: true });
    const showCount = async () => {
      count.textContent = '';
      try {
        const g = await get(`/api/segments/${pick.value}`);
        if (g.count) count.textContent = t('seg.countLive', { n: num(g.count.contacts), c: num(g.count.with_consent) });
      } catch (e) { count.textContent = e.message; }
    };
    get('/api/segments').then((body) => {
      const segs = listOf(body, 'segments');
      if (!segs.length) { box.replaceChildren(empty(t('wiz.segmentNone'))); return; }
      pick.replaceChildren(...segs.map((x) => h('option', { value: x.id }, x.name)));
      pick.addEventListener('change', showCount);
      addBtn.disabled = false;
      box.replaceChildren(field(t('wiz.segmentPick'), pick, { name: 'segment_id' }).wrap, count);
      showCount();
    }).catch((e) => box.replaceChildren(errorBox(e)));
    addBtn.addEventListener('click', () => busy(addBtn, async () => {
      err.hidden = true;
      try {
        const r = await post(`/api/campaigns/${st.id}/recipients/segment`, { segment_id: Number(pick.value) });
        showReport(r, pick.options[pick.selectedIndex].textContent);
      } catch (e) { err.textContent = e.message; err.hidden = false; }
    }));
    return h('div', h('p', { class: 'hint' }, t('wiz.segmentHint')), box, err, addBtn);
  }

  function listTab() {
    const ta = h('textarea', { rows: 8, placeholder: '+54 9 387 555 1234\n+52 55 1234 5678' });
    const f = field(t('wiz.pasteLabel'), ta, { name: 'phones', hint: t('wiz.pasteHint') });
    const consent = h('input', { type: 'checkbox', id: nextId('consent') });
    const addBtn = h('button', { type: 'button', class: 'btn btn-primary' }, t('wiz.addList'));
    const wrap = h('div', f.wrap,
      h('div', { class: 'check', dataset: { field: 'consent' } }, consent, h('label', { for: consent.id }, t('wiz.pasteConsent')),
        h('p', { class: 'field-error', role: 'alert', hidden: true })), addBtn);
    addBtn.addEventListener('click', () => busy(addBtn, async () => {
      clearErrors(wrap);
      const phones = ta.value.split(/[\n,;]+/).map((x) => x.trim()).filter(Boolean);
      if (!phones.length) return showFieldError(wrap, { field: 'phones', message: t('wiz.pasteEmpty') });
      if (!consent.checked) return showFieldError(wrap, { field: 'consent', message: t('wiz.pasteNeedConsent') });
      try {
        const r = await post(`/api/campaigns/${st.id}/recipients/list`, { phones });
        showReport(r, t('wiz.aList'));
        ta.value = '';
      } catch (e) { showFieldError(wrap, e, wrap.querySelector('.field-error')); }
    }));
    return wrap;
  }

  drawTabs();
  refresh();
  if (st.report) reportBox.replaceChildren(importReport(st.report, null, st.reportFile));
  const nav = navButtons(() => go(2), null);
  const form = h('form', { class: 'card wiz-step', novalidate: true },
    h('h2', t('wiz.s3')),
    h('p', { class: 'audience-total' }, t('wiz.audienceNow'), ' ', total, ' ', clearBtn), history,
    tablist, tabPanel, reportBox, formErr, nav.el);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    await refresh();
    if (!st.campaign.counters.total) { formErr.textContent = t('wiz.needRecipients'); formErr.hidden = false; return; }
    go(4);
  });
  panel.append(form);
}

function fileLabel(f) {
  return `${f.name} · ${num(Math.ceil(f.size / 1024))} KB`;
}

/** The validation report of an import: counts, rejected rows by reason and by line. */
export function importReport(r, what, file) {
  const rejected = Array.isArray(r.rejected) ? r.rejected : [];
  const byReason = r.rejected_by_reason || {};
  const nRejected = r.rejected_total ?? rejected.length;
  const reasonText = (code) => (has('reason.' + code) ? t('reason.' + code) : code);
  const dl = h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, t('report.download'));
  // The download carries each rejected row as it was in the file (the number as typed, the
  // name, every column) after the reason, so it can be fixed and uploaded again.
  dl.addEventListener('click', async () => {
    let orig = null;
    try { orig = await rowsAtLines(file, new Set(rejected.map((x) => x.line).filter(Boolean))); } catch { /* file gone */ }
    const lines = [csvLine(['line', 'reason', 'reason_text', 'message', ...(orig ? orig.header : [])])];
    for (const x of rejected) {
      lines.push(csvLine([x.line, x.reason, reasonText(x.reason), x.message, ...((orig && orig.byLine.get(x.line)) || [])]));
    }
    download('rechazados.csv', lines.join('\r\n') + '\r\n');
  });
  const SHOW = 50;
  const rowsBox = h('div');
  function drawRows(all) {
    const list = all ? rejected : rejected.slice(0, SHOW);
    rowsBox.replaceChildren(table([
      { label: t('report.line'), class: 'num', cell: (x) => String(x.line ?? '') },
      { label: t('report.reason'), cell: (x) => reasonText(x.reason) },
      { label: t('report.detail'), cell: (x) => x.message || '' },
    ], list, { caption: t('report.rejectedRows') }),
    !all && rejected.length > SHOW ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', on: { click: () => drawRows(true) } },
      t('report.showAll', { n: num(rejected.length) })) : null);
  }
  if (rejected.length) drawRows(false);
  return h('section', { class: 'report-card', 'aria-labelledby': 'report-h' },
    h('h3', { id: 'report-h' }, t('report.title'), what ? ` — ${what}` : ''),
    h('dl', { class: 'stats' },
      h('div', { class: 'stat' }, h('dt', t('report.rows')), h('dd', num(r.rows ?? (r.accepted ?? r.stored ?? 0) + nRejected))),
      h('div', { class: 'stat ok' }, h('dt', t('report.accepted')), h('dd', num(r.accepted ?? r.stored))),
      h('div', { class: ['stat', nRejected ? 'bad' : 'ok'] }, h('dt', t('report.rejected')), h('dd', num(nRejected)))),
    Object.keys(byReason).length ? h('div', h('h4', t('report.byReason')),
      h('ul', { class: 'reasons' }, Object.entries(byReason).sort((a, b) => b[1] - a[1]).map(([k, v]) =>
        h('li', h('span', { class: 'chip chip-bad' }, num(v)), ' ', reasonText(k))))) : null,
    rejected.length ? h('div', h('div', { class: 'row' }, h('h4', t('report.rejectedRows')), dl), rowsBox,
      r.rejected_truncated ? h('p', { class: 'hint' }, t('report.truncated')) : null) : null);
}

/* ---- step 4: pace ----------------------------------------------------------------------- */

function step4(panel, st, go, ctx) {
  const c = st.campaign;
  const acc = st.accounts.find((a) => a.id === c.account_id) || {};
  // A campaign still at the built-in pace (200, no interval, no cap) starts from the pace the
  // server suggests for this account's tier and quality (lib/account_health), and says why.
  const dp = acc.default_pace;
  const untouched = c.batch_size === 200 && !c.interval_ms && c.daily_cap == null && !st.paceSaved;
  const pace = dp && untouched ? dp : c;
  const batch = h('input', { type: 'number', min: 1, max: 1000, step: 1, value: pace.batch_size || 200, inputmode: 'numeric' });
  const interval = h('input', { type: 'number', min: 0, max: 3600, step: 0.1, value: (pace.interval_ms || 0) / 1000, inputmode: 'decimal' });
  const cap = h('input', { type: 'number', min: 1, step: 1, value: pace.daily_cap ?? '', inputmode: 'numeric', placeholder: t('wiz.noCap') });
  const why = dp ? h('p', { class: 'alert alert-info pace-why', role: 'note' }, paceWhy(acc, dp)) : null;
  // Over the account's frequency cap: wait until the person fits, or skip them.
  const freq = h('select', {}, ['wait', 'skip'].map((x) => h('option', { value: x, selected: (c.freq_cap_action || 'wait') === x }, t('wiz.freq.' + x))));
  const freqHint = acc.freq_cap_count > 0
    ? t('wiz.freqHint', { n: num(acc.freq_cap_count), hours: num(Math.round((acc.freq_cap_window_s || 86400) / 3600)) })
    : t('wiz.freqNone');
  const winOn = h('input', { type: 'checkbox', id: nextId('win'), checked: !!c.send_window });
  const hours = (sel) => h('select', {}, Array.from({ length: 24 }, (_, i) => h('option', { value: i, selected: i === sel }, `${String(i).padStart(2, '0')}:00`)));
  const ws = hours(c.send_window ? c.send_window.start : 9);
  const we = hours(c.send_window ? c.send_window.end : 20);
  const winBox = h('div', { class: 'inline-fields', hidden: !c.send_window },
    field(t('wiz.windowStart'), ws).wrap, field(t('wiz.windowEnd'), we).wrap,
    h('p', { class: 'hint' }, t('wiz.windowTz', { tz: acc.timezone || (c.send_window && c.send_window.timezone) || 'UTC' })));
  winOn.addEventListener('change', () => { winBox.hidden = !winOn.checked; });
  const whenName = nextId('when');
  const now = h('input', { type: 'radio', name: whenName, id: nextId('now'), value: 'now', checked: st.when === 'now' });
  const later = h('input', { type: 'radio', name: whenName, id: nextId('later'), value: 'at', checked: st.when === 'at' });
  const at = h('input', { type: 'datetime-local', value: st.at, step: 60 });
  const atField = field(t('wiz.at'), at, { name: 'at' });
  atField.wrap.hidden = st.when !== 'at';
  for (const r of [now, later]) r.addEventListener('change', () => { st.when = later.checked ? 'at' : 'now'; atField.wrap.hidden = st.when !== 'at'; });
  const ab = abEditor(c, st.templates);
  const estimate = h('p', { class: 'hint', 'aria-live': 'polite' });
  function est() {
    const total = c.counters.total || 0;
    const ms = Number(interval.value) * 1000;
    const rate = Math.min(acc.throughput_mps || 80, ms > 0 ? 1000 / ms : Infinity);
    estimate.textContent = t('wiz.paceEstimate', { rate: num(Math.round(rate * 60)), total: num(total), d: duration(total / rate) });
  }
  interval.addEventListener('input', est);
  est();
  const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
  const nav = navButtons(() => go(3), null);
  const form = h('form', { class: 'card wiz-step', novalidate: true },
    h('h2', t('wiz.s4')),
    h('p', { class: 'muted' }, t('wiz.paceIntro')),
    why,
    h('div', { class: 'inline-fields' },
      field(t('wiz.batch'), batch, { name: 'batch_size', hint: t('wiz.batchHint') }).wrap,
      field(t('wiz.interval'), interval, { name: 'interval_ms', hint: t('wiz.intervalHint') }).wrap,
      field(t('wiz.cap'), cap, { name: 'daily_cap', hint: t('wiz.capHint') }).wrap,
      field(t('wiz.freq'), freq, { name: 'freq_cap_action', hint: freqHint }).wrap),
    estimate,
    h('div', { class: 'check', dataset: { field: 'send_window' } }, winOn, h('label', { for: winOn.id }, t('wiz.window')),
      h('p', { class: 'field-error', role: 'alert', hidden: true })),
    winBox,
    ab.el,
    h('fieldset', { class: 'radios' }, h('legend', t('wiz.when')),
      h('div', { class: 'check' }, now, h('label', { for: now.id }, t('wiz.now'))),
      h('div', { class: 'check' }, later, h('label', { for: later.id }, t('wiz.later'))),
      atField.wrap),
    formErr, nav.el);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (st.when === 'at') {
      st.at = at.value;
      if (!at.value || new Date(at.value) <= new Date()) return showFieldError(form, { field: 'at', message: t('wiz.atFuture') });
    }
    const body = {
      batch_size: Number(batch.value),
      interval_ms: Math.round(Number(interval.value) * 1000),
      daily_cap: cap.value === '' ? null : Number(cap.value),
      send_window: winOn.checked ? { start: Number(ws.value), end: Number(we.value) } : null,
      freq_cap_action: freq.value,
      ...ab.value(),
    };
    await busy(nav.next, async () => {
      try {
        st.campaign = await patch(`/api/campaigns/${st.id}`, body);
        st.paceSaved = true;
        go(5);
      } catch (e) { showFieldError(form, e, formErr); }
    });
  });
  panel.append(form);
}

/** Why this pace: the account's tier (its daily budget) and Meta's quality rating. */
export function paceWhy(acc, dp) {
  const tier = acc.messaging_tier && has('tier.' + acc.messaging_tier) ? t('tier.' + acc.messaging_tier) : t('tier.TIER_250');
  const per = dp.interval_ms ? t('pace.perMin', { n: num(Math.round(60000 / dp.interval_ms)) }) : t('pace.fullRate');
  return t('pace.why', { tier, quality: t('pace.q.' + (dp.quality || 'unknown')), per }) +
    (dp.quality === 'high' ? '' : ' ' + t('pace.slower.' + (dp.quality || 'unknown')));
}

/* ---- step 5: preflight, test send, start ------------------------------------------------ */

function step5(panel, st, go, ctx) {
  const box = h('div', loading());
  const ack = h('input', { type: 'checkbox', id: nextId('ack') });
  const ackWrap = h('div', { class: 'check risk', dataset: { field: 'acknowledge_risk' } }, ack,
    h('label', { for: ack.id }, h('strong', t('wiz.ackTitle')), ' ', t('wiz.ackText')),
    h('p', { class: 'field-error', role: 'alert', hidden: true }));
  const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
  const label = st.when === 'at' && st.at ? t('wiz.schedule', { d: date(localToIso(st.at)) }) : t('wiz.startNow');
  const nav = navButtons(() => go(4), null, label);
  const testPhone = h('input', { type: 'tel', autocomplete: 'off', placeholder: '+54 9 387 555 1234' });
  const testBtn = h('button', { type: 'button', class: 'btn' }, t('wiz.testBtn'));
  const testOut = h('div', { 'aria-live': 'polite' });
  // Values for a number outside the list: the first recipient's (the server's default, and
  // what it says it used) or typed ones, prefilled with the file's first row.
  const cols = [...new Set(slotsOf(st.template).map((sl) => st.mapping[slotKey(sl)])
    .filter((m) => m && m.source !== 'fixed' && m.value).map((m) => m.value))];
  const valName = nextId('tv');
  const useFirst = h('input', { type: 'radio', name: valName, id: nextId('tvf'), value: 'first', checked: true });
  const useTyped = h('input', { type: 'radio', name: valName, id: nextId('tvt'), value: 'typed' });
  const typed = cols.map((c) => ({ c, input: h('input', { type: 'text', autocomplete: 'off', value: st.csvSample[c] || '' }) }));
  const typedBox = h('div', { class: 'inline-fields', hidden: true },
    typed.map((x) => field(t('wiz.testValueOf', { col: x.c }), x.input, { name: 'vars.' + x.c }).wrap));
  for (const r of [useFirst, useTyped]) r.addEventListener('change', () => { typedBox.hidden = !useTyped.checked; });
  const valuesBox = cols.length ? h('fieldset', { class: 'radios test-values' }, h('legend', t('wiz.testValues', { n: cols.length })),
    h('div', { class: 'check' }, useFirst, h('label', { for: useFirst.id }, t('wiz.testValuesFirst'))),
    h('div', { class: 'check' }, useTyped, h('label', { for: useTyped.id }, t('wiz.testValuesTyped'))),
    typedBox) : null;
  const testForm = h('div', { class: 'test-send' },
    h('h3', t('wiz.testTitle')), h('p', { class: 'hint' }, t('wiz.testHint')),
    h('div', { class: 'inline-fields' }, field(t('wiz.testPhone'), testPhone, { name: 'phone' }).wrap, h('div', { class: 'field' }, h('span', { class: 'label' }, '\u00a0'), testBtn)),
    valuesBox, testOut);
  testBtn.addEventListener('click', () => busy(testBtn, async () => {
    clearErrors(testForm);
    testOut.replaceChildren();
    if (!testPhone.value.trim()) return showFieldError(testForm, { field: 'phone', message: t('wiz.testNeedPhone') });
    try {
      const body = { phone: testPhone.value.trim() };
      if (valuesBox && useTyped.checked) body.vars = Object.fromEntries(typed.map((x) => [x.c, x.input.value]));
      const r = await post(`/api/campaigns/${st.id}/test`, body);
      testOut.replaceChildren(h('p', { class: 'alert alert-ok', role: 'status' }, t('wiz.testOk', { to: r.to || '' }),
        r.values_from ? h('span', { class: 'block small' }, t('wiz.testValuesFrom', { phone: r.values_from.phone })) : null,
        r.wamid ? h('code', { class: 'block small' }, r.wamid) : null));
    } catch (e) {
      const b = e.body && e.body.error && typeof e.body.error === 'object' && e.body.error.code !== undefined && e.body.accepted === false ? e.body.error : null;
      if (b) testOut.replaceChildren(h('p', { class: 'alert alert-error', role: 'alert' }, `${t('wiz.testFail')} ${b.code}: ${b.message || ''}`, h('span', { class: 'block' }, explain(b.code, b.explanation))));
      else showFieldError(testForm, e, testOut.appendChild(h('p', { class: 'alert alert-error', role: 'alert' })));
    }
  }));

  async function load() {
    try {
      const p = await post(`/api/campaigns/${st.id}/preflight`, {});
      box.replaceChildren(preflightView(p, st));
      nav.next.disabled = p.ok === false;
    } catch (e) { box.replaceChildren(errorBox(e)); }
  }
  load();
  const form = h('form', { class: 'card wiz-step', novalidate: true },
    h('h2', t('wiz.s5')), box, testForm, ackWrap, formErr, nav.el);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (!ack.checked) return showFieldError(form, { field: 'acknowledge_risk', message: t('wiz.ackNeeded') });
    await busy(nav.next, async () => {
      const body = { acknowledge_risk: true };
      if (st.when === 'at' && st.at) body.at = localToIso(st.at);
      try {
        await post(`/api/campaigns/${st.id}/start`, body);
        toast(body.at ? t('wiz.scheduled') : t('wiz.started'));
        ctx.navigate(`/campaigns/${st.id}`);
      } catch (e) {
        if (e.field === 'at') { go(4); toast(e.message, 'error'); return; }
        showFieldError(form, e, formErr);
      }
    });
  });
  panel.append(form);
}

export function preflightView(p, st) {
  const rc = p.recipients || {};
  const b = p.daily_budget || {};
  const e = p.estimate || {};
  const rej = p.rejected_rows || {};
  const tp = p.template || {};
  const warnText = (w) => w.message; // in the panel's language, from the server (lib/msgcat)
  return h('div', { class: 'preflight' },
    h('dl', { class: 'stats' },
      h('div', { class: 'stat ok' }, h('dt', t('pf.willSend')), h('dd', num(rc.will_send))),
      h('div', { class: 'stat' }, h('dt', t('pf.total')), h('dd', num(rc.total))),
      h('div', { class: ['stat', rej.total ? 'bad' : ''] }, h('dt', t('pf.rejected')), h('dd', num(rej.total || 0))),
      h('div', { class: ['stat', rc.opted_out_since_added ? 'bad' : ''] }, h('dt', t('pf.optedOut')), h('dd', num(rc.opted_out_since_added || 0))),
      rc.over_freq_cap ? h('div', { class: 'stat bad' }, h('dt', t('pf.overFreqCap')), h('dd', num(rc.over_freq_cap))) : null,
      h('div', { class: 'stat' }, h('dt', t('pf.eta')), h('dd', duration(e.seconds),
        e.days > 1 ? h('span', { class: 'block small' }, t('pf.days', { n: e.days })) : null)),
      h('div', { class: 'stat' }, h('dt', t('pf.budget')), h('dd',
        b.limit != null ? t('pf.budgetVal', { remaining: num(b.remaining), limit: num(b.limit) }) : t('tier.TIER_UNLIMITED'),
        h('span', { class: 'block small' }, [b.messaging_tier && b.limit != null ? t('tier.' + b.messaging_tier) : '',
          b.campaign_daily_cap ? t('pf.cap', { n: num(b.campaign_daily_cap) }) : ''].filter(Boolean).join(' · '))))),
    splitLine(p.ab_split),
    h('p', t('pf.template'), ' ', h('strong', `${tp.name || ''} (${tp.language || ''})`), ' ',
      tp.status ? statusChip(tp.status) : null, ' ',
      tp.params_ok ? h('span', { class: 'chip chip-ok' }, t('pf.paramsOk')) : h('span', { class: 'chip chip-bad' }, t('pf.paramsBad'))),
    Object.keys(rej.by_reason || {}).length ? h('p', { class: 'small' }, t('pf.rejectedBy'), ' ',
      Object.entries(rej.by_reason).map(([k, v]) => `${has('reason.' + k) ? t('reason.' + k) : k}: ${num(v)}`).join(' · ')) : null,
    (p.errors || []).length ? h('div', { class: 'alert alert-error', role: 'alert' }, h('h3', t('pf.errors')),
      h('ul', p.errors.map((x) => h('li', has('pferr.' + x.code) ? t('pferr.' + x.code) + ' — ' : '', x.message)))) : null,
    (p.warnings || []).length ? h('div', { class: 'alert alert-warn' }, h('h3', t('pf.warnings')),
      h('ul', p.warnings.map((w) => h('li', { class: w.code === 'blocking_risk' ? 'strong' : null }, warnText(w),
        null)))) : null);
}
