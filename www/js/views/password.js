// Changing one's own password.
import { h, field, showFieldError, clearErrors } from '../dom.js';
import { post } from '../api.js';
import { t } from '../i18n.js';
import { busy, pageHead, toast } from '../ui.js';

export async function render(root, params, ctx) {
  const cur = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const npw = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 10 });
  const rep = h('input', { type: 'password', autocomplete: 'new-password', required: true });
  const formErr = h('p', { class: 'form-error alert alert-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('password.submit'));
  const form = h('form', { class: 'card narrow', novalidate: true },
    field(t('password.current'), cur, { name: 'current_password' }).wrap,
    field(t('password.new'), npw, { name: 'new_password', hint: t('password.hint') }).wrap,
    field(t('password.repeat'), rep, { name: 'repeat' }).wrap,
    h('p', { class: 'hint' }, t('password.sessionsNote')),
    formErr, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (npw.value !== rep.value) return showFieldError(form, { field: 'repeat', message: t('password.mismatch') });
    await busy(submit, async () => {
      try {
        const me = await post('/api/me/password', { current_password: cur.value, new_password: npw.value });
        ctx.setUser(me);
        form.reset();
        toast(t('password.done'));
      } catch (e) {
        let msg = e.message;
        if (e.code === 'wrong_password') msg = t('password.wrong');
        showFieldError(form, { field: e.field, message: msg }, formErr);
      }
    });
  });
  root.append(pageHead(t('password.title')), form);
}
