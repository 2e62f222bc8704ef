// Dashboard: each WhatsApp account's health, campaigns running and paused, the system's state.
import { h } from '../dom.js';
import { get, listOf } from '../api.js';
import { t, has } from '../i18n.js';
import { num, date, duration, pct, waitText } from '../format.js';
import { pageHead, qualityChip, statusChip, progressBar, errorBox, empty, loading } from '../ui.js';

const POLL_MS = 5000;

export async function render(root, params, ctx) {
  const body = h('div', { class: 'dash' }, loading());
  const newBtn = ctx.can('admin') ? h('a', { href: '#/campaigns/new', class: 'btn btn-primary' }, t('campaigns.new')) : null;
  root.append(pageHead(t('dash.title'), newBtn), body);
  let timer = null, stopped = false;

  async function load() {
    let accounts = [], running = [], paused = [], scheduled = [];
    let error = null;
    try {
      const [a, r, p, s] = await Promise.all([
        get('/api/accounts'),
        get('/api/campaigns?status=running&limit=20'),
        get('/api/campaigns?status=paused&limit=20'),
        get('/api/campaigns?status=scheduled&limit=20'),
      ]);
      accounts = listOf(a, 'accounts');
      running = listOf(r, 'campaigns');
      paused = listOf(p, 'campaigns');
      scheduled = listOf(s, 'campaigns');
      // The current rate of each running campaign (only the detail has it).
      const details = await Promise.all(running.slice(0, 10).map((c) => get(`/api/campaigns/${c.id}`).catch(() => c)));
      running = details.concat(running.slice(10));
    } catch (e) { error = e; }
    if (stopped) return;
    const health = await ctx.refreshHealth();
    body.replaceChildren(
      error ? errorBox(error) : null,
      healthCard(health),
      h('section', { class: 'card', 'aria-labelledby': 'acc-h' },
        h('h2', { id: 'acc-h' }, t('dash.accounts')),
        accounts.length ? h('div', { class: 'acc-grid' }, accounts.map((a) => accountCard(a, running))) : empty(t('dash.noAccounts'))),
      h('section', { class: 'card', 'aria-labelledby': 'run-h' },
        h('h2', { id: 'run-h' }, t('dash.running'), ' ', h('span', { class: 'count' }, num(running.length))),
        running.length ? h('ul', { class: 'camp-mini' }, running.map((c) => campaignMini(c))) : empty(t('dash.noRunning'))),
      paused.length || scheduled.length ? h('section', { class: 'card', 'aria-labelledby': 'pa-h' },
        h('h2', { id: 'pa-h' }, t('dash.pausedScheduled')),
        h('ul', { class: 'camp-mini' }, paused.concat(scheduled).map((c) => campaignMini(c)))) : null);
    timer = setTimeout(load, POLL_MS);
  }
  await load();
  return () => { stopped = true; clearTimeout(timer); };
}

function healthCard(hl) {
  if (!hl) return errorBox({ message: t('health.offline') });
  const items = [
    [t('health.database'), hl.database === 'ok' ? t('health.ok') : t('health.unreachable'), hl.database === 'ok'],
    [t('health.workers'), num(hl.workers_alive ?? 0), (hl.workers_alive ?? 0) > 0],
    [t('health.backlog'), num(hl.webhook_backlog ?? 0), (hl.webhook_backlog ?? 0) < 1000],
    [t('health.oldest'), hl.oldest_pending_age_s == null ? '—' : duration(hl.oldest_pending_age_s), (hl.oldest_pending_age_s ?? 0) < 600],
  ];
  return h('section', { class: 'card health', 'aria-labelledby': 'health-h' },
    h('h2', { id: 'health-h' }, t('health.title')),
    hl.sandbox ? h('p', { class: 'alert alert-sandbox' }, h('strong', t('sandbox.badge')), ' — ', t('sandbox.explain')) : null,
    h('dl', { class: 'stats' }, items.map(([k, v, ok]) => h('div', { class: ['stat', ok ? 'ok' : 'bad'] }, h('dt', k), h('dd', v)))));
}

function accountCard(a, running) {
  const tu = a.tier_usage || {};
  const limit = tu.limit ?? a.daily_unique_users_limit;
  const used = tu.used_last_24h;
  const hl = a.health || {};
  const mine = running.filter((c) => c.account_id === a.id);
  const perMin = mine.reduce((sum, c) => sum + (Number(c.progress && c.progress.rate_per_minute) || 0), 0);
  const tierLabel = a.messaging_tier ? t('tier.' + a.messaging_tier) : '—';
  let budget;
  if (used != null && limit) {
    const level = tu.percent >= 90 ? 'bad' : tu.percent >= 70 ? 'warn' : 'ok';
    const fill = h('span', { class: 'budget-fill' });
    fill.style.width = Math.min(100, Number(tu.percent ?? pct(used, limit)) || 0) + '%'; // CSSOM: allowed by the CSP
    const bar = h('div', { class: ['budget-bar', 'budget-' + level], role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': limit,
      'aria-valuenow': Math.min(used, limit), 'aria-label': t('dash.budgetUsed') }, fill);
    budget = h('div', { class: 'budget' }, bar,
      h('span', t('dash.budgetOf', { used: num(used), limit: num(limit), pct: tu.percent ?? pct(used, limit) })),
      tu.remaining != null ? h('span', { class: 'block small muted' }, t('dash.budgetLeft', { n: num(tu.remaining) })) : null);
  } else if (used != null) {
    budget = h('span', t('dash.budgetUnlimited', { used: num(used) + (tu.used_at_least ? '+' : '') }));
  } else {
    budget = h('span', { class: 'muted' }, limit ? t('dash.budgetLimit', { limit: num(limit) }) : t('tier.TIER_UNLIMITED'));
  }
  // What Meta said (webhooks) and what stops sending; server texts go in as text.
  const reasons = [];
  if (hl.restricted) {
    reasons.push(h('li', { class: 'restricted' }, h('strong', t('dash.restricted')),
      hl.restriction_until ? ' ' + t('dash.restrictedUntil', { d: date(hl.restriction_until) }) : '',
      hl.account_event ? ' (' + (has('metaev.' + hl.account_event) ? t('metaev.' + hl.account_event) : hl.account_event) + ')' : ''));
  } else if (hl.account_event) {
    reasons.push(h('li', t('dash.accountEvent', { e: has('metaev.' + hl.account_event) ? t('metaev.' + hl.account_event) : hl.account_event }),
      hl.account_updated_at ? ' · ' + date(hl.account_updated_at) : ''));
  }
  if (hl.quality_event) {
    reasons.push(h('li', t('dash.qualityEvent', { e: has('metaev.' + hl.quality_event) ? t('metaev.' + hl.quality_event) : hl.quality_event }),
      hl.quality_updated_at ? ' · ' + date(hl.quality_updated_at) : ''));
  }
  if (a.campaigns_enabled === false) reasons.push(h('li', t('dash.flagOff')));
  if (a.credentials && a.credentials.access_token && !a.credentials.access_token.set) reasons.push(h('li', t('dash.noToken')));
  const byMeta = Array.isArray(a.paused_by_meta) ? a.paused_by_meta : [];
  return h('article', { class: ['acc-card', hl.restricted ? 'acc-restricted' : null], 'aria-label': a.name || a.display_phone || '' },
    h('header', h('h3', a.name || '—'), a.sandbox ? h('span', { class: 'badge-sandbox badge-sm' }, t('sandbox.badge')) : null),
    h('p', { class: 'muted' }, a.display_phone || a.phone_number_id || ''),
    h('dl', { class: 'kv' },
      h('dt', t('acc.quality')), h('dd', qualityChip(a.quality_rating)),
      h('dt', t('acc.tier')), h('dd', tierLabel),
      h('dt', t('dash.budget')), h('dd', budget),
      h('dt', t('dash.throughput')), h('dd', t('dash.throughputVal', { now: num(Math.round(perMin)), max: num(a.throughput_mps) })),
      h('dt', t('acc.flag')), h('dd', h('span', { class: ['chip', a.campaigns_enabled ? 'chip-ok' : 'chip-bad'] },
        a.campaigns_enabled ? t('acc.flagOn') : t('acc.flagOff')))),
    reasons.length ? h('div', { class: 'alert alert-warn' }, h('strong', t('dash.pauseReasons')), h('ul', reasons)) : null,
    byMeta.length ? h('div', { class: 'alert alert-warn paused-by-meta' },
      h('strong', t('dash.pausedByMeta')),
      h('ul', byMeta.map((c) => h('li',
        h('a', { href: `#/campaigns/${c.campaign_id}` }, c.name || `#${c.campaign_id}`), ' — ',
        h('span', { class: 'chip' }, kindText(c.pause_kind)), ' ',
        c.pause_reason || '',
        c.resumable === false ? h('span', { class: 'block small' }, t('resume.meta_must_lift')) : null)))) : null);
}

function campaignMini(c) {
  const p = c.progress || {};
  return h('li', { class: 'camp-mini-item' },
    h('div', { class: 'row' },
      h('a', { href: `#/campaigns/${c.id}`, class: 'camp-name' }, c.name || `#${c.id}`), ' ', statusChip(c.status),
      h('span', { class: 'muted right' }, p.percent != null ? `${p.percent}%` : '',
        p.rate_per_minute ? ' · ' + t('camp.ratePerMin', { n: num(Math.round(p.rate_per_minute)) }) : '',
        p.eta_seconds ? ' · ' + t('camp.eta', { d: duration(p.eta_seconds) }) : '',
        c.status === 'scheduled' && c.scheduled_at ? ' · ' + t('camp.scheduledFor', { d: date(c.scheduled_at) }) : '')),
    progressBar(c.counters || {}),
    c.status === 'running' && c.wait_reason ? h('p', { class: 'small muted' }, t('camp.waiting'), ': ', waitText(c.wait_reason)) : null,
    c.status === 'paused' && c.pause_reason ? h('p', { class: 'pause-reason' }, t('camp.pauseReason'), ': ', c.pause_reason,
      c.pause_kind ? [' (', kindText(c.pause_kind), ')'] : '') : null);
}

/** Who paused a campaign (campaigns.pause_kind), in words; a kind we do not know as it is. */
function kindText(k) {
  return has('pausekind.' + (k || 'unknown')) ? t('pausekind.' + (k || 'unknown')) : k;
}
