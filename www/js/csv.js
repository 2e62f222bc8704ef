// Reading CSV files in the browser: the first rows, to offer a file's columns for the parameter
// mapping and a sample row for the preview; and the rows the server rejected, by line, for the
// rejected-rows download. The server parses and checks the whole file.
import { t } from './i18n.js';

/** Parses text into rows (handles quotes, "" escapes, CRLF, ',' ';' or TAB). `lines` holds
 * the line each row starts on (1 = the header), as the server counts them. */
export function parseCsv(text, maxRows = 3) {
  let s = text.replace(/^\ufeff/, '');
  const firstLine = s.split(/\r?\n/, 1)[0] || '';
  const count = (c) => firstLine.split(c).length - 1;
  const sep = [';', '\t'].reduce((best, c) => (count(c) > count(best) ? c : best), ',');
  const rows = [], lines = [];
  let row = [], cur = '', q = false, i = 0, line = 1, start = 1;
  for (; i < s.length && rows.length < maxRows; i++) {
    const c = s[i];
    if (q) {
      if (c === '"') { if (s[i + 1] === '"') { cur += '"'; i++; } else q = false; }
      else { if (c === '\n') line++; cur += c; }
    } else if (c === '"' && cur === '') q = true;
    else if (c === sep) { row.push(cur); cur = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      row.push(cur); cur = '';
      if (row.length > 1 || row[0] !== '') { rows.push(row); lines.push(start); }
      row = [];
      line++;
      start = line;
    } else cur += c;
  }
  if (rows.length < maxRows && (cur !== '' || row.length)) { row.push(cur); rows.push(row); lines.push(start); }
  return { sep, rows, lines };
}

/** Whether text read from a file is no CSV: NUL or other control bytes, or bytes that are not
 * UTF-8 (decoded as U+FFFD) in its first line, as in a spreadsheet, image or zip. */
export function looksBinary(text) {
  const head = text.slice(0, 4096);
  const first = head.split(/\r?\n/, 1)[0] || '';
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]/.test(first) || head.includes('\u0000');
}

/** The header and the first data row of a File, as {columns, sample, headerOnly}. Throws an
 * Error with a message for the operator when the file is no CSV text. */
export async function peekCsv(file) {
  const text = await file.slice(0, 256 * 1024).text();
  if (looksBinary(text)) throw new Error(t('csv.binary', { file: file.name }));
  const { rows } = parseCsv(text, 2);
  const columns = (rows[0] || []).map((c) => c.trim()).filter(Boolean);
  if (!columns.length) throw new Error(t('csv.empty', { file: file.name }));
  const sample = {};
  (rows[0] || []).forEach((c, i) => { if (rows[1] && rows[1][i] != null) sample[c.trim()] = rows[1][i]; });
  return { columns, sample, headerOnly: rows.length < 2 };
}

/** The original rows of a file for the given line numbers: {header, byLine: Map(line -> cells)}.
 * Files over maxBytes are not read (null): the download then has the server's columns only. */
export async function rowsAtLines(file, wanted, maxBytes = 50 * 1024 * 1024) {
  if (!file || file.size > maxBytes || !wanted.size) return null;
  const { rows, lines } = parseCsv(await file.text(), Infinity);
  const byLine = new Map();
  for (let k = 1; k < rows.length; k++) if (wanted.has(lines[k])) byLine.set(lines[k], rows[k]);
  return { header: rows[0] || [], byLine };
}
