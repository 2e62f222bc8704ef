// API keys (admins): the keys CRMs and scripts use as `Authorization: Bearer <key>`. A new
// key is shown once, right after it is made; only its prefix is kept to tell keys apart.
import { h, field, showFieldError, clearErrors } from '../dom.js';
import { get, post, del, listOf } from '../api.js';
import { t } from '../i18n.js';
import { date } from '../format.js';
import { pageHead, table, empty, errorBox, loading, toast, busy, confirmDialog } from '../ui.js';

const ROLES = ['viewer', 'admin', 'superadmin'];

export async function render(root, params, ctx) {
  const list = h('div', loading());
  const shown = h('div', { 'aria-live': 'polite' });
  const name = h('input', { type: 'text', autocomplete: 'off', maxlength: 200 });
  const role = h('select', {}, ROLES.filter((r) => ctx.can(r)).map((r) => h('option', { value: r, selected: r === 'viewer' }, t('role.' + r))));
  const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('keys.create'));
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'nk-h' },
    h('h2', { id: 'nk-h' }, t('keys.new')),
    h('div', { class: 'inline-fields' }, field(t('keys.name'), name, { name: 'name', hint: t('keys.nameHint') }).wrap,
      field(t('keys.role'), role, { name: 'role', hint: t('keys.roleHint') }).wrap),
    formErr, submit);
  root.append(pageHead(t('keys.title')), h('p', { class: 'hint' }, t('keys.help')), shown, list, form);

  async function load() {
    try {
      const keys = listOf(await get('/api/keys'), 'keys');
      list.replaceChildren(keys.length ? table([
        { label: t('keys.prefix'), cell: (k) => h('code', k.prefix + '…') },
        { label: t('keys.name'), cell: (k) => k.name },
        { label: t('keys.role'), cell: (k) => t('role.' + k.role) },
        { label: t('keys.createdBy'), cell: (k) => h('span', k.created_by || '', h('span', { class: 'block small muted' }, date(k.created_at))) },
        { label: t('keys.lastUsed'), class: 'nowrap small', cell: (k) => k.last_used_at ? date(k.last_used_at) : t('keys.never') },
        { label: t('common.actions'), cell: (k) => {
          const b = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': t('keys.revoke') + ' ' + k.prefix }, t('keys.revoke'));
          b.addEventListener('click', async () => {
            if (!(await confirmDialog(t('keys.revoke'), t('keys.revokeConfirm', { name: k.name }), t('keys.revoke'), true))) return;
            busy(b, async () => {
              try { await del(`/api/keys/${k.id}`); toast(t('keys.revoked')); await load(); } catch (e) { toast(e.message, 'error'); }
            });
          });
          return b;
        } },
      ], keys, { caption: t('keys.title') }) : empty(t('keys.none')));
    } catch (e) { list.replaceChildren(errorBox(e)); }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (!name.value.trim()) return showFieldError(form, { field: 'name', message: t('keys.needName') });
    await busy(submit, async () => {
      try {
        const k = await post('/api/keys', { name: name.value.trim(), role: role.value });
        const out = h('input', { type: 'text', readonly: true, value: k.key, class: 'key-once', 'aria-label': t('keys.theKey') });
        const copy = h('button', { type: 'button', class: 'btn btn-sm' }, t('common.copy'));
        copy.addEventListener('click', async () => {
          try { await navigator.clipboard.writeText(k.key); toast(t('common.copied')); } catch { out.select(); }
        });
        shown.replaceChildren(h('div', { class: 'alert alert-ok', role: 'status' },
          h('p', h('strong', t('keys.created', { name: k.name }))), h('p', t('keys.onlyOnce')), h('div', { class: 'row-actions' }, out, copy)));
        name.value = '';
        await load();
      } catch (e) { showFieldError(form, e, formErr); }
    });
  });
  await load();
}
