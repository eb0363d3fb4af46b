// The runs page (every run; one run's steps, timings, logs and errors) and the live
// progress card of a run launched from the page.
import { get } from './api.js';
import { clear, formatDuration, formatTime, h, pill, shortId } from './dom.js';

const FINISHED = new Set(['SUCCESS', 'FAILURE', 'CANCELED']);

export class RunsPage {
  constructor() {
    this.el = h('section', { class: 'page runs-page', hidden: true });
    this.timer = 0;
  }

  /** Show the list (runId null) or one run; keep it current while shown. */
  async show(runId) {
    this.el.hidden = false;
    this.runId = runId;
    clearTimeout(this.timer);
    clear(this.el, h('p', { class: 'muted' }, 'Loading…'));
    await this.refresh();
  }

  hide() {
    this.el.hidden = true;
    clearTimeout(this.timer);
  }

  async refresh() {
    const runId = this.runId;
    let again = 3000;
    try {
      if (runId) {
        const detail = await get(`/api/runs/${encodeURIComponent(runId)}`);
        if (this.el.hidden || this.runId !== runId) return;
        clear(this.el, runDetail(detail));
        if (!FINISHED.has(detail.run.status)) again = 800;
      } else {
        const { runs } = await get('/api/runs?limit=100');
        if (this.el.hidden || this.runId !== runId) return;
        clear(this.el, runList(runs));
      }
    } catch (err) {
      clear(this.el, h('p', { class: 'error' }, err.message));
    }
    if (!this.el.hidden) this.timer = setTimeout(() => this.refresh(), again);
  }
}

function launchedBy(tags) {
  if (tags['dagster/backfill']) return `backfill ${tags['dagster/backfill']}`;
  if (tags['sheer/from_ui']) return 'UI';
  if (tags['sheer/from_automation']) return 'automation';
  return 'API / CLI';
}

function runList(runs) {
  return [
    h('h2', null, 'Runs'),
    runs.length === 0 ? h('p', { class: 'muted' }, 'No runs yet. Select assets on the graph and press Materialize.')
      : h('table', { class: 'grid runs' },
        h('thead', null, h('tr', null, ['Run', 'Status', 'Assets', 'Launched by', 'Created', 'Duration'].map((t) => h('th', null, t)))),
        h('tbody', null, runs.map((r) => h('tr', { 'data-run': r.run_id },
          h('td', null, h('a', { href: `#/runs/${r.run_id}` }, h('code', null, shortId(r.run_id)))),
          h('td', null, pill(r.status)),
          h('td', { class: 'assets-cell' }, r.assets.slice(0, 6).join(', '), r.assets.length > 6 ? ` +${r.assets.length - 6}` : ''),
          h('td', null, launchedBy(r.tags)),
          h('td', null, formatTime(r.created_at)),
          h('td', null, formatDuration(r.duration)))))),
  ];
}

function runDetail({ run, steps, events }) {
  const start = run.started_at ?? run.created_at;
  const end = run.ended_at ?? Math.max(start, ...steps.map((s) => s.finished_at ?? Date.now() / 1000));
  const span = Math.max(end - start, 1e-3);
  const bar = (s) => {
    if (s.started_at == null) return null;
    const left = ((s.started_at - start) / span) * 100;
    const width = (((s.finished_at ?? end) - s.started_at) / span) * 100;
    return h('div', { class: 'timeline' }, h('div', { class: ['bar', `pill-${s.status}`], style: `left:${left}%;width:${Math.max(width, 0.5)}%` }));
  };
  return [
    h('p', null, h('a', { href: '#/runs' }, '← All runs')),
    h('h2', null, 'Run ', h('code', null, shortId(run.run_id)), ' ', pill(run.status)),
    h('p', { class: 'muted' }, `${launchedBy(run.tags)} · created ${formatTime(run.created_at)} · duration ${formatDuration(run.duration)} · ${run.executor ?? ''} executor · ${run.assets.length} assets`),
    run.error && h('pre', { class: 'error-box' }, run.error),
    h('h3', null, 'Steps'),
    steps.length === 0 ? h('p', { class: 'muted' }, 'No step has started yet.')
      : h('table', { class: 'grid steps' },
        h('thead', null, h('tr', null, ['Step', 'Status', 'Started', 'Duration', 'Timeline'].map((t) => h('th', null, t)))),
        h('tbody', null, steps.map((s) => [
          h('tr', { 'data-step': s.step },
            h('td', null, s.step),
            h('td', null, pill(s.status)),
            h('td', null, s.started_at == null ? '—' : `+${formatDuration(s.started_at - start)}`),
            h('td', null, formatDuration(s.duration)),
            h('td', { class: 'timeline-cell' }, bar(s))),
          s.error && h('tr', { class: 'step-error' }, h('td', { colspan: 5 }, errorBox(s.error))),
        ]))),
    h('h3', null, 'Logs'),
    h('table', { class: 'grid logs' }, h('tbody', null, events.map((e) => [
      h('tr', { class: [`ev-${e.type.toLowerCase()}`, e.level && `lvl-${String(e.level).toLowerCase()}`] },
        h('td', { class: 'time' }, formatTime(e.timestamp)),
        h('td', null, h('code', null, e.type)),
        h('td', null, e.step ?? ''),
        h('td', { class: 'message' }, e.message ?? '')),
      e.error && e.type !== 'STEP_FAILURE' && h('tr', null, h('td', { colspan: 4 }, errorBox(e.error))),
    ]))),
  ];
}

function errorBox(error) {
  const head = [error.cls_name, error.message].filter(Boolean).join(': ');
  return h('div', { class: 'error-box' }, h('strong', null, head || 'Error'),
    error.traceback && h('details', null, h('summary', null, 'Traceback'), h('pre', null, error.traceback)));
}

/** The card that follows a run launched from the page until it ends. */
export class RunProgress {
  constructor(container, onUpdate) {
    this.el = h('div', { class: 'run-cards', 'aria-live': 'polite' });
    this.onUpdate = onUpdate;
    container.append(this.el);
  }

  follow(runId) {
    const card = h('div', { class: 'run-card', 'data-run': runId });
    this.el.prepend(card);
    const poll = async () => {
      let detail;
      try {
        detail = await get(`/api/runs/${encodeURIComponent(runId)}`);
      } catch (err) {
        clear(card, h('p', { class: 'error' }, err.message));
        return;
      }
      const { run, steps } = detail;
      const done = steps.filter((s) => s.status !== 'running').length;
      card.dataset.status = run.status;
      clear(card,
        h('div', { class: 'run-card-head' },
          h('a', { href: `#/runs/${runId}` }, `Run ${shortId(runId)}`), pill(run.status),
          h('span', { class: 'muted' }, `${done}/${run.assets.length} steps`),
          h('button', { class: 'icon', 'aria-label': 'Dismiss', onclick: () => card.remove() }, '×')),
        h('ol', { class: 'run-steps' }, steps.map((s) => h('li', { class: `pill-${s.status}` }, s.step, ' ', h('span', { class: 'muted' }, s.status)))),
        run.error && h('p', { class: 'error' }, run.error.split('\n')[0]));
      this.onUpdate(run);
      if (!FINISHED.has(run.status)) setTimeout(poll, 600);
      else setTimeout(() => card.remove(), 20000);
    };
    poll();
  }

  error(message) {
    const card = h('div', { class: 'run-card error', role: 'alert' },
      h('div', { class: 'run-card-head' }, h('strong', null, 'Could not launch'),
        h('button', { class: 'icon', 'aria-label': 'Dismiss', onclick: () => card.remove() }, '×')),
      h('p', null, message));
    this.el.prepend(card);
  }
}
