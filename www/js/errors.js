// Plain-language explanations of Meta's error codes and what to do. The texts are generated
// from the one table in lib/errcodes.c (www/js/errcodes.js, written by `make`): never copied.
import { getLang } from './i18n.js';
import TABLE from './errcodes.js';

/** The row of a Cloud API error code (code, range of codes), or undefined. */
export function errorCode(code) {
  if (code === null || code === undefined || code === '') return undefined;
  const n = Number(code);
  if (!Number.isInteger(n)) return undefined;
  return TABLE.codes.find((c) => n >= c.lo && n <= c.hi);
}

/** The explanation of a Cloud API error code in the panel's language. */
export function explain(code, serverText) {
  const l = getLang();
  const e = errorCode(code);
  if (e) return e[l];
  return serverText || TABLE.unknown[l];
}

/** A text of the server's catalogue (lib/msgcat.c, generated into errcodes.js) in the panel's
 * language, {name} filled from params: the same words the API answers with. */
export function message(key, params) {
  const m = TABLE.messages && TABLE.messages[key];
  if (!m) return key;
  return m[getLang()].replace(/\{([a-z_][a-z0-9_]*)\}/g, (s, k) => {
    const v = params ? params[k] : null;
    if (v == null) return s;
    // {"key": k, "params": {..}}: the text of k (a campaign state's name), as lib/msgcat does
    if (typeof v === 'object' && typeof v.key === 'string') return message(v.key, v.params);
    return String(v);
  });
}
