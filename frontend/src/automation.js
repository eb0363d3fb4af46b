// The automation page: recent ticks, what each requested, and each evaluated asset's
// condition tree (which sub-condition was true, and whether it looked through views).
import { get } from './api.js';
import { clear, formatDuration, formatTime, h, keyPath, pill, shortId } from './dom.js';
import { evaluationTree } from './tree.js';

export class AutomationPage {
  constructor() {
    this.el = h('section', { class: 'page automation-page', hidden: true });
    this.timer = 0;
  }

  async show(tickId) {
    this.el.hidden = false;
    this.tickId = tickId;
    clearTimeout(this.timer);
    clear(this.el, h('p', { class: 'muted' }, 'Loading…'));
    await this.refresh();
  }

  hide() {
    this.el.hidden = true;
    clearTimeout(this.timer);
  }

  async refresh() {
    const tickId = this.tickId;
    try {
      const { ticks } = await get('/api/automation/ticks?limit=50');
      const chosen = tickId ?? ticks[0]?.tick_id ?? null;
      const detail = chosen == null ? null : await get(`/api/automation/ticks/${chosen}`);
      if (this.el.hidden || this.tickId !== tickId) return;
      const open = new Set([...this.el.querySelectorAll('details[open][data-key]')].map((d) => d.dataset.key));
      clear(this.el, h('h2', null, 'Automation'),
        h('div', { class: 'automation-layout' }, tickList(ticks, chosen), detail && tickDetail(detail.tick, detail.evaluations, open)));
    } catch (err) {
      clear(this.el, h('p', { class: 'error' }, err.message));
    }
    if (!this.el.hidden) this.timer = setTimeout(() => this.refresh(), 5000);
  }
}

function tickList(ticks, chosen) {
  if (ticks.length === 0) {
    return h('p', { class: 'muted' }, 'No ticks yet: `sheer dev` runs the automation daemon (every 30 s by default).');
  }
  return h('table', { class: 'grid ticks' },
    h('thead', null, h('tr', null, ['Tick', 'Time', 'Status', 'Requested', 'Duration'].map((t) => h('th', null, t)))),
    h('tbody', null, ticks.map((t) => h('tr', { class: t.tick_id === chosen && 'chosen', 'data-tick': t.tick_id },
      h('td', null, h('a', { href: `#/automation/${t.tick_id}` }, `#${t.tick_id}`)),
      h('td', null, formatTime(t.timestamp)),
      h('td', null, pill(t.status)),
      h('td', null, t.requested.length ? t.requested.join(', ') : h('span', { class: 'muted' }, 'nothing')),
      h('td', null, formatDuration(t.duration))))));
}

function tickDetail(tick, evaluations, open) {
  return h('div', { class: 'tick-detail' },
    h('h3', null, `Tick #${tick.tick_id}`),
    h('p', null, pill(tick.status), ' ', formatTime(tick.timestamp), ' · ',
      tick.requested.length ? `requested ${tick.requested.join(', ')}` : 'requested nothing',
      tick.run_ids.map((id) => [' · ', h('a', { href: `#/runs/${id}` }, `run ${shortId(id)}`)])),
    tick.error && h('p', { class: 'error' }, tick.error),
    evaluations.length === 0 ? h('p', { class: 'muted' }, 'No evaluation recorded for this tick (unchanged assets are not recorded again).')
      : h('div', { class: 'evaluations' }, evaluations.map((e) => h('details', {
        class: ['evaluation', e.value ? 'true' : 'false'], 'data-key': e.key, open: open.has(e.key) || evaluations.length <= 5,
      },
      h('summary', null, h('span', { class: 'mark' }, e.value ? '✓' : '✗'), ' ',
        h('a', { href: `#/assets/${keyPath(e.key)}` }, e.key),
        e.requested && h('span', { class: 'tag tag-requested' }, 'requested')),
      e.error && h('p', { class: 'error' }, e.error),
      e.tree && evaluationTree(e.tree)))));
}
