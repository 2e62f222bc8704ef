// Spanish first, English second: one dictionary per language in www/i18n/.
import es from '../i18n/es.js';
import en from '../i18n/en.js';

const dicts = { es, en };
const KEY = 'pregon.lang';
let lang = 'es';
try { lang = localStorage.getItem(KEY) === 'en' ? 'en' : 'es'; } catch { /* private mode */ }

export const getLang = () => lang;
export const locale = () => (lang === 'en' ? 'en-US' : 'es-AR');

export function setLang(l) {
  lang = l === 'en' ? 'en' : 'es';
  try { localStorage.setItem(KEY, lang); } catch { /* ignore */ }
  document.documentElement.lang = lang;
}

/** t('key', {n: 3}): the text in the current language, with {name} placeholders filled in. */
export function t(key, vars) {
  let s = dicts[lang][key];
  if (s === undefined) s = dicts.es[key];
  if (s === undefined) return key;
  if (typeof s === 'function') return s(vars || {});
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] !== undefined ? String(vars[k]) : m));
  return s;
}

/** Whether a key exists (for optional translations, e.g. error codes from the server). */
export const has = (key) => dicts[lang][key] !== undefined || dicts.es[key] !== undefined;

/** Static texts in index.html: data-i18n="key" (text) and data-i18n-label="key" (aria-label). */
export function translateStatic(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]'))
    el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  document.title = t('app.title');
}

/** The keys starting with prefix (e.g. 'action.'), for choices offered by their readable text. */
export const keysWith = (prefix) => Object.keys(dicts.es).filter((k) => k.startsWith(prefix));
