// Settings for superadmins: WhatsApp accounts (credentials write-only, shown masked), limits,
// the campaigns feature flag, the webhook URL and verify token for Meta; users and roles;
// the rate card (cost, issue 21); the audit log.
import { h, field, showFieldError, clearErrors, nextId } from '../dom.js';
import { get, post, patch, del, qs, listOf } from '../api.js';
import { t, has, keysWith } from '../i18n.js';
import { date } from '../format.js';
import { pageHead, table, empty, errorBox, loading, toast, busy, dialog, qualityChip } from '../ui.js';

const TIERS = ['TIER_250', 'TIER_2K', 'TIER_10K', 'TIER_100K', 'TIER_UNLIMITED'];
const ROLES = ['viewer', 'admin', 'superadmin'];

export async function render(root, params, ctx) {
  let tab = ['users', 'rates', 'audit'].includes(params.tab) ? params.tab : 'accounts';
  const tablist = h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('settings.title') });
  const panel = h('div', { class: 'tab-panel', role: 'tabpanel', id: 'settings-panel', tabindex: '0' });
  root.append(pageHead(t('settings.title')), tablist, panel);
  const tabs = [['accounts', t('settings.accounts')], ['users', t('settings.users')], ['rates', t('rates.title')], ['audit', t('settings.audit')]];
  function drawTabs() {
    tablist.replaceChildren(...tabs.map(([k, label], i) => {
      const b = h('button', { type: 'button', role: 'tab', id: 'stab-' + k, class: 'tab', 'aria-selected': String(k === tab),
        'aria-controls': 'settings-panel', tabindex: k === tab ? '0' : '-1' }, label);
      b.addEventListener('click', () => { tab = k; history.replaceState(null, '', '#/settings?tab=' + k); drawTabs(); });
      b.addEventListener('keydown', (ev) => {
        const d = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
        if (!d) return;
        tab = tabs[(i + d + tabs.length) % tabs.length][0];
        drawTabs();
        tablist.querySelector('[aria-selected="true"]').focus();
      });
      return b;
    }));
    panel.setAttribute('aria-labelledby', 'stab-' + tab);
    panel.replaceChildren(loading());
    (tab === 'accounts' ? accountsTab : tab === 'users' ? usersTab : tab === 'rates' ? ratesTab : auditTab)(panel, ctx);
  }
  drawTabs();
}

function randomToken(bytes = 16) {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a);
  return [...a].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A password to propose for a new user or a reset: four groups of five letters and digits.
 * The server checks passwords with cracklib, which refused about 3 % of the hex ones proposed
 * before ("too simplistic/systematic"); about 1 in 20,000 of these. */
const PW_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function proposedPassword() {
  const groups = [];
  while (groups.length < 4) {
    let g = '';
    while (g.length < 5) {
      const b = crypto.getRandomValues(new Uint8Array(1))[0];
      if (b < 248) g += PW_CHARS[b % 62]; // 248 = 4 * 62: no bias
    }
    groups.push(g);
  }
  return groups.join('-');
}

function copyButton(getText) {
  const b = h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, t('common.copy'));
  b.addEventListener('click', async () => {
    try { await navigator.clipboard.writeText(getText()); toast(t('common.copied')); } catch { toast(t('common.copyFailed'), 'error'); }
  });
  return b;
}

/* ---- WhatsApp accounts ------------------------------------------------------------------ */

async function accountsTab(panel, ctx) {
  let accounts;
  try { accounts = listOf(await get('/api/accounts'), 'accounts'); } catch (e) { panel.replaceChildren(errorBox(e)); return; }
  const webhookUrl = `${location.origin}/webhook`;
  panel.replaceChildren(
    h('section', { class: 'card', 'aria-labelledby': 'wh-h' },
      h('h2', { id: 'wh-h' }, t('settings.webhook')),
      h('p', { class: 'muted' }, t('settings.webhookHelp')),
      h('dl', { class: 'kv' },
        h('dt', t('settings.callbackUrl')), h('dd', h('code', webhookUrl), ' ', copyButton(() => webhookUrl)),
        h('dt', t('settings.fields')), h('dd', h('code', 'messages, message_template_status_update, phone_number_quality_update, account_update'))),
      location.protocol !== 'https:' ? h('p', { class: 'alert alert-warn' }, t('settings.httpsNote')) : null),
    ...accounts.map((a) => accountForm(a, () => accountsTab(panel, ctx))),
    h('details', { class: 'card add-account' }, h('summary', h('h2', { class: 'inline' }, t('settings.addAccount'))),
      accountForm(null, () => accountsTab(panel, ctx))));
}

function secretField(label, name, state) {
  const input = h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false',
    placeholder: state && state.set ? t('settings.secretKeep') : t('settings.secretNone') });
  const f = field(label, input, { name, hint: state && state.set ? t('settings.secretMasked', { mask: state.masked || '••••' }) : t('settings.secretNotSet') });
  return { f, input };
}

function accountForm(a, reload) {
  const isNew = !a;
  a = a || { campaigns_enabled: true, throughput_mps: 80, graph_version: 'v25.0', default_country: 'AR',
    timezone: 'America/Argentina/Buenos_Aires', messaging_tier: 'TIER_250', credentials: {},
    autopause_min_failures: 50, autopause_pct: 50, autopause_window: 1000 };
  const cr = a.credentials || {};
  const inputs = {
    name: h('input', { type: 'text', value: a.name || '', maxlength: 120 }),
    display_phone: h('input', { type: 'text', value: a.display_phone || '', maxlength: 32 }),
    waba_id: h('input', { type: 'text', value: a.waba_id || '', inputmode: 'numeric' }),
    phone_number_id: h('input', { type: 'text', value: a.phone_number_id || '', inputmode: 'numeric' }),
    graph_version: h('input', { type: 'text', value: a.graph_version || '', size: 8 }),
    graph_base_url: h('input', { type: 'url', value: a.graph_base_url || '', placeholder: a.effective_graph_base_url || 'https://graph.facebook.com' }),
    default_country: h('input', { type: 'text', value: a.default_country || '', maxlength: 2, size: 3 }),
    timezone: h('input', { type: 'text', value: a.timezone || '' }),
    throughput_mps: h('input', { type: 'number', min: 1, max: 1000, value: a.throughput_mps || 80 }),
    messaging_tier: h('select', {}, TIERS.map((x) => h('option', { value: x, selected: a.messaging_tier === x }, t('tier.' + x)))),
    autopause_min_failures: h('input', { type: 'number', min: 0, max: 1000000, value: a.autopause_min_failures ?? 50 }),
    autopause_pct: h('input', { type: 'number', min: 0, max: 100, value: a.autopause_pct ?? 50 }),
    autopause_window: h('input', { type: 'number', min: 10, max: 100000, value: a.autopause_window ?? 1000 }),
    freq_cap_count: h('input', { type: 'number', min: 0, max: 1000, value: a.freq_cap_count ?? 0 }),
  };
  // The frequency cap's window in hours here, seconds in the API (freq_cap_window_s).
  const capHours = h('input', { type: 'number', min: 1, max: 2160, step: 1, value: Math.max(1, Math.round((a.freq_cap_window_s ?? 86400) / 3600)) });
  const flag = h('input', { type: 'checkbox', id: nextId('flag'), checked: a.campaigns_enabled !== false, role: 'switch' });
  const token = secretField(t('settings.accessToken'), 'access_token', cr.access_token);
  const secret = secretField(t('settings.appSecret'), 'app_secret', cr.app_secret);
  const verify = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: cr.verify_token && cr.verify_token.set ? t('settings.secretKeep') : '' });
  const verifyF = field(t('settings.verifyToken'), verify, { name: 'verify_token',
    hint: cr.verify_token && cr.verify_token.set ? t('settings.verifyMasked', { mask: cr.verify_token.masked || '••••' }) : t('settings.verifyHint') });
  const gen = h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, t('settings.generate'));
  gen.addEventListener('click', () => { verify.value = randomToken(); verify.focus(); verify.select(); });
  const copyVerify = copyButton(() => verify.value);
  const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, isNew ? t('settings.create') : t('common.save'));
  const headId = nextId('acc');
  const form = h('form', { class: isNew ? 'acc-form' : 'card acc-form', novalidate: true, 'aria-labelledby': headId },
    isNew ? h('span', { id: headId, class: 'sr-only' }, t('settings.addAccount')) :
      h('div', { class: 'row' }, h('h2', { id: headId }, a.name || `#${a.id}`), a.sandbox ? h('span', { class: 'badge-sandbox badge-sm' }, t('sandbox.badge')) : null,
        qualityChip(a.quality_rating)),
    h('fieldset', h('legend', t('settings.identity')), h('div', { class: 'inline-fields' },
      field(t('settings.name'), inputs.name, { name: 'name' }).wrap,
      field(t('settings.displayPhone'), inputs.display_phone, { name: 'display_phone' }).wrap,
      field(t('settings.wabaId'), inputs.waba_id, { name: 'waba_id' }).wrap,
      field(t('settings.phoneId'), inputs.phone_number_id, { name: 'phone_number_id' }).wrap,
      field(t('settings.country'), inputs.default_country, { name: 'default_country', hint: t('settings.countryHint') }).wrap,
      field(t('settings.timezone'), inputs.timezone, { name: 'timezone' }).wrap)),
    h('fieldset', h('legend', t('settings.credentials')), h('p', { class: 'hint' }, t('settings.credHelp')),
      h('div', { class: 'inline-fields' }, token.f.wrap, secret.f.wrap),
      h('div', { class: 'inline-fields' }, verifyF.wrap, h('div', { class: 'field' }, h('span', { class: 'label' }, '\u00a0'), h('div', gen, ' ', copyVerify)))),
    h('fieldset', h('legend', t('settings.limits')), h('div', { class: 'inline-fields' },
      field(t('settings.throughput'), inputs.throughput_mps, { name: 'throughput_mps', hint: t('settings.throughputHint') }).wrap,
      field(t('acc.tier'), inputs.messaging_tier, { name: 'messaging_tier', hint: t('settings.tierHint') }).wrap,
      field(t('settings.graphVersion'), inputs.graph_version, { name: 'graph_version' }).wrap,
      field(t('settings.graphUrl'), inputs.graph_base_url, { name: 'graph_base_url' }).wrap)),
    h('fieldset', h('legend', t('settings.autopause')), h('p', { class: 'hint' }, t('settings.autopauseHelp')),
      h('div', { class: 'inline-fields' },
        field(t('settings.autopauseMin'), inputs.autopause_min_failures, { name: 'autopause_min_failures' }).wrap,
        field(t('settings.autopausePct'), inputs.autopause_pct, { name: 'autopause_pct' }).wrap,
        field(t('settings.autopauseWindow'), inputs.autopause_window, { name: 'autopause_window' }).wrap)),
    h('fieldset', h('legend', t('settings.freqCap')), h('p', { class: 'hint' }, t('settings.freqCapHelp')),
      h('div', { class: 'inline-fields' },
        field(t('settings.freqCapCount'), inputs.freq_cap_count, { name: 'freq_cap_count', hint: t('settings.freqCapCountHint') }).wrap,
        field(t('settings.freqCapHours'), capHours, { name: 'freq_cap_window_s' }).wrap)),
    h('div', { class: 'check switch', dataset: { field: 'campaigns_enabled' } }, flag,
      h('label', { for: flag.id }, h('strong', t('settings.flag')), ' ', h('span', { class: 'muted' }, t('settings.flagHelp'))),
      h('p', { class: 'field-error', role: 'alert', hidden: true })),
    a.restriction || a.account_event ? h('p', { class: 'alert alert-warn' }, a.restriction || a.account_event) : null,
    formErr, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = {};
    for (const [k, el] of Object.entries(inputs)) {
      let v = el.value.trim();
      if (k === 'throughput_mps' || k.startsWith('autopause_') || k === 'freq_cap_count') v = Number(v);
      if (k === 'graph_base_url' && !v) { if (a.graph_base_url) body[k] = null; continue; }
      if (k === 'display_phone' && !v && !a.display_phone) continue;
      if (isNew || v !== (a[k] ?? '')) body[k] = v;
    }
    const capS = Math.round(Number(capHours.value) * 3600);
    if (isNew || capS !== (a.freq_cap_window_s ?? 86400)) body.freq_cap_window_s = capS;
    if (isNew || flag.checked !== (a.campaigns_enabled !== false)) body.campaigns_enabled = flag.checked;
    if (token.input.value) body.access_token = token.input.value.trim();
    if (secret.input.value) body.app_secret = secret.input.value.trim();
    if (verify.value) body.verify_token = verify.value.trim();
    if (!Object.keys(body).length) { toast(t('settings.nothing')); return; }
    await busy(submit, async () => {
      try {
        if (isNew) await post('/api/accounts', body); else await patch(`/api/accounts/${a.id}`, body);
        token.input.value = '';
        secret.input.value = '';
        toast(t('common.saved'));
        reload();
      } catch (e) { showFieldError(form, e, formErr); }
    });
  });
  return form;
}

/* ---- users ------------------------------------------------------------------------------ */

async function usersTab(panel, ctx, created) {
  let users;
  try { users = listOf(await get('/api/users'), 'users'); } catch (e) { panel.replaceChildren(errorBox(e)); return; }
  const reload = (c) => usersTab(panel, ctx, c);
  // The password just set, shown once: it is not stored anywhere it could be read again.
  const shown = created ? h('section', { class: 'card alert alert-ok new-password', role: 'status', 'aria-labelledby': 'np-h' },
    h('h2', { id: 'np-h' }, t('users.createdTitle', { email: created.email })),
    h('p', t('users.passwordOnce')),
    h('p', h('code', { class: 'pw-once' }, created.password), ' ', copyButton(() => created.password))) : null;
  const me = ctx.state.user || {};
  const list = table([
    { label: t('users.email'), cell: (u) => h('div', u.email || '', u.name ? h('span', { class: 'block small muted' }, u.name) : null) },
    { label: t('users.role'), cell: (u) => {
      const sel = h('select', { 'aria-label': t('users.roleOf', { email: u.email }) }, ROLES.map((r) => h('option', { value: r, selected: u.role === r }, t('role.' + r))));
      sel.addEventListener('change', async () => {
        try { await patch(`/api/users/${u.id}`, { role: sel.value }); toast(t('users.roleChanged')); reload(); } catch (e) { toast(e.message, 'error'); sel.value = u.role; }
      });
      return sel;
    } },
    { label: t('users.state'), cell: (u) => u.disabled ? h('span', { class: 'chip chip-bad' }, t('users.disabled')) : h('span', { class: 'chip chip-ok' }, t('users.enabled')) },
    { label: t('users.lastLogin'), cell: (u) => date(u.last_login_at) },
    { label: t('common.actions'), cell: (u) => {
      const tog = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', disabled: u.id === me.id,
        'aria-label': (u.disabled ? t('users.enable') : t('users.disable')) + ' ' + u.email }, u.disabled ? t('users.enable') : t('users.disable'));
      tog.addEventListener('click', async () => {
        try { await patch(`/api/users/${u.id}`, { disabled: !u.disabled }); toast(t('common.saved')); reload(); } catch (e) { toast(e.message, 'error'); }
      });
      const pw = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': t('users.resetPw') + ' ' + u.email }, t('users.resetPw'));
      pw.addEventListener('click', async () => {
        const inp = h('input', { type: 'text', value: proposedPassword(), autocomplete: 'off' });
        const err = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
        const v = await dialog(t('users.resetPw'), h('div', h('p', u.email), field(t('users.newPw'), inp, { hint: t('users.newPwHint') }).wrap, err),
          [{ label: t('common.cancel'), value: 'cancel', class: 'btn btn-ghost' }, { label: t('common.save'), value: 'ok', class: 'btn btn-primary' }]);
        if (v !== 'ok') return;
        try { await post(`/api/users/${u.id}/password`, { password: inp.value }); toast(t('users.pwSet')); } catch (e) { toast(e.message, 'error'); }
      });
      return h('div', { class: 'row-actions' }, tog, pw);
    } },
  ], users, { caption: t('settings.users') });

  const email = h('input', { type: 'email', autocomplete: 'off' });
  const name = h('input', { type: 'text', autocomplete: 'off' });
  const role = h('select', {}, ROLES.map((r) => h('option', { value: r, selected: r === 'viewer' }, t('role.' + r))));
  const pw = h('input', { type: 'text', autocomplete: 'off', value: proposedPassword() });
  const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('users.create'));
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'nu-h' },
    h('h2', { id: 'nu-h' }, t('users.new')),
    h('div', { class: 'inline-fields' }, field(t('users.email'), email, { name: 'email' }).wrap, field(t('users.name'), name, { name: 'name' }).wrap,
      field(t('users.role'), role, { name: 'role', hint: t('users.roleHint') }).wrap,
      field(t('users.password'), pw, { name: 'password', hint: t('users.passwordHint') }).wrap),
    formErr, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (!email.value.trim()) return showFieldError(form, { field: 'email', message: t('users.needEmail') });
    await busy(submit, async () => {
      try {
        await post('/api/users', { email: email.value.trim(), name: name.value.trim(), role: role.value, password: pw.value });
        toast(t('users.created', { email: email.value.trim() }));
        reload({ email: email.value.trim(), password: pw.value });
      } catch (e) { showFieldError(form, e, formErr); }
    });
  });
  panel.replaceChildren(shown, h('section', { class: 'card', 'aria-labelledby': 'ul-h' }, h('h2', { id: 'ul-h' }, t('settings.users')),
    h('p', { class: 'hint' }, t('users.rolesHelp')), list), form);
  if (shown) shown.scrollIntoView({ block: 'nearest' });
}

/* ---- rate card (docs/api.md, Cost) ------------------------------------------------------- */

const CATEGORIES = ['marketing', 'utility', 'authentication', 'service'];

async function ratesTab(panel, ctx) {
  let rates;
  try { rates = listOf(await get('/api/rate-card'), 'rates'); } catch (e) { panel.replaceChildren(errorBox(e)); return; }
  const reload = () => ratesTab(panel, ctx);
  const list = rates.length ? table([
    { label: t('rates.country'), cell: (r) => r.country },
    { label: t('rates.category'), cell: (r) => r.category },
    { label: t('rates.price'), class: 'num', cell: (r) => `${r.price} ${r.currency}` },
    { label: t('rates.from'), cell: (r) => r.effective_from },
    { label: t('rates.to'), cell: (r) => r.effective_to || '—' },
    { label: t('common.actions'), cell: (r) => {
      const b = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': t('rates.deleteOf', { country: r.country, category: r.category, from: r.effective_from }) }, t('rates.delete'));
      b.addEventListener('click', async () => {
        try { await del(`/api/rate-card/${r.id}`); toast(t('rates.deleted')); reload(); } catch (e) { toast(e.message, 'error'); }
      });
      return b;
    } },
  ], rates, { caption: t('rates.title') }) : empty(t('rates.none'));
  const country = h('input', { type: 'text', maxlength: 2, autocomplete: 'off', placeholder: 'AR' });
  const category = h('select', {}, CATEGORIES.map((c) => h('option', { value: c }, c)));
  const currency = h('input', { type: 'text', maxlength: 3, autocomplete: 'off', value: 'USD' });
  const price = h('input', { type: 'text', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.0618' });
  const from = h('input', { type: 'date' });
  const to = h('input', { type: 'date' });
  const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('rates.add'));
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'nr-h' },
    h('h2', { id: 'nr-h' }, t('rates.new')),
    h('div', { class: 'inline-fields' }, field(t('rates.country'), country, { name: 'country', hint: t('rates.countryHint') }).wrap,
      field(t('rates.category'), category, { name: 'category' }).wrap,
      field(t('rates.currency'), currency, { name: 'currency' }).wrap,
      field(t('rates.price'), price, { name: 'price', hint: t('rates.priceHint') }).wrap,
      field(t('rates.from'), from, { name: 'effective_from' }).wrap,
      field(t('rates.to'), to, { name: 'effective_to', hint: t('rates.toHint') }).wrap),
    formErr, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    await busy(submit, async () => {
      try {
        await post('/api/rate-card', { country: country.value.trim().toUpperCase(), category: category.value,
          currency: currency.value.trim().toUpperCase(), price: price.value.trim(),
          effective_from: from.value, effective_to: to.value || null });
        toast(t('rates.added'));
        reload();
      } catch (e) { showFieldError(form, e, formErr); }
    });
  });
  panel.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'rl-h' }, h('h2', { id: 'rl-h' }, t('rates.title')),
    h('p', { class: 'hint' }, t('rates.help')), list), form);
}

/* ---- audit log -------------------------------------------------------------------------- */

/** An audit row's detail as readable pairs (field names translated when known), not JSON. */
function auditDetail(d) {
  if (d == null || d === '') return '';
  if (typeof d !== 'object') return String(d);
  const keyText = (k) => (has('auditKey.' + k) ? t('auditKey.' + k) : k.replace(/_/g, ' '));
  // field names listed as values read as field names; a status as the panel names it
  const text = (v, k) => (v == null ? '—' : Array.isArray(v) ? v.map((x) => (k === 'fields' ? keyText(x) : text(x))).join(', ')
    : typeof v === 'object' ? Object.entries(v).map(([kk, x]) => `${keyText(kk)}: ${text(x, kk)}`).join(' · ')
      : typeof v === 'boolean' ? t(v ? 'common.yes' : 'common.no')
        : k === 'status' && has('status.' + v) ? t('status.' + v) : String(v));
  return h('dl', { class: 'kv small detail' }, Object.entries(d).map(([k, v]) => [h('dt', keyText(k)), h('dd', text(v, k))]));
}

async function auditTab(panel) {
  // Actions by their readable names (the code stays the value sent to the API).
  const action = h('select', {}, h('option', { value: '' }, t('audit.anyAction')),
    keysWith('action.').map((k) => [k.slice(7), t(k)]).sort((a, b) => a[1].localeCompare(b[1]))
      .map(([code, label]) => h('option', { value: code }, label)));
  const actor = h('input', { type: 'text', placeholder: 'admin@…' });
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': t('settings.audit') },
    field(t('audit.action'), action).wrap, field(t('audit.actor'), actor).wrap, h('button', { type: 'submit', class: 'btn' }, t('common.filter')));
  const list = h('div', { 'aria-live': 'polite' }, loading());
  const more = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true }, t('common.more'));
  let rows = [], cursor = null;
  async function load(append) {
    try {
      const body = await get('/api/audit' + qs({ action: action.value, actor: actor.value.trim(), limit: 50, before: append && cursor ? cursor : '' }));
      const items = listOf(body, 'entries');
      rows = append ? rows.concat(items) : items;
      cursor = body.next_before ?? null;
      more.hidden = cursor == null;
      list.replaceChildren(rows.length ? table([
        { label: t('camp.when'), cell: (r) => date(r.created_at, { dateStyle: 'short', timeStyle: 'medium' }) },
        { label: t('audit.actor'), cell: (r) => r.actor || '' },
        { label: t('audit.action'), cell: (r) => h('span', { title: r.action }, has('action.' + r.action) ? t('action.' + r.action) : r.action) },
        { label: t('audit.target'), cell: (r) => r.campaign_id ? h('a', { href: `#/campaigns/${r.campaign_id}` }, `${t('audit.campaign')} #${r.campaign_id}`)
          : r.target_type ? `${r.target_type} #${r.target_id ?? ''}` : '' },
        { label: t('audit.address'), cell: (r) => r.address || '' },
        { label: t('audit.detail'), cell: (r) => auditDetail(r.detail) },
      ], rows, { caption: t('settings.audit') }) : empty(t('audit.none')));
    } catch (e) { list.replaceChildren(errorBox(e)); }
  }
  filters.addEventListener('submit', (ev) => { ev.preventDefault(); load(false); });
  more.addEventListener('click', () => load(true));
  panel.replaceChildren(h('p', { class: 'hint' }, t('audit.help')), filters, list, h('p', { class: 'center' }, more));
  load(false);
}
