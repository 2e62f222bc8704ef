// One campaign, live while it runs: progress, funnel, messages per minute, failures by code
// with what to do, recipients, the send log, actions and exports.
import { h, field, nextId } from '../dom.js';
import { get, post, patch, del, qs, listOf, cursorOf } from '../api.js';
import { t, has, getLang } from '../i18n.js';
import { num, date, duration, pct } from '../format.js';
import { funnel, perMinute, legend } from '../charts.js';
import { explain } from '../errors.js';
import { loadVariantStats } from './abvariants.js';
import { statusChip, campaignChip, progressBar, table, empty, errorBox, loading, toast, busy, dialog, confirmDialog, section } from '../ui.js';

const LIVE = new Set(['running', 'scheduled', 'paused']);
const POLL_MS = 3000;
const RSTATES = ['pending', 'sending', 'sent', 'delivered', 'read', 'failed', 'blocked', 'cancelled', 'unknown', 'holdout'];

export async function render(root, params, ctx) {
  const id = Number(params.id);
  const head = h('div', { class: 'page-head' });
  const actions = h('div', { class: 'actions', role: 'group', 'aria-label': t('camp.actions') });
  const notice = h('div', { 'aria-live': 'polite' });
  const summary = h('div', { class: 'card camp-summary' }, loading());
  const charts = h('div', { class: 'grid-2' });
  const failures = h('section', { class: 'card', 'aria-labelledby': 'fail-h' });
  const costsBox = h('section', { class: 'card', 'aria-labelledby': 'cost-h' });
  const abBox = h('section', { class: 'card ab-stats', 'aria-labelledby': 'ab-h', hidden: true });
  const recips = h('section', { class: 'card', 'aria-labelledby': 'rec-h' });
  const logBox = h('section', { class: 'card', 'aria-labelledby': 'log-h' });
  const auditBox = ctx.can('admin') ? h('section', { class: 'card', 'aria-labelledby': 'aud-h' }) : null;
  root.append(head, actions, notice, summary, charts, abBox, failures, costsBox, recips, logBox, auditBox);

  let c = null, stats = null, stopped = false, timer = null;

  async function loadCampaign() {
    c = await get(`/api/campaigns/${id}`);
    drawHead();
    drawActions();
    drawSummary();
  }
  async function loadStats() {
    try { stats = await get(`/api/campaigns/${id}/stats?lang=${getLang()}`); } catch (e) { stats = { error: e }; }
    drawCharts();
    drawFailures();
  }

  function drawHead() {
    head.replaceChildren(
      h('div',
        h('p', { class: 'crumbs' }, h('a', { href: '#/campaigns' }, t('campaigns.title')), ' / ', `#${c.id}`),
        h('h1', { id: 'page-title', tabindex: '-1' }, c.name || `#${c.id}`, ' ', campaignChip(c),
          c.sandbox ? h('span', { class: 'badge-sandbox badge-sm' }, t('sandbox.badge')) : null),
        h('p', { class: 'muted' }, t('camp.templateLine', { name: c.template.name, lang: c.template.language }),
          ' · ', t('camp.createdBy', { who: c.created_by || '—', when: date(c.created_at) }))));
  }

  function act(label, path, opts = {}) {
    const b = h('button', { type: 'button', class: opts.class || 'btn' }, label);
    b.addEventListener('click', async () => {
      let body = opts.body ? { ...opts.body } : {};
      if (opts.confirm) {
        const ok = await opts.confirm(body);
        if (!ok) return;
      }
      await busy(b, async () => {
        try {
          const r = await post(`/api/campaigns/${id}/${path}`, body);
          toast(opts.done ? opts.done(r) : t('camp.done'));
          await refresh();
        } catch (e) { toast(e.message, 'error'); }
      });
    });
    return b;
  }

  function drawActions() {
    const list = [];
    const admin = ctx.can('admin');
    const s = c.status;
    if (admin) {
      if (s === 'draft') list.push(h('a', { class: 'btn btn-primary', href: `#/campaigns/${id}/edit?step=${c.counters.total ? 5 : 1}` }, t('camp.continue')));
      if (s === 'running' || s === 'scheduled') {
        list.push(act(t('camp.pause'), 'pause', {
          confirm: async (body) => {
            const reason = h('input', { type: 'text', maxlength: 500, id: nextId('why') });
            const v = await dialog(t('camp.pauseTitle'), h('div', field(t('camp.pauseWhy'), reason).wrap),
              [{ label: t('common.cancel'), value: 'cancel', class: 'btn btn-ghost' }, { label: t('camp.pause'), value: 'ok', class: 'btn btn-primary' }]);
            if (v !== 'ok') return false;
            if (reason.value.trim()) body.reason = reason.value.trim();
            return true;
          },
          done: () => t('camp.paused'),
        }));
      }
      if (s === 'paused') {
        // The server says whether a resume would be accepted now (and why not).
        const b = act(t('camp.resume'), 'resume', { class: 'btn btn-primary', done: () => t('camp.resumed') });
        if (c.resumable === false) {
          b.disabled = true;
          b.setAttribute('aria-describedby', 'resume-why');
        }
        list.push(b);
        list.push(paceButton());
      }
      // Offered only when the server would retry something: failures it may send again
      // (retryable), unknown ones, or what a failed campaign left pending.
      const canRetry = (c.retryable ? c.retryable.failed : c.counters.failed) || c.counters.unknown ||
        (s === 'failed' && c.counters.pending);
      if (['running', 'paused', 'completed', 'failed'].includes(s) && canRetry) {
        list.push(act(t('camp.retry'), 'retry', {
          body: { acknowledge_risk: true },
          confirm: async (body) => {
            const unk = h('input', { type: 'checkbox', id: nextId('unk'), checked: !!c.retryable && !c.retryable.failed });
            const v = await dialog(t('camp.retryTitle'), h('div', h('p', t('camp.retryText', { failed: num(c.counters.failed), unknown: num(c.counters.unknown) })),
              c.counters.unknown ? h('div', { class: 'check' }, unk, h('label', { for: unk.id }, t('camp.retryUnknown'))) : null,
              h('p', { class: 'alert alert-warn' }, t('camp.retryRisk'))),
            [{ label: t('common.cancel'), value: 'cancel', class: 'btn btn-ghost' }, { label: t('camp.retry'), value: 'ok', class: 'btn btn-primary' }]);
            if (v !== 'ok') return false;
            if (unk.checked) body.include_unknown = true;
            return true;
          },
          done: (r) => t('camp.retried', { n: num(((r.retried && r.retried.failed) || 0) + ((r.retried && r.retried.unknown) || 0)) }),
        }));
      }
      if (['scheduled', 'running', 'paused'].includes(s)) {
        list.push(act(t('camp.cancel'), 'cancel', {
          class: 'btn btn-danger',
          confirm: () => confirmDialog(t('camp.cancelTitle'), t('camp.cancelText'), t('camp.cancel'), true),
          done: () => t('camp.cancelled'),
        }));
      }
      list.push(act(t('camp.clone'), 'clone', {
        class: 'btn btn-ghost',
        body: {},
        confirm: async (body) => {
          const name = nextId('mode');
          const opts = ['none', 'all', 'failed', 'not_delivered', 'not_read', 'read_not_replied', 'replied', 'clicked_button'].map((m, i) => {
            const r = h('input', { type: 'radio', name, id: nextId('m'), value: m, checked: i === 0 });
            return { r, el: h('div', { class: 'check' }, r, h('label', { for: r.id }, t('camp.clone.' + m))) };
          });
          const v = await dialog(t('camp.cloneTitle'), h('fieldset', h('legend', t('camp.cloneWhich')), opts.map((o) => o.el)),
            [{ label: t('common.cancel'), value: 'cancel', class: 'btn btn-ghost' }, { label: t('camp.clone'), value: 'ok', class: 'btn btn-primary' }]);
          if (v !== 'ok') return false;
          body.recipients = opts.find((o) => o.r.checked).r.value;
          return true;
        },
        done: (r) => { setTimeout(() => ctx.navigate(`/campaigns/${r.id}/edit?step=${r.counters && r.counters.total ? 4 : 3}`), 0); return t('camp.cloned', { id: r.id }); },
      }));
      if (s === 'draft') {
        const b = h('button', { type: 'button', class: 'btn btn-danger' }, t('camp.delete'));
        b.addEventListener('click', async () => {
          if (!await confirmDialog(t('camp.deleteTitle'), t('camp.deleteText'), t('camp.delete'), true)) return;
          try { await del(`/api/campaigns/${id}`); toast(t('camp.deleted')); ctx.navigate('/campaigns'); } catch (e) { toast(e.message, 'error'); }
        });
        list.push(b);
      }
    } else {
      list.push(h('p', { class: 'alert alert-info role-note' }, t('camp.viewerNote')));
    }
    list.push(h('a', { class: 'btn btn-ghost', href: `/api/campaigns/${id}/log.csv?lang=${getLang()}`, download: `campania-${id}-log.csv` }, t('camp.exportLog')),
      h('a', { class: 'btn btn-ghost', href: `/api/campaigns/${id}/failed.csv?lang=${getLang()}`, download: `campania-${id}-fallidos.csv` }, t('camp.exportFailed')));
    actions.replaceChildren(...list);
  }

  /** A paused campaign may change its pace and send window before it resumes (audited). */
  function paceButton() {
    const b = h('button', { type: 'button', class: 'btn' }, t('camp.editPace'));
    b.addEventListener('click', async () => {
      const batch = h('input', { type: 'number', min: 1, max: 1000, step: 1, value: c.batch_size, id: nextId('pb') });
      const interval = h('input', { type: 'number', min: 0, max: 3600, step: 0.1, value: (c.interval_ms || 0) / 1000, id: nextId('pi') });
      const cap = h('input', { type: 'number', min: 1, step: 1, value: c.daily_cap ?? '', placeholder: t('wiz.noCap'), id: nextId('pc') });
      const freq = h('select', { id: nextId('pf') }, ['wait', 'skip'].map((x) => h('option', { value: x, selected: (c.freq_cap_action || 'wait') === x }, t('wiz.freq.' + x))));
      const winOn = h('input', { type: 'checkbox', id: nextId('pw'), checked: !!c.send_window });
      const hours = (sel) => h('select', {}, Array.from({ length: 24 }, (_, i) => h('option', { value: i, selected: i === sel }, `${String(i).padStart(2, '0')}:00`)));
      const ws = hours(c.send_window ? c.send_window.start : 9);
      const we = hours(c.send_window ? c.send_window.end : 20);
      const err = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
      const body = h('div', { class: 'pace-edit' }, h('p', { class: 'hint' }, t('camp.editPaceHint')),
        h('div', { class: 'inline-fields' }, field(t('wiz.batch'), batch).wrap, field(t('wiz.interval'), interval).wrap, field(t('wiz.cap'), cap).wrap),
        h('div', { class: 'check' }, winOn, h('label', { for: winOn.id }, t('wiz.window'))),
        h('div', { class: 'inline-fields' }, field(t('wiz.windowStart'), ws).wrap, field(t('wiz.windowEnd'), we).wrap),
        field(t('wiz.freq'), freq).wrap, err);
      for (;;) {
        const v = await dialog(t('camp.editPace'), body, [{ label: t('common.cancel'), value: 'cancel', class: 'btn btn-ghost' },
          { label: t('common.save'), value: 'ok', class: 'btn btn-primary' }]);
        if (v !== 'ok') return;
        try {
          await patch(`/api/campaigns/${id}`, {
            batch_size: Number(batch.value), interval_ms: Math.round(Number(interval.value) * 1000),
            daily_cap: cap.value === '' ? null : Number(cap.value),
            send_window: winOn.checked ? { start: Number(ws.value), end: Number(we.value) } : null,
            freq_cap_action: freq.value,
          });
          toast(t('camp.paceSaved'));
          await refresh();
          return;
        } catch (e) { err.textContent = e.message; err.hidden = false; }
      }
    });
    return b;
  }

  function drawSummary() {
    const p = c.progress || {};
    const n = c.counters || {};
    const blocked = c.resume_blocked;
    notice.replaceChildren(
      c.status === 'paused' ? h('div', { class: 'alert alert-warn pause-box', role: 'status' },
        h('p', h('strong', t('camp.pauseReason')), ': ', c.pause ? c.pause.message : (c.pause_reason || t('camp.noReason'))),
        c.pause && c.pause.detail ? h('details', { class: 'small muted pause-detail' }, h('summary', t('camp.pauseDetail')), c.pause.detail) : null,
        h('p', t('camp.pauseKind'), ': ', h('span', { class: 'chip chip-kind' }, kindText(c.pause_kind))),
        h('p', { id: 'resume-why', class: c.resumable ? 'resume-ok' : 'resume-no' },
          c.resumable ? t('camp.resumableNow')
            : [h('strong', t('camp.notResumable')), ' ', blocked ? blocked.message : ''])) : null,
      c.pause && c.status !== 'paused' ? h('p', { class: 'small muted' }, t('camp.lastPause'), ': ', c.pause.message) : null,
      c.waiting && c.status === 'running' ? h('p', { class: 'alert alert-info wait-reason', role: 'status' }, c.waiting.message) : null,
      c.status === 'scheduled' && c.scheduled_at ? h('p', { class: 'alert alert-info' }, t('camp.scheduledFor', { d: date(c.scheduled_at) })) : null,
      c.in_doubt && c.in_doubt.count > 0 ? h('p', { class: 'alert alert-info in-doubt', role: 'status' },
        c.in_doubt.policy === 'resend_once_after'
          ? t('camp.inDoubt.resend', { n: num(c.in_doubt.count), s: num(c.in_doubt.resend_after_s) })
          : t('camp.inDoubt.wait', { n: num(c.in_doubt.count) })) : null);
    summary.replaceChildren(
      h('h2', { class: 'sr-only' }, t('camp.progress')),
      h('div', { class: 'big-progress' },
        h('div', { class: 'row' }, h('span', { class: 'pct' }, `${p.percent ?? pct(p.done, n.total)}%`),
          h('span', { class: 'muted' }, t('camp.doneOf', { done: num(p.done), total: num(n.total) }))),
        progressBar(n, { large: true, legend: true, figures: c.figures })),
      h('dl', { class: 'stats' },
        h('div', { class: 'stat' }, h('dt', t('camp.rate')), h('dd', p.rate_per_minute != null ? t('camp.ratePerMin', { n: num(Math.round(p.rate_per_minute)) }) : '—')),
        h('div', { class: 'stat' }, h('dt', t('camp.etaLabel')), h('dd', p.eta_seconds != null ? duration(p.eta_seconds) : '—')),
        h('div', { class: 'stat' }, h('dt', t('count.pending')), h('dd', num(n.pending))),
        h('div', { class: 'stat' }, h('dt', t('count.blocked')), h('dd', num(n.blocked))),
        h('div', { class: 'stat' }, h('dt', t('count.cancelled')), h('dd', num(n.cancelled))),
        h('div', { class: 'stat' }, h('dt', t('count.unknown')), h('dd', num(n.unknown))),
        n.holdout ? h('div', { class: 'stat' }, h('dt', t('count.holdout')), h('dd', num(n.holdout))) : null,
        h('div', { class: 'stat stat-replies' }, h('dt', t('camp.replies')), h('dd', num(c.replies_count ?? 0)))),
      h('details', { class: 'pace' }, h('summary', t('camp.settings')),
        h('dl', { class: 'kv' },
          h('dt', t('wiz.batch')), h('dd', num(c.batch_size)),
          h('dt', t('wiz.interval')), h('dd', `${num((c.interval_ms || 0) / 1000)} s`),
          h('dt', t('wiz.cap')), h('dd', c.daily_cap != null ? num(c.daily_cap) : t('wiz.noCap')),
          h('dt', t('wiz.window')), h('dd', c.send_window ? `${c.send_window.start}:00–${c.send_window.end}:00 (${c.send_window.timezone || ''})` : '—'),
          h('dt', t('wiz.freq')), h('dd', t('wiz.freq.' + (c.freq_cap_action || 'wait'))),
          h('dt', t('camp.started')), h('dd', date(c.started_at)),
          h('dt', t('camp.completed')), h('dd', date(c.completed_at || c.cancelled_at)))));
  }

  function drawCharts() {
    const n = c.counters || {};
    const g = c.figures || {};
    // The same figures as the header (server: lib/campaign_view.c), each a share of the total.
    const step = (key, label) => ({ key, label, value: g[key] ? g[key].count : n[key], percent: g[key] ? g[key].percent : null });
    const steps = [{ key: 'total', label: t('count.total'), value: g.total ?? n.total },
      step('sent', t('count.sent')), step('delivered', t('count.delivered')), step('read', t('count.read'))];
    const pm = stats && (stats.per_minute || stats.messages_per_minute || stats.minutes) || [];
    charts.replaceChildren(
      h('section', { class: 'card', 'aria-labelledby': 'fun-h' }, h('h2', { id: 'fun-h' }, t('chart.funnel')), funnel(steps),
        h('p', { class: 'small muted' }, t('chart.funnelNote'))),
      h('section', { class: 'card', 'aria-labelledby': 'pm-h' }, h('h2', { id: 'pm-h' }, t('chart.perMinute')), perMinute(Array.isArray(pm) ? pm : []),
        legend([['seg-sent', t('count.sent')], ['seg-failed', t('count.failed')]]),
        stats && stats.error ? h('p', { class: 'small muted' }, t('camp.statsUnavailable')) : null),
      stats && Array.isArray(stats.buttons) && stats.buttons.length ? h('section', { class: 'card', 'aria-labelledby': 'btn-h' },
        h('h2', { id: 'btn-h' }, t('camp.buttons')),
        table([
          { label: t('camp.button'), cell: (x) => h('span', x.text || '', h('span', { class: 'block small muted' }, x.payload || '')) },
          { label: t('camp.count'), class: 'num', cell: (x) => num(x.count) },
        ], stats.buttons, { caption: t('camp.buttons') }),
        h('a', { href: '#/replies' }, t('camp.seeReplies'))) : null);
  }

  function drawFailures() {
    const list = (stats && (stats.failures_by_code || stats.failures || stats.errors)) || [];
    const rows = Array.isArray(list) ? list : Object.entries(list).map(([code, count]) => ({ code, count }));
    failures.replaceChildren(h('h2', { id: 'fail-h' }, t('camp.failures')),
      rows.length ? table([
        { label: t('camp.code'), class: 'num', cell: (x) => String(x.code ?? x.error_code ?? '') },
        { label: t('camp.count'), class: 'num', cell: (x) => num(x.count ?? x.n) },
        { label: t('camp.statusCol'), cell: (x) => x.status ? statusChip(x.status) : '' },
        { label: t('camp.meaning'), cell: (x) => h('div', x.code == null ? t('camp.noCode') : explain(x.code, x.explanation),
          x.example ? h('span', { class: 'block small muted' }, t('camp.example'), ': ', x.example) : null) },
      ], rows, { caption: t('camp.failures') }) : empty(n0(c.counters.failed) ? t('camp.failuresLoading') : t('camp.noFailures')));
  }

  // Recipients: status filter, phone search, cursor pagination.
  const rq = { status: '', q: '', cursor: null, stack: [] };
  const rStatus = h('select', {}, h('option', { value: '' }, t('camp.allStatuses')), RSTATES.map((s) => h('option', { value: s }, t('status.' + s))));
  const rSearch = h('input', { type: 'search', placeholder: t('camp.phoneSearchPh'), inputmode: 'tel' });
  const rList = h('div', { 'aria-live': 'polite' });
  const rPrev = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', disabled: true }, t('common.prev'));
  const rNext = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', disabled: true }, t('common.next'));
  const rForm = h('form', { class: 'filters', role: 'search', 'aria-label': t('camp.recipients') },
    field(t('campaigns.status'), rStatus).wrap, field(t('camp.phoneSearch'), rSearch).wrap,
    h('button', { type: 'submit', class: 'btn' }, t('common.filter')));
  recips.append(h('h2', { id: 'rec-h' }, t('camp.recipients')), rForm, rList, h('div', { class: 'pager' }, rPrev, rNext));
  let rPage = null;
  async function loadRecipients(cursorParam) {
    try {
      const body = await get(`/api/campaigns/${id}/recipients` + qs({ status: rq.status, phone: rq.q, limit: 25, ...(cursorParam || {}) }));
      const items = listOf(body, 'recipients');
      rPage = { items, next: cursorOf(body) };
      rNext.disabled = !rPage.next;
      rPrev.disabled = !rq.stack.length;
      rList.replaceChildren(items.length ? table([
        { label: t('camp.phone'), cell: (r) => r.phone || '' },
        { label: t('campaigns.status'), cell: (r) => statusChip(r.status) },
        ...(c && c.variants && c.variants.length ? [{ label: t('ab.variantCol'), cell: (r) => (r.variant == null ? '—'
          : r.variant === 0 ? t('ab.holdoutName') : t('ab.variant', { n: r.variant })) }] : []),
        { label: t('camp.attempts'), class: 'num', cell: (r) => num(r.attempts) },
        { label: t('camp.lastChange'), cell: (r) => date(r.read_at || r.delivered_at || r.sent_at || r.failed_at || r.created_at) },
        { label: t('camp.error'), cell: (r) => errorCell(r.error) },
      ], items, { caption: t('camp.recipients') }) : empty(t('camp.noRecipients')));
    } catch (e) {
      rList.replaceChildren(e.status === 404 || e.status === 405 ? empty(t('camp.endpointMissing')) : errorBox(e));
    }
  }
  rForm.addEventListener('submit', (ev) => { ev.preventDefault(); rq.status = rStatus.value; rq.q = rSearch.value.trim(); rq.stack = []; rq.cursor = null; loadRecipients(); });
  rStatus.addEventListener('change', () => rForm.requestSubmit());
  rNext.addEventListener('click', () => {
    if (!rPage || !rPage.next) return;
    rq.stack.push(rq.cursor);
    rq.cursor = { [rPage.next.key]: rPage.next.value };
    loadRecipients(rq.cursor);
  });
  rPrev.addEventListener('click', () => { rq.cursor = rq.stack.pop() || null; loadRecipients(rq.cursor); });

  // The send log (newest first).
  const lList = h('div', { 'aria-live': 'polite' });
  const lMore = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', hidden: true }, t('common.more'));
  logBox.append(h('h2', { id: 'log-h' }, t('camp.log')), h('p', { class: 'hint' }, t('camp.logNote')), lList, lMore);
  let logRows = [], logCursor = null;
  async function loadLog(more) {
    try {
      const body = await get(`/api/campaigns/${id}/log` + qs({ order: 'desc', limit: 25, lang: getLang(), ...(more && logCursor ? { [logCursor.key]: logCursor.value } : {}) }));
      const items = listOf(body, 'entries', 'log');
      logRows = more ? logRows.concat(items) : items;
      logCursor = cursorOf(body);
      lMore.hidden = !logCursor;
      lList.replaceChildren(logRows.length ? table([
        { label: t('camp.when'), cell: (r) => date(r.at || r.created_at, { dateStyle: 'short', timeStyle: 'medium' }) },
        { label: t('camp.phone'), cell: (r) => r.phone || '' },
        { label: t('camp.outcome'), cell: (r) => statusChip('out_' + (r.outcome || r.status)) },
        { label: t('camp.template'), cell: (r) => r.template && typeof r.template === 'object' ? `${r.template.name || ''} (${r.template.language || ''})` : (r.template || '') },
        { label: t('camp.lead'), cell: (r) => r.lead_id ?? '' },
        { label: t('camp.attempt'), class: 'num', cell: (r) => r.attempt != null ? num(r.attempt) : '' },
        { label: t('camp.error'), cell: (r) => errorCell(r.error) },
      ], logRows, { caption: t('camp.log') }) : empty(t('camp.noLog')));
    } catch (e) {
      lList.replaceChildren(e.status === 404 || e.status === 405 ? empty(t('camp.endpointMissing')) : errorBox(e));
    }
  }
  lMore.addEventListener('click', () => loadLog(true));

  // Cost (docs/api.md, Cost): Meta's pricing per message at our rate card's prices. Money
  // comes as decimal strings computed by the database and is shown as it comes. Loaded on
  // demand, not on every poll: the report reads every priced message.
  async function loadCosts() {
    const title = h('h2', { id: 'cost-h' }, t('cost.title'));
    const reload = h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, t('cost.reload'));
    reload.addEventListener('click', () => busy(reload, loadCosts));
    const csvLink = h('a', { class: 'btn btn-ghost btn-sm', href: `/api/campaigns/${id}/costs.csv`, download: `campania-${id}-costos.csv` }, t('cost.export'));
    try {
      const r = await get(`/api/campaigns/${id}/costs`);
      const rows = Array.isArray(r.rows) ? r.rows : [];
      const tot = r.totals || {};
      const money = (v, cur) => (v == null ? t('cost.noRate') : `${v} ${cur || ''}`.trim());
      const notes = [];
      for (const x of tot.by_currency || []) notes.push(h('p', { class: 'cost-total' }, t('cost.total', { cost: x.cost, currency: x.currency, n: num(x.billable) })));
      if (tot.billable_without_rate) notes.push(h('p', { class: 'alert alert-warn' }, t('cost.unrated', { n: num(tot.billable_without_rate) })));
      if (tot.sent_without_pricing) notes.push(h('p', { class: 'muted' }, t('cost.unpriced', { n: num(tot.sent_without_pricing) })));
      costsBox.replaceChildren(title, rows.length ? table([
        { label: t('cost.category'), cell: (x) => x.category || '—' },
        { label: t('cost.country'), cell: (x) => x.country || '—' },
        { label: t('cost.unitPrice'), class: 'num', cell: (x) => money(x.unit_price, x.currency) },
        { label: t('cost.since'), cell: (x) => x.rate_effective_from || '—' },
        { label: t('cost.messages'), class: 'num', cell: (x) => num(x.messages) },
        { label: t('cost.billable'), class: 'num', cell: (x) => num(x.billable) },
        { label: t('cost.cost'), class: 'num', cell: (x) => money(x.cost, x.currency) },
      ], rows, { caption: t('cost.title') }) : empty(t('cost.none')), ...notes, h('div', { class: 'actions' }, reload, csvLink));
    } catch (e) {
      costsBox.replaceChildren(title, errorBox(e), h('div', { class: 'actions' }, reload));
    }
  }

  async function loadAudit() {
    if (!auditBox) return;
    try {
      const body = await get(`/api/campaigns/${id}/audit`);
      const items = listOf(body, 'entries', 'audit');
      auditBox.replaceChildren(h('h2', { id: 'aud-h' }, t('camp.audit')), items.length ? table([
        { label: t('camp.when'), cell: (r) => date(r.at || r.created_at) },
        { label: t('audit.actor'), cell: (r) => r.actor || '' },
        { label: t('audit.action'), cell: (r) => has('action.' + r.action) ? t('action.' + r.action) : r.action },
        { label: t('audit.address'), cell: (r) => r.address || '' },
      ], items, { caption: t('camp.audit') }) : empty(t('audit.none')));
    } catch (e) {
      auditBox.replaceChildren(h('h2', { id: 'aud-h' }, t('camp.audit')), e.status === 404 || e.status === 405 ? empty(t('camp.endpointMissing')) : errorBox(e));
    }
  }

  async function refresh() {
    await loadCampaign();
    await Promise.all([loadStats(), logRows.length <= 25 ? loadLog(false) : null,
      !rq.stack.length ? loadRecipients(rq.cursor) : null, loadAudit()]);
  }

  try {
    await loadCampaign();
  } catch (e) {
    summary.replaceChildren(errorBox(e));
    head.replaceChildren(h('h1', { id: 'page-title', tabindex: '-1' }, t('camp.notFound')));
    return;
  }
  // A/B figures (lib/abvariant.c) are counted on request: on open and with their reload button.
  const loadAb = async () => {
    if (!c.variants || !c.variants.length) return;
    abBox.hidden = false;
    await loadVariantStats(abBox, id);
  };
  await Promise.all([loadStats(), loadRecipients(), loadLog(false), loadAudit(), loadCosts(), loadAb()]);

  async function tick() {
    if (stopped) return;
    if (c && LIVE.has(c.status) && !document.hidden) {
      try { await refresh(); } catch { /* keep the last view */ }
    }
    timer = setTimeout(tick, POLL_MS);
  }
  timer = setTimeout(tick, POLL_MS);
  return () => { stopped = true; clearTimeout(timer); };
}

function n0(v) { return Number(v) > 0; }

function errorCell(e) {
  if (!e) return '';
  const code = e.code != null ? `${e.code}: ` : '';
  return h('span', { title: e.code != null ? explain(e.code, e.explanation) : '' }, code + (e.text || ''));
}

/** Who paused a campaign (campaigns.pause_kind), in words; a kind we do not know as it is. */
function kindText(k) {
  return has('pausekind.' + (k || 'unknown')) ? t('pausekind.' + (k || 'unknown')) : k;
}
