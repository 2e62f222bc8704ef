// Building the page without ever parsing server text as HTML: every string becomes a text node.
const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden' ||
             k === 'multiple' || k === 'required' || k === 'open') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function add(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** h('p', {class: 'x'}, 'text', child...): an element; strings are always text. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs && (attrs instanceof Node || typeof attrs !== 'object' || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  apply(el, attrs);
  add(el, children);
  return el;
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null) continue;
    if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, String(v));
  }
  add(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function clear(el) {
  el.replaceChildren();
  return el;
}

let uid = 0;
export const nextId = (p = 'f') => `${p}-${++uid}`;

/** A labelled form field: returns {wrap, input, error}. */
export function field(label, input, opts = {}) {
  if (!input.id) input.id = nextId('in');
  const err = h('p', { class: 'field-error', id: input.id + '-err', role: 'alert', hidden: true });
  const hint = opts.hint ? h('p', { class: 'hint', id: input.id + '-hint' }, opts.hint) : null;
  const desc = [hint && hint.id, err.id].filter(Boolean).join(' ');
  input.setAttribute('aria-describedby', desc);
  if (opts.name) input.name = opts.name;
  const wrap = h('div', { class: ['field', opts.class], dataset: { field: opts.name || '' } },
    h('label', { for: input.id }, label), input, hint, err);
  return { wrap, input, error: err };
}

/** Shows an API error next to the input of the field it names (data-field), else in `fallback`. */
export function showFieldError(form, err, fallback) {
  clearErrors(form);
  const name = err && err.field ? String(err.field) : '';
  let target = null;
  if (name) {
    const candidates = [name, name.split(/[.[]/)[0]];
    for (const c of candidates) {
      target = form.querySelector(`[data-field="${CSS.escape(c)}"]`);
      if (target) break;
    }
  }
  const msg = err && err.message ? err.message : String(err);
  if (target) {
    const p = target.querySelector('.field-error');
    const input = target.querySelector('input, select, textarea');
    if (p) { p.textContent = msg; p.hidden = false; }
    if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); }
    return true;
  }
  if (fallback) {
    fallback.textContent = msg;
    fallback.hidden = false;
  }
  return false;
}

export function clearErrors(root) {
  for (const p of root.querySelectorAll('.field-error')) { p.hidden = true; p.textContent = ''; }
  for (const i of root.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
  for (const p of root.querySelectorAll('.form-error')) { p.hidden = true; p.textContent = ''; }
}

export function download(name, text, type = 'text/csv;charset=utf-8') {
  const blob = new Blob(['\ufeff' + text], { type });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(url); a.remove(); }, 1000);
}

export function csvLine(values) {
  return values.map((v) => {
    const t = v == null ? '' : String(v);
    return /[",;\n\r]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t;
  }).join(',');
}

// append()/replaceChildren() of the panel skip null and false (optional parts of a view) and
// flatten arrays, so views can write `el.replaceChildren(a, cond ? b : null)`.
for (const proto of [Element.prototype, DocumentFragment.prototype]) {
  for (const name of ['append', 'replaceChildren']) {
    const orig = proto[name];
    proto[name] = function (...nodes) {
      return orig.apply(this, nodes.flat(Infinity).filter((n) => n != null && n !== false));
    };
  }
}
