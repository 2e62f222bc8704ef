// Reading the first rows of a CSV file in the browser: enough to offer its columns for the
// parameter mapping and a sample row for the preview. The server parses the whole file.

/** Parses text into rows (handles quotes, "" escapes, CRLF, ',' or ';'). */
export function parseCsv(text, maxRows = 3) {
  let s = text.replace(/^\ufeff/, '');
  const firstLine = s.split(/\r?\n/, 1)[0] || '';
  const sep = (firstLine.match(/;/g) || []).length > (firstLine.match(/,/g) || []).length ? ';' : ',';
  const rows = [];
  let row = [], cur = '', q = false, i = 0;
  for (; i < s.length && rows.length < maxRows; i++) {
    const c = s[i];
    if (q) {
      if (c === '"') { if (s[i + 1] === '"') { cur += '"'; i++; } else q = false; }
      else cur += c;
    } else if (c === '"' && cur === '') q = true;
    else if (c === sep) { row.push(cur); cur = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      row.push(cur); cur = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else cur += c;
  }
  if (rows.length < maxRows && (cur !== '' || row.length)) { row.push(cur); rows.push(row); }
  return { sep, rows };
}

/** The header and the first data row of a File, as {columns, sample}. */
export async function peekCsv(file) {
  const text = await file.slice(0, 256 * 1024).text();
  const { rows } = parseCsv(text, 2);
  const columns = (rows[0] || []).map((c) => c.trim()).filter(Boolean);
  const sample = {};
  (rows[0] || []).forEach((c, i) => { if (rows[1] && rows[1][i] != null) sample[c.trim()] = rows[1][i]; });
  return { columns, sample };
}
