// A template preview drawn like a WhatsApp message bubble. Every text is inserted as text;
// WhatsApp's *bold*, _italic_, ~strike~ and ```mono``` become elements, never parsed HTML.
import { h } from './dom.js';
import { t } from './i18n.js';

const MARKS = [['```', 'code'], ['*', 'strong'], ['_', 'em'], ['~', 's']];

export function waText(text) {
  const out = [];
  let rest = String(text || '');
  while (rest.length) {
    let best = null;
    for (const [m, tag] of MARKS) {
      const i = rest.indexOf(m);
      if (i < 0) continue;
      const j = rest.indexOf(m, i + m.length);
      if (j < 0 || j === i + m.length) continue;
      if (!best || i < best.i) best = { i, j, m, tag };
    }
    if (!best) { out.push(rest); break; }
    if (best.i) out.push(rest.slice(0, best.i));
    out.push(h(best.tag, rest.slice(best.i + best.m.length, best.j)));
    rest = rest.slice(best.j + best.m.length);
  }
  return out;
}

/** p: {header_format, header, body, footer, buttons:[{text,url}]} from the preview endpoint. */
export function bubble(p, opts = {}) {
  const fmt = String(p.header_format || '').toLowerCase();
  let header = null;
  if (fmt && fmt !== 'text') {
    header = h('div', { class: 'wa-media' }, h('span', { 'aria-hidden': 'true' }, fmt === 'image' ? '🖼' : fmt === 'video' ? '🎬' : '📄'),
      ' ', t('preview.media.' + fmt) !== 'preview.media.' + fmt ? t('preview.media.' + fmt) : fmt.toUpperCase());
  } else if (p.header) {
    header = h('div', { class: 'wa-header' }, waText(p.header));
  }
  const buttons = (p.buttons || []).filter((b) => b && b.text);
  const now = new Date();
  const clock = `${String(now.getHours()).padStart(2, '0')}:${String(now.getMinutes()).padStart(2, '0')}`;
  return h('figure', { class: 'wa-chat', 'aria-label': opts.label || t('preview.aria') },
    h('div', { class: 'wa-bubble' },
      header,
      h('div', { class: 'wa-body' }, waText(p.body)),
      p.footer ? h('div', { class: 'wa-footer' }, p.footer) : null,
      h('div', { class: 'wa-meta', 'aria-hidden': 'true' }, clock, ' ✓✓')),
    buttons.length ? h('div', { class: 'wa-buttons' }, buttons.map((b) =>
      h('span', { class: 'wa-button', title: b.url || '' }, b.url ? '↗ ' : '↩ ', b.text))) : null);
}
