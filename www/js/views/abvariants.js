// A/B variants with a holdout (docs/api.md, A/B variants): the editor in the campaign wizard
// (each variant's template, mapping and share; the holdout) and the per-variant stats on the
// campaign page, with an inline SVG bar chart of the rates and their 95 % intervals.
import { h, field, nextId } from '../dom.js';
import { get } from '../api.js';
import { t, getLang } from '../i18n.js';
import { num } from '../format.js';
import { table, errorBox, busy } from '../ui.js';
import { slotsOf, mappingToParams } from '../mapping.js';

const MAX = 4;
const METRICS = ['delivered', 'read', 'replied', 'clicked', 'opted_out'];

function slotName(sl) {
  return sl.component === 'button' ? `button ${sl.index}` : `${sl.component} {{${sl.name || 'media'}}}`;
}

/** A variant's mapping as the API takes it (../mapping.js), from {slot name: {source, value}}. */
function toParams(tpl, map) {
  return mappingToParams(tpl, map, slotName);
}

/** What a stored variant's params say for each slot of its template. */
function fromParams(tpl, p) {
  const map = {};
  for (const sl of slotsOf(tpl)) {
    let sec = sl.component === 'button' ? (p.buttons || {}) : (p[sl.component] || {});
    let v = sl.component === 'button' ? sec[String(sl.index)] : sec[sl.name || 'media'];
    if (v === undefined && Array.isArray(sec)) v = sec[Number(sl.name) - 1];
    if (v && typeof v === 'object' && v.column != null) map[slotName(sl)] = { source: 'column', value: v.column };
    else map[slotName(sl)] = { source: 'fixed', value: typeof v === 'string' ? v : (v && v.value) || '' };
  }
  return map;
}

/**
 * The wizard's A/B editor for campaign c (templates: the account's usable ones). value()
 * gives the members of the edit: {variants, holdout_pct}, or {variants: null} when off.
 */
export function abEditor(c, templates) {
  const has = Array.isArray(c.variants) && c.variants.length > 0;
  const on = h('input', { type: 'checkbox', id: nextId('ab'), checked: has });
  const key = (tp) => `${tp.name}|${tp.language}`;
  const usable = templates.filter((tp) => !c.account_id || !tp.account_id || tp.account_id === c.account_id);
  const find = (name, lang) => usable.find((tp) => tp.name === name && tp.language === lang);
  let vars = has ? c.variants.map((v) => {
    const tpl = find(v.template_name, v.template_language);
    return { tpl, share: v.share, map: fromParams(tpl, v.params || {}) };
  }) : [];
  const holdout = h('input', { type: 'number', min: 0, max: 50, step: 1, value: has ? c.holdout_pct : 10, inputmode: 'numeric' });
  const rows = h('div', { class: 'ab-rows' });
  const sum = h('p', { class: 'hint', 'aria-live': 'polite' });
  const addBtn = h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, t('ab.add'));
  const box = h('div', { class: 'ab-box', hidden: !has });

  function fresh() {
    const tpl = find(c.template.name, c.template.language) || usable[0];
    return { tpl, share: 0, map: {} };
  }
  function even() {
    const left = 100 - (Number(holdout.value) || 0);
    vars.forEach((v, i) => { v.share = Math.floor(left / vars.length) + (i < left % vars.length ? 1 : 0); });
  }
  function total() {
    return vars.reduce((a, v) => a + (Number(v.share) || 0), 0) + (Number(holdout.value) || 0);
  }
  function drawSum() {
    const n = total();
    sum.textContent = t('ab.sum', { n });
    sum.className = n === 100 ? 'hint' : 'hint field-error-text';
  }
  function draw() {
    rows.replaceChildren(...vars.map((v, i) => {
      const sel = h('select', {}, usable.map((tp) => h('option', { value: key(tp), selected: v.tpl && key(v.tpl) === key(tp) }, `${tp.name} (${tp.language})`)));
      sel.addEventListener('change', () => { v.tpl = usable.find((tp) => key(tp) === sel.value); v.map = {}; draw(); });
      const share = h('input', { type: 'number', min: 1, max: 100, step: 1, value: v.share, inputmode: 'numeric' });
      share.addEventListener('input', () => { v.share = Number(share.value); drawSum(); });
      const rm = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', disabled: vars.length <= 2 }, t('ab.remove'));
      rm.addEventListener('click', () => { vars.splice(i, 1); draw(); });
      const slots = slotsOf(v.tpl).map((sl) => {
        const k = slotName(sl);
        const m = v.map[k] = v.map[k] || { source: 'column', value: '' };
        const src = h('select', {},
          h('option', { value: 'column', selected: m.source === 'column' }, t('wiz.srcColumn')),
          h('option', { value: 'fixed', selected: m.source === 'fixed' }, t('wiz.srcFixed')));
        const val = h('input', { type: 'text', value: m.value, autocomplete: 'off', placeholder: m.source === 'column' ? t('wiz.columnPh') : t('wiz.fixedPh') });
        src.addEventListener('change', () => { m.source = src.value; });
        val.addEventListener('input', () => { m.value = val.value; });
        return h('div', { class: 'inline-fields' }, field(slotName(sl), src).wrap, field(t('wiz.value'), val).wrap);
      });
      return h('fieldset', { class: 'map-row ab-variant', dataset: { field: `variants[${i}]` } },
        h('legend', t('ab.variant', { n: i + 1 })),
        h('div', { class: 'inline-fields' }, field(t('ab.template'), sel, { name: `variants[${i}].template_name` }).wrap,
          field(t('ab.share'), share, { name: `variants[${i}].share` }).wrap, rm),
        ...slots,
        h('p', { class: 'field-error', role: 'alert', hidden: true }));
    }));
    addBtn.disabled = vars.length >= MAX;
    drawSum();
  }
  on.addEventListener('change', () => {
    box.hidden = !on.checked;
    if (on.checked && vars.length < 2) { vars = [fresh(), fresh()]; even(); draw(); }
  });
  addBtn.addEventListener('click', () => { if (vars.length < MAX) { vars.push(fresh()); even(); draw(); } });
  holdout.addEventListener('input', drawSum);
  draw();
  box.append(rows, h('div', { class: 'inline-fields' }, addBtn,
    field(t('ab.holdout'), holdout, { name: 'holdout_pct', hint: t('ab.holdoutHint') }).wrap), sum);
  const el = h('fieldset', { class: 'ab-editor', dataset: { field: 'variants' } },
    h('legend', t('ab.title')),
    h('div', { class: 'check' }, on, h('label', { for: on.id }, t('ab.enable'))),
    h('p', { class: 'hint' }, t('ab.intro')),
    h('p', { class: 'field-error', role: 'alert', hidden: true }),
    box);
  return {
    el,
    value() {
      if (!on.checked) return has ? { variants: null } : {};
      return {
        variants: vars.map((v) => ({
          template_name: v.tpl ? v.tpl.name : '', template_language: v.tpl ? v.tpl.language : '',
          params: toParams(v.tpl, v.map), share: Number(v.share),
        })),
        holdout_pct: Number(holdout.value) || 0,
      };
    },
  };
}

/** The preflight's split, as one line. */
export function splitLine(split) {
  if (!split) return null;
  const parts = split.variants.map((v) => t('ab.splitVariant', { n: v.variant, name: v.template_name, share: v.share, count: num(v.expected) }));
  parts.push(t('ab.splitHoldout', { share: split.holdout.share, count: num(split.holdout.expected) }));
  return h('p', { class: 'ab-split' }, h('strong', t('ab.split')), ' ', parts.join(' · '));
}

const one = (x) => (x * 100).toLocaleString(getLang(), { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const pctText = (x) => (x == null ? '—' : `${one(x)} %`);
const ciText = (r) => (r.rate == null ? '' : ` [${one(r.ci_low)}–${one(r.ci_high)}]`);

/** Bars of each variant's rate of one metric with the interval as error bars (inline SVG). */
function chart(groups) {
  const W = 640, rowH = 18, pad = 220, gap = 10;
  const lines = [];
  for (const g of groups) for (const b of g.bars) lines.push({ g, b });
  const H = lines.length * rowH + groups.length * gap + 24;
  const x = (v) => pad + v * (W - pad - 20);
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'ab-chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t('ab.chartLabel'));
  const el = (name, attrs, text) => {
    const e = document.createElementNS('http://www.w3.org/2000/svg', name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  let y = 4;
  for (const g of groups) {
    for (const b of g.bars) {
      el('text', { x: 4, y: y + 13, class: 'ab-label' }, `${g.label} · ${b.label}`);
      if (b.rate != null) {
        el('rect', { x: pad, y: y + 3, width: Math.max(1, x(b.rate) - pad), height: rowH - 6, class: `ab-bar ab-bar-${b.k}` });
        el('line', { x1: x(b.lo), x2: x(b.hi), y1: y + rowH / 2, y2: y + rowH / 2, class: 'ab-ci' });
        el('line', { x1: x(b.lo), x2: x(b.lo), y1: y + 4, y2: y + rowH - 4, class: 'ab-ci' });
        el('line', { x1: x(b.hi), x2: x(b.hi), y1: y + 4, y2: y + rowH - 4, class: 'ab-ci' });
      }
      y += rowH;
    }
    y += gap;
  }
  for (const v of [0, 0.5, 1]) el('text', { x: x(v), y: H - 4, class: 'ab-axis', 'text-anchor': 'middle' }, `${v * 100} %`);
  return svg;
}

/** The campaign page's A/B card: loads GET /api/campaigns/{id}/variants into box. */
export async function loadVariantStats(box, id) {
  const title = h('h2', { id: 'ab-h' }, t('ab.statsTitle'));
  const reload = h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, t('cost.reload'));
  reload.addEventListener('click', () => busy(reload, () => loadVariantStats(box, id)));
  try {
    const r = await get(`/api/campaigns/${id}/variants`);
    const vs = r.variants || [];
    const hold = r.holdout;
    const rate = (x) => `${pctText(x.rate)}${ciText(x)}`;
    const rows = vs.map((v) => ({ ...v, name: t('ab.variant', { n: v.variant }) }));
    const tbl = table([
      { label: t('ab.variantCol'), cell: (v) => v.name },
      { label: t('ab.template'), cell: (v) => v.template_name },
      { label: t('ab.share'), class: 'num', cell: (v) => `${v.share} %` },
      { label: t('count.sent'), class: 'num', cell: (v) => num(v.sent) },
      ...METRICS.map((m) => ({ label: t('ab.m.' + m), class: 'num', cell: (v) => `${num(v[m].count)} · ${rate(v[m])}` })),
    ], rows, { caption: t('ab.statsTitle') });
    const groups = vs.map((v) => ({
      label: t('ab.variant', { n: v.variant }),
      bars: ['delivered', 'read', 'replied', 'clicked'].map((k) => ({ k, label: t('ab.m.' + k), rate: v[k].rate, lo: v[k].ci_low, hi: v[k].ci_high })),
    }));
    if (hold) groups.push({ label: t('ab.holdoutName'), bars: [{ k: 'replied', label: t('ab.m.replied'), rate: hold.replied.rate, lo: hold.replied.ci_low, hi: hold.replied.ci_high }] });
    box.replaceChildren(title,
      h('p', { class: 'muted' }, t('ab.statsIntro')),
      tbl,
      hold ? h('p', { class: 'ab-baseline' }, t('ab.baseline', { pct: r.holdout_pct, n: num(hold.recipients), replied: num(hold.replied.count), rate: rate(hold.replied) })) : null,
      chart(groups),
      h('div', { class: 'actions' }, reload,
        h('a', { class: 'btn btn-ghost btn-sm', href: `/api/campaigns/${id}/holdout.csv`, download: `campania-${id}-control.csv` }, t('ab.exportHoldout'))));
  } catch (e) {
    box.replaceChildren(title, errorBox(e), h('div', { class: 'actions' }, reload));
  }
}
