// Backfills on the page: the backfills page (#/backfills: every backfill with its
// progress bar; #/backfills/ID: one backfill's progress per asset, Cancel and Resume)
// and the panel's Backfill form of a partitioned asset. Backfills run in the server (or
// the daemon); the page only polls their progress, fast while one is still moving.
import { get, post } from './api.js';
import { clear, formatTime, h, keyPath, pill } from './dom.js';

const ACTIVE_MS = 1000;
const IDLE_MS = 10000;
const SEGMENTS = ['done', 'failed', 'in_progress'];

/** Still moving: more runs to start, or a run (of a canceled backfill too) to finish. */
const isActive = (b) => b.status === 'REQUESTED' || b.progress.in_progress > 0;

/**
 * The bar's segments: [{part, percent}] for done, failed and in progress (in that order,
 * as shares of the total; what is left is to do). A part with no entity has no segment.
 */
export function progressSegments(counts) {
  if (!counts.total) return [];
  return SEGMENTS.filter((part) => counts[part] > 0)
    .map((part) => ({ part, percent: (100 * counts[part]) / counts.total }));
}

/** '12/30', and what failed or runs: the text beside a bar. */
export function progressText(counts) {
  const extra = [counts.failed && `${counts.failed} failed`, counts.in_progress && `${counts.in_progress} running`].filter(Boolean);
  return `${counts.done}/${counts.total}${extra.length ? ` · ${extra.join(' · ')}` : ''}`;
}

/** A progress bar over a backfill's (or one asset's) counts. */
export function progressBar(counts) {
  const title = `done ${counts.done} / failed ${counts.failed} / in progress ${counts.in_progress} / to do ${counts.remaining} (of ${counts.total})`;
  return h('div', { class: 'backfill-progress', title },
    h('div', {
      class: 'progress-bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': counts.total, 'aria-valuenow': counts.done,
      'data-done': counts.done, 'data-failed': counts.failed, 'data-total': counts.total,
    }, progressSegments(counts).map((seg) => h('span', {
      class: ['progress-segment', `progress-${seg.part.replace('_', '-')}`], style: `width:${seg.percent}%`,
    }))),
    h('span', { class: 'progress-text' }, progressText(counts)));
}

export class BackfillsPage {
  constructor() {
    this.el = h('section', { class: 'page backfills-page', hidden: true });
    this.timer = 0;
    this.message = null; // an action's error, kept on screen across refreshes
  }

  /** Show the list (backfillId null) or one backfill; keep it current while shown. */
  async show(backfillId) {
    this.el.hidden = false;
    if (backfillId !== this.backfillId) this.message = null;
    this.backfillId = backfillId;
    clearTimeout(this.timer);
    clear(this.el, h('p', { class: 'muted' }, 'Loading…'));
    await this.refresh();
  }

  hide() {
    this.el.hidden = true;
    clearTimeout(this.timer);
  }

  async refresh() {
    clearTimeout(this.timer);
    const backfillId = this.backfillId;
    let again = IDLE_MS;
    try {
      if (backfillId) {
        const backfill = await get(`/api/backfills/${encodeURIComponent(backfillId)}`);
        if (this.el.hidden || this.backfillId !== backfillId) return;
        clear(this.el, this.detail(backfill));
        if (isActive(backfill)) again = ACTIVE_MS;
      } else {
        const { backfills } = await get('/api/backfills?limit=100');
        if (this.el.hidden || this.backfillId !== backfillId) return;
        clear(this.el, backfillList(backfills));
        if (backfills.some(isActive)) again = ACTIVE_MS;
      }
    } catch (err) {
      if (this.backfillId !== backfillId) return;
      clear(this.el, backfillId && h('p', null, h('a', { href: '#/backfills' }, '← All backfills')),
        h('p', { class: 'error' }, err.message));
    }
    if (!this.el.hidden) this.timer = setTimeout(() => this.refresh(), again);
  }

  detail(b) {
    const action = (verb) => async () => {
      this.message = null;
      try {
        await post(`/api/backfills/${encodeURIComponent(b.backfill_id)}/${verb}`, {});
      } catch (err) {
        this.message = err.message;
      }
      await this.refresh();
    };
    const stopped = b.status === 'FAILED' || b.status === 'CANCELED';
    return [
      h('p', null, h('a', { href: '#/backfills' }, '← All backfills')),
      h('h2', { class: 'backfill-title' }, 'Backfill ', h('code', null, b.backfill_id), ' ', pill(b.status)),
      h('p', { class: 'muted' }, `${launchedBy(b.tags)} · created ${formatTime(b.created_at)} · updated ${formatTime(b.updated_at)}`),
      progressBar(b.progress),
      h('div', { class: 'backfill-actions' },
        h('button', { class: 'cancel', disabled: b.status !== 'REQUESTED', onclick: action('cancel'), title: 'No further run starts; a run in progress finishes.' }, 'Cancel'),
        h('button', { class: 'resume', disabled: !stopped, onclick: action('resume'), title: 'Run what is not done yet; what is done stays done.' }, 'Resume')),
      this.message && h('p', { class: 'error action-error', role: 'alert' }, this.message),
      b.error && h('pre', { class: 'error-box' }, b.error),
      h('h3', null, 'Per asset'),
      h('table', { class: 'grid backfill-assets' },
        h('thead', null, h('tr', null, ['Asset', 'Partitions', 'Progress'].map((t) => h('th', null, t)))),
        h('tbody', null, Object.entries(b.per_asset).map(([key, counts]) => h('tr', { 'data-asset': key },
          h('td', null, h('a', { href: `#/assets/${keyPath(key)}` }, key)),
          h('td', null, counts.total.toLocaleString()),
          h('td', { class: 'progress-cell' }, progressBar(counts)))))),
    ];
  }
}

function launchedBy(tags) {
  return tags['sheer/from_ui'] ? 'from the UI' : 'from the API / CLI';
}

function backfillList(backfills) {
  return [
    h('h2', null, 'Backfills'),
    backfills.length === 0 ? h('p', { class: 'muted' }, 'No backfills yet. Open a partitioned asset and use its Backfill form, or run `sheer backfill`.')
      : h('table', { class: 'grid backfills' },
        h('thead', null, h('tr', null, ['Backfill', 'Status', 'Assets', 'Created', 'Progress'].map((t) => h('th', null, t)))),
        h('tbody', null, backfills.map((b) => h('tr', { 'data-backfill': b.backfill_id, 'data-status': b.status },
          h('td', null, h('a', { href: `#/backfills/${b.backfill_id}` }, h('code', null, b.backfill_id))),
          h('td', null, pill(b.status)),
          h('td', { class: 'assets-cell' }, b.assets.slice(0, 6).join(', '), b.assets.length > 6 ? ` +${b.assets.length - 6}` : ''),
          h('td', null, formatTime(b.created_at)),
          h('td', { class: 'progress-cell' }, progressBar(b.progress)))))),
  ];
}

/**
 * The asset panel's form: backfill a partitioned asset from one key to another (both
 * included), prefilled with its first and last keys; on success the page shows the
 * backfill, on an error the server's message is shown under the form. The form element
 * is kept across the panel's refreshes, so what was typed stays.
 */
export class BackfillForm {
  constructor(assetKey, partitions) {
    this.assetKey = assetKey;
    const keys = partitions.map((p) => p.key);
    const listId = `backfill-keys-${Math.random().toString(36).slice(2)}`;
    const input = (name, label, value) => h('label', null, label,
      h('input', { name, value: value ?? '', list: listId, autocomplete: 'off', spellcheck: 'false', 'aria-label': `Backfill ${label.toLowerCase()}` }));
    this.from = input('from', 'From', keys[0]).lastChild;
    this.to = input('to', 'To', keys[keys.length - 1]).lastChild;
    this.button = h('button', { type: 'submit', class: 'small' }, 'Backfill');
    this.message = h('p', { class: 'error backfill-error', role: 'alert', hidden: true });
    this.el = h('form', { class: 'backfill-form', onsubmit: (e) => { e.preventDefault(); this.submit(); } },
      h('div', { class: 'backfill-fields' }, this.from.parentNode, this.to.parentNode, this.button),
      h('datalist', { id: listId }, keys.slice(0, 2000).map((k) => h('option', { value: k }))),
      this.message);
  }

  async submit() {
    this.message.hidden = true;
    this.button.disabled = true;
    const range = [this.from.value.trim(), this.to.value.trim()];
    try {
      const { backfill_id: id } = await post('/api/backfills', { selection: [this.assetKey], partition_range: range });
      location.hash = `#/backfills/${id}`;
    } catch (err) {
      this.message.textContent = err.message;
      this.message.hidden = false;
    } finally {
      this.button.disabled = false;
    }
  }
}
