// Numbers, dates and durations in the panel's language.
import { locale, t } from './i18n.js';

export const num = (n) => (n == null || Number.isNaN(Number(n)) ? '—' :
  new Intl.NumberFormat(locale()).format(Number(n)));

export const pct = (part, total) => (total > 0 ? Math.round((1000 * part) / total) / 10 : 0);

export function date(iso, opts) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale(), opts || { dateStyle: 'short', timeStyle: 'short' }).format(d);
}

export function time(iso) {
  return date(iso, { hour: '2-digit', minute: '2-digit' });
}

export function duration(seconds) {
  if (seconds == null || !Number.isFinite(Number(seconds))) return '—';
  let s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return t('dur.s', { s });
  const m = Math.floor(s / 60);
  if (m < 60) return t('dur.m', { m, s: s % 60 });
  const hh = Math.floor(m / 60);
  if (hh < 48) return t('dur.h', { h: hh, m: m % 60 });
  return t('dur.d', { d: Math.floor(hh / 24), h: hh % 24 });
}

/** A local datetime-local value -> ISO 8601 with this browser's offset. */
export function localToIso(v) {
  if (!v) return null;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return null;
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  return `${v.length === 16 ? v + ':00' : v}${sign}${pad(off / 60)}:${pad(off % 60)}`;
}

