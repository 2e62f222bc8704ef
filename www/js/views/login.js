// Sign in.
import { h, field, showFieldError, clearErrors } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { busy } from '../ui.js';

export async function render(root, params, ctx) {
  const email = h('input', { type: 'email', autocomplete: 'username', required: true, spellcheck: 'false' });
  const pw = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const fe = field(t('login.email'), email, { name: 'email' });
  const fp = field(t('login.password'), pw, { name: 'password' });
  const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('login.submit'));
  const form = h('form', { class: 'login-form', novalidate: true }, fe.wrap, fp.wrap, formErr, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (!email.value) return showFieldError(form, { field: 'email', message: t('login.needEmail') });
    if (!pw.value) return showFieldError(form, { field: 'password', message: t('login.needPassword') });
    await busy(submit, async () => {
      try {
        const me = await api('POST', '/api/session', { email: email.value.trim(), password: pw.value }, { noAuthRedirect: true });
        ctx.setUser(me);
        pw.value = '';
        await ctx.refreshHealth();
        ctx.navigate(params.next || '/');
      } catch (e) {
        let msg = e.message;
        if (e.code === 'invalid_credentials') msg = t('login.invalid');
        else if (e.code === 'too_many_attempts') msg = t('login.throttled');
        else if (e.code === 'network') msg = t('err.network');
        showFieldError(form, { field: e.field, message: msg }, formErr);
      }
    });
  });
  root.append(h('div', { class: 'login' },
    h('div', { class: 'card login-card' },
      h('h1', { id: 'page-title', tabindex: '-1' }, t('login.title')),
      h('p', { class: 'muted' }, t('login.subtitle')),
      params.expired ? h('p', { class: 'alert alert-warn', role: 'status' }, t('login.expired')) : null,
      form)));
  email.focus();
}
