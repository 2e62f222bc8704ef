// The one way the panel talks to the JSON API: same-origin cookies, the CSRF token on every
// state-changing request, and errors as ApiError {status, code, message, field}.
import { getLang, t } from './i18n.js';

let csrf = null;
export function setCsrf(token) { csrf = token || null; }

export class ApiError extends Error {
  constructor(status, code, message, field, body) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || 'http_' + status;
    this.field = field || null;
    this.body = body || null;
  }
}

function isRaw(body) {
  return typeof body === 'string' || body instanceof Blob || body instanceof ArrayBuffer ||
    body instanceof FormData;
}

async function parse(res) {
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  if (type.includes('json')) {
    try { return await res.json(); } catch { return null; }
  }
  const text = await res.text();
  // Error pages of the web server itself (Apache's ErrorDocument 413) carry our JSON error
  // under another content type.
  if (text.startsWith('{"error"')) {
    try { return JSON.parse(text); } catch { /* text */ }
  }
  return text;
}

function toError(status, body) {
  const e = body && typeof body === 'object' && body.error;
  if (e && typeof e === 'object') {
    // The server answers in the panel's language (Accept-Language, lib/msgcat): its words.
    const msg = e.message || t('err.generic');
    return new ApiError(status, e.code, msg, e.field, body);
  }
  return new ApiError(status, 'http_' + status, typeof body === 'string' && body.length < 300 ?
    body : `HTTP ${status}`, null, body);
}

// One request at a time. The FastCGI processes each serve one nginx connection at a time
// (nginx keeps them open), so a burst of parallel requests from one page can wait behind
// idle kept-alive connections; queueing them keeps the panel responsive on small servers.
let queue = Promise.resolve();
function serial(fn) {
  const run = queue.then(fn, fn);
  queue = run.catch(() => {});
  return run;
}

/** api('GET', '/api/campaigns') -> parsed JSON; throws ApiError. */
export function api(method, path, body, opts = {}) {
  return serial(() => request(method, path, body, opts));
}

async function request(method, path, body, opts) {
  const headers = { Accept: 'application/json', 'Accept-Language': getLang(), ...(opts.headers || {}) };
  let data;
  if (body !== undefined && body !== null) {
    if (isRaw(body)) data = body;
    else { data = JSON.stringify(body); headers['Content-Type'] = 'application/json'; }
  }
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), opts.timeout || 60000);
  if (opts.signal) opts.signal.addEventListener('abort', () => ctl.abort());
  try {
    res = await fetch(path, { method, headers, body: data, credentials: 'same-origin',
      cache: 'no-store', signal: ctl.signal });
  } catch (e) {
    if (opts.signal && opts.signal.aborted) throw e;
    throw new ApiError(0, 'network', null);
  } finally {
    clearTimeout(timer);
  }
  const out = await parse(res);
  if (!res.ok) {
    const err = toError(res.status, out);
    if (res.status === 401 && !opts.noAuthRedirect)
      window.dispatchEvent(new CustomEvent('pregon:unauthenticated'));
    throw err;
  }
  return out;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body === undefined ? {} : body, opts);
export const patch = (path, body, opts) => api('PATCH', path, body, opts);
export const del = (path, body, opts) => api('DELETE', path, body, opts);

/** A raw upload with progress (XMLHttpRequest: fetch has no upload progress). */
export function upload(path, file, contentType, onProgress) {
  return serial(() => new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', path);
    x.setRequestHeader('Content-Type', contentType);
    x.setRequestHeader('Accept', 'application/json');
    x.setRequestHeader('Accept-Language', getLang());
    if (csrf) x.setRequestHeader('X-CSRF-Token', csrf);
    x.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
    x.onerror = () => reject(new ApiError(0, 'network', null));
    x.onload = () => {
      let body = x.responseText;
      try { body = JSON.parse(x.responseText); } catch { /* text */ }
      if (x.status >= 200 && x.status < 300) resolve(body);
      else {
        if (x.status === 401) window.dispatchEvent(new CustomEvent('pregon:unauthenticated'));
        reject(toError(x.status, body));
      }
    };
    x.send(file);
  }));
}

/**
 * A CSV sent in pieces of the server's chunk_bytes (64 KiB) to an upload session under `base`
 * (`/api/campaigns/{id}/uploads` for an audience, `/api/contacts/uploads` for the contacts
 * book); the server puts it together and imports it as one upload, `finish` (an object) being
 * the query parameters the one-shot import takes. Every request stays well under shared hosts'
 * request limits (mod_fcgid: 128 KiB). Resolves to the import's answer.
 */
export async function uploadChunked(base, file, finish, onProgress) {
  const s = await api('POST', base, {});
  const size = s.chunk_bytes || 65536;
  let off = 0;
  while (off < file.size) {
    const r = await api('POST', `${base}/chunk` + qs({ upload: s.upload, offset: off }),
      file.slice(off, off + size), { timeout: 120000 });
    off = r.received;
    if (onProgress) onProgress(off / file.size);
  }
  return api('POST', `${base}/finish` + qs({ ...finish, upload: s.upload }), undefined,
    { timeout: 600000 });
}

/** Files above this go through uploadChunked: one request stays under any host's limit. */
export const CHUNKED_ABOVE = 64 * 1024;

/** Builds a query string, leaving out empty values. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== '' && v != null) u.set(k, v);
  const t = u.toString();
  return t ? '?' + t : '';
}

/** The items and next cursor of a list answer, whatever the list is called. */
export function listOf(body, ...names) {
  if (Array.isArray(body)) return body;
  for (const n of names) if (body && Array.isArray(body[n])) return body[n];
  for (const v of Object.values(body || {})) if (Array.isArray(v)) return v;
  return [];
}
export function cursorOf(body) {
  if (!body || typeof body !== 'object') return null;
  const keys = { next_before: 'before', next_after: 'after', next_cursor: 'cursor', next: 'cursor' };
  for (const [k, param] of Object.entries(keys))
    if (body[k] != null && typeof body[k] !== 'object') return { key: param, value: body[k] };
  return null;
}
