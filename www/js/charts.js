// Small hand-drawn SVG charts: the funnel and messages per minute.
import { h, s } from './dom.js';
import { num } from './format.js';
import { t, locale } from './i18n.js';

/** Horizontal funnel: steps [{key, label, value, percent}] against the first step's value. */
export function funnel(steps) {
  const max = Math.max(1, ...steps.map((x) => Number(x.value) || 0));
  const rowH = 34, labelW = 110, w = 520, barW = w - labelW - 90;
  const svg = s('svg', {
    class: 'chart funnel', viewBox: `0 0 ${w} ${steps.length * rowH + 6}`, role: 'img',
    'aria-label': t('chart.funnel') + ': ' + steps.map((x) => `${x.label} ${num(x.value)}`).join(', '),
  });
  steps.forEach((x, i) => {
    const y = i * rowH + 4;
    const v = Number(x.value) || 0;
    const bw = Math.max(v > 0 ? 2 : 0, (barW * v) / max);
    // The step's share of the total, as the server computed it (the header shows the same).
    const rate = i > 0 && x.percent != null ? ` · ${x.percent}%` : '';
    svg.append(
      s('text', { x: 0, y: y + 19, class: 'c-label', text: x.label }),
      s('rect', { x: labelW, y, width: barW, height: 26, rx: 4, class: 'c-track' }),
      s('rect', { x: labelW, y, width: bw, height: 26, rx: 4, class: 'c-bar c-' + x.key }),
      s('text', { x: labelW + barW + 8, y: y + 19, class: 'c-value', text: num(v) + rate }));
  });
  return svg;
}

/** Vertical bars per minute: points [{minute, sent, failed}] (failed stacked on top). */
export function perMinute(points) {
  const w = 560, hgt = 180, padL = 36, padB = 26, padT = 8;
  const pts = points.slice(-60);
  const max = Math.max(1, ...pts.map((p) => (Number(p.sent) || 0) + (Number(p.failed) || 0)));
  const svg = s('svg', {
    class: 'chart per-minute', viewBox: `0 0 ${w} ${hgt}`, role: 'img',
    'aria-label': t('chart.perMinute') + ': ' + (pts.length ?
      t('chart.perMinuteSummary', { n: pts.length, max: num(max) }) : t('chart.noData')),
  });
  const plotW = w - padL - 6, plotH = hgt - padB - padT;
  for (const f of max >= 4 ? [0, 0.5, 1] : [0, 1]) {
    const y = padT + plotH - f * plotH;
    svg.append(s('line', { x1: padL, x2: w - 6, y1: y, y2: y, class: 'c-grid' }),
      s('text', { x: padL - 4, y: y + 4, class: 'c-axis', 'text-anchor': 'end', text: num(Math.round(max * f)) }));
  }
  if (!pts.length) {
    svg.append(s('text', { x: w / 2, y: hgt / 2, class: 'c-axis', 'text-anchor': 'middle', text: t('chart.noData') }));
    return svg;
  }
  const bw = Math.min(plotW / pts.length, 40);
  pts.forEach((p, i) => {
    const sent = Number(p.sent) || 0, failed = Number(p.failed) || 0;
    const x = padL + i * bw + bw * 0.1;
    const hs = (plotH * sent) / max, hf = (plotH * failed) / max;
    const label = `${shortMinute(p.minute)}: ${num(sent)} ${t('count.sent').toLowerCase()}, ${num(failed)} ${t('count.failed').toLowerCase()}`;
    const g = s('g', {}, s('title', { text: label }));
    g.append(s('rect', { x, y: padT + plotH - hs, width: Math.max(1, bw * 0.8), height: hs, class: 'c-bar c-sent' }));
    if (failed) g.append(s('rect', { x, y: padT + plotH - hs - hf, width: Math.max(1, bw * 0.8), height: hf, class: 'c-bar c-failed' }));
    svg.append(g);
  });
  const first = pts[0], last = pts[pts.length - 1];
  svg.append(s('text', { x: padL, y: hgt - 6, class: 'c-axis', text: shortMinute(first.minute) }),
    s('text', { x: w - 6, y: hgt - 6, class: 'c-axis', 'text-anchor': 'end', text: shortMinute(last.minute) }));
  return svg;
}

function shortMinute(m) {
  if (!m) return '';
  const d = new Date(String(m).includes('T') ? m : String(m).replace(' ', 'T') + 'Z');
  if (Number.isNaN(d.getTime())) return String(m).slice(11, 16);
  return d.toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' });
}

export function legend(items) {
  return h('ul', { class: 'legend' }, items.map(([cls, label]) =>
    h('li', h('span', { class: 'sw ' + cls }), label)));
}
