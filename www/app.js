// Pregón admin panel: the shell, the router and the signed-in user. No build step: plain
// JavaScript modules. Every text that comes from the server is inserted as text, never HTML.
import { h, $, clear } from './js/dom.js';
import { api, del, setCsrf } from './js/api.js';
import { t, setLang, getLang, translateStatic } from './js/i18n.js';
import * as login from './js/views/login.js';
import * as dashboard from './js/views/dashboard.js';
import * as campaigns from './js/views/campaigns.js';
import * as wizard from './js/views/wizard.js';
import * as campaign from './js/views/campaign.js';
import * as templates from './js/views/templates.js';
import * as contacts from './js/views/contacts.js';
import * as segments from './js/views/segments.js';
import * as replies from './js/views/replies.js';
import * as keys from './js/views/keys.js';
import * as settings from './js/views/settings.js';
import * as password from './js/views/password.js';

const RANK = { viewer: 1, admin: 2, superadmin: 3 };

const state = { user: null, health: null, authMode: 'sessions' };

const routes = [
  { re: /^\/login$/, view: login, public: true, nav: null },
  { re: /^\/$/, view: dashboard, nav: 'dashboard' },
  { re: /^\/campaigns$/, view: campaigns, nav: 'campaigns' },
  { re: /^\/campaigns\/new$/, view: wizard, nav: 'campaigns', role: 'admin' },
  { re: /^\/campaigns\/(\d+)\/edit$/, view: wizard, nav: 'campaigns', role: 'admin', keys: ['id'] },
  { re: /^\/campaigns\/(\d+)$/, view: campaign, nav: 'campaigns', keys: ['id'] },
  { re: /^\/templates$/, view: templates, nav: 'templates' },
  { re: /^\/contacts$/, view: contacts, nav: 'contacts' },
  { re: /^\/segments$/, view: segments, nav: 'segments' },
  { re: /^\/replies$/, view: replies, nav: 'replies' },
  { re: /^\/keys$/, view: keys, nav: 'keys', role: 'admin' },
  { re: /^\/settings$/, view: settings, nav: 'settings', role: 'superadmin' },
  { re: /^\/password$/, view: password, nav: null },
];

export const ctx = {
  state,
  can(role) { return !!state.user && (RANK[state.user.role] || 0) >= (RANK[role] || 99); },
  navigate(hash) { if (location.hash === '#' + hash) render(); else location.hash = hash; },
  setUser,
  refreshHealth,
  signOut,
};

let cleanup = null;
let renderSeq = 0;

function parse() {
  const raw = decodeURIComponent((location.hash || '#/').slice(1)) || '/';
  const [path, query] = raw.split('?');
  const q = Object.fromEntries(new URLSearchParams(query || ''));
  for (const r of routes) {
    const m = path.match(r.re);
    if (m) {
      const params = { ...q };
      (r.keys || []).forEach((k, i) => { params[k] = m[i + 1]; });
      return { route: r, params, path };
    }
  }
  return { route: null, params: {}, path };
}

async function render() {
  const seq = ++renderSeq;
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  const { route, params } = parse();
  const view = $('#view');
  updateChrome(route);
  if (!route) {
    clear(view).append(h('h1', { id: 'page-title', tabindex: '-1' }, t('notFound.title')),
      h('p', h('a', { href: '#/' }, t('notFound.back'))));
    focusTitle();
    return;
  }
  if (!route.public && !state.user) { location.hash = '#/login'; return; }
  if (route.view === login && state.user) { location.hash = '#/'; return; }
  if (route.role && !ctx.can(route.role)) {
    clear(view).append(h('h1', { id: 'page-title', tabindex: '-1' }, t('forbidden.title')),
      h('p', { class: 'alert alert-warn', role: 'alert' }, t('forbidden.text', { role: t('role.' + state.user.role) })),
      h('p', h('a', { href: '#/' }, t('notFound.back'))));
    focusTitle();
    return;
  }
  clear(view);
  try {
    const c = await route.view.render(view, params, ctx);
    if (seq !== renderSeq) { if (typeof c === 'function') c(); return; }
    cleanup = typeof c === 'function' ? c : null;
  } catch (e) {
    if (seq !== renderSeq) return;
    view.append(h('div', { class: 'alert alert-error', role: 'alert' }, e && e.message ? e.message : String(e)));
  }
  focusTitle();
}

function focusTitle() {
  const title = $('#page-title');
  if (title && document.activeElement === document.body) title.focus({ preventScroll: true });
  else if (title && !$('#view').contains(document.activeElement)) title.focus({ preventScroll: true });
}

/** The fade on the phone's section row shows only while more sections lie to the right. */
function updateNavFade() {
  const nav = $('#nav');
  nav.classList.toggle('at-end', nav.scrollLeft + nav.clientWidth >= nav.scrollWidth - 2);
}
$('#nav').addEventListener('scroll', updateNavFade, { passive: true });
window.addEventListener('resize', updateNavFade);

function updateChrome(route) {
  const signedIn = !!state.user;
  $('#nav').hidden = !signedIn;
  $('#user-menu').hidden = !signedIn;
  for (const a of document.querySelectorAll('#nav a[data-nav]')) {
    const on = route && route.nav === a.dataset.nav;
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    if (a.dataset.nav === 'settings') a.parentElement.hidden = !ctx.can('superadmin');
    if (a.dataset.nav === 'keys') a.parentElement.hidden = !ctx.can('admin');
  }
  if (signedIn) {
    $('#user-name').textContent = state.user.name || state.user.email || '';
    $('#user-role').textContent = t('role.' + state.user.role);
    $('#logout').hidden = state.authMode === 'none';
    $('#password-link').hidden = state.authMode === 'none';
  }
  updateNavFade();
  $('#lang').textContent = getLang() === 'es' ? 'English' : 'Español';
  $('#lang').setAttribute('lang', getLang() === 'es' ? 'en' : 'es');
  $('#lang').setAttribute('aria-label', t('lang.switch'));
}

function setUser(me) {
  state.user = me && me.user ? me.user : null;
  setCsrf(me && me.csrf_token);
  if (me && me.auth_mode) state.authMode = me.auth_mode;
}

async function refreshHealth() {
  try {
    state.health = await api('GET', '/api/health', undefined, { noAuthRedirect: true });
  } catch (e) {
    state.health = e && e.body && typeof e.body === 'object' ? e.body : null;
  }
  const hlt = state.health;
  $('#sandbox').hidden = !(hlt && hlt.sandbox === true);
  const st = $('#conn');
  if (!hlt) st.textContent = t('health.offline');
  else if (hlt.database !== 'ok') st.textContent = t('health.dbDown');
  else st.textContent = '';
  if (hlt && hlt.auth) state.authMode = hlt.auth;
  return hlt;
}

async function signOut() {
  try { await del('/api/session'); } catch { /* the session may be gone already */ }
  state.user = null;
  setCsrf(null);
  location.hash = '#/login';
  render();
}

async function boot() {
  setLang(getLang());
  translateStatic();
  $('#lang').addEventListener('click', () => {
    setLang(getLang() === 'es' ? 'en' : 'es');
    translateStatic();
    render();
  });
  $('#logout').addEventListener('click', signOut);
  window.addEventListener('hashchange', render);
  // An error shown next to a field goes away as soon as the field is changed.
  const clearField = (ev) => {
    const el = ev.target;
    if (!(el instanceof HTMLElement) || !el.closest) return;
    const wrap = el.closest('[data-field]');
    if (!wrap) return;
    el.removeAttribute('aria-invalid');
    for (const p of wrap.querySelectorAll(':scope > .field-error')) { p.hidden = true; p.textContent = ''; }
  };
  document.addEventListener('input', clearField);
  document.addEventListener('change', clearField);
  window.addEventListener('pregon:unauthenticated', () => {
    if (!state.user) return;
    state.user = null;
    setCsrf(null);
    location.hash = '#/login?expired=1';
  });
  await refreshHealth();
  try {
    setUser(await api('GET', '/api/me', undefined, { noAuthRedirect: true }));
  } catch { state.user = null; }
  setInterval(refreshHealth, 20000);
  render();
}

boot();
