// Partitions on the page: the strip on a partitioned node of the graph (its partitions'
// counts by status, as one bar split in proportion), and the asset panel's grid (one
// cell per partition, coloured by its status; a click shows that partition's causes).
// The grid is one element per cell with one click listener on the grid, so a
// 1,000-partition asset is 1,000 spans and no fetch until a cell is clicked.
import { clear, h, s } from './dom.js';

export const STATUSES = ['FRESH', 'STALE', 'MISSING'];
const MIN_SEGMENT = 2; // graph units: a single stale partition of 1,000 stays visible

/** 'fresh 362 / stale 3 / missing 0', as `sheer status` prints it. */
export const countsText = (counts) => STATUSES.map((st) => `${st.toLowerCase()} ${counts[st] ?? 0}`).join(' / ');

/**
 * The strip's segments: [{status, x, width}] left to right, fresh then stale then missing,
 * widths in proportion to the counts and summing to `width`; a status with no partition
 * has no segment, one with some is at least MIN_SEGMENT wide.
 */
export function stripSegments(counts, width) {
  const present = STATUSES.filter((st) => (counts[st] ?? 0) > 0);
  const total = present.reduce((n, st) => n + counts[st], 0);
  if (total === 0) return [];
  const widths = present.map((st) => Math.max(MIN_SEGMENT, (width * counts[st]) / total));
  // Whatever the minimums added is taken from the widest segment.
  const widest = widths.indexOf(Math.max(...widths));
  widths[widest] -= widths.reduce((a, b) => a + b, 0) - width;
  let x = 0;
  return present.map((status, i) => {
    const segment = { status, x, width: widths[i] };
    x += widths[i];
    return segment;
  });
}

/** The SVG strip of a node: `partitions` is the graph payload's {total, counts}. */
export function partitionStrip(partitions, { x, y, width, height }) {
  const text = countsText(partitions.counts);
  return s('g', { class: 'partition-strip', transform: `translate(${x},${y})`, 'data-counts': text },
    s('title', null, `${partitions.total.toLocaleString()} partitions: ${text}`),
    s('rect', { class: 'strip-back', width, height, rx: height / 2 }),
    stripSegments(partitions.counts, width).map((seg) => s('rect', {
      class: ['strip-segment', `strip-${seg.status.toLowerCase()}`],
      'data-status': seg.status, x: seg.x, width: seg.width, height,
    })));
}

/**
 * The panel's grid of partitions with the details of the one clicked below it.
 * `load(partitionKey)` fetches one partition's status and causes (`?partition=`);
 * `renderCause(cause)` draws a cause as the panel does.
 */
export class PartitionGrid {
  constructor({ load, renderCause }) {
    this.load = load;
    this.renderCause = renderCause;
    this.chosen = null;
    this.cells = new Map();
    this.detail = h('div', { class: 'partition-detail', 'aria-live': 'polite' });
    this.grid = h('div', { class: 'partition-grid', role: 'list', onclick: (e) => {
      const cell = e.target.closest('[data-partition]');
      if (cell) this.choose(cell.dataset.partition);
    } });
    this.summary = h('p', { class: 'partition-summary' });
    this.el = h('div', { class: 'partitions-view' }, this.summary, this.grid, this.detail);
  }

  /** Draw the partitions ([{key, status}], in order); a chosen one stays chosen. */
  render(partitions) {
    const counts = Object.fromEntries(STATUSES.map((st) => [st, 0]));
    this.cells = new Map();
    const cells = partitions.map(({ key, status }) => {
      counts[status] += 1;
      const cell = h('span', { class: ['cell', `cell-${status.toLowerCase()}`], role: 'listitem', title: key, 'data-partition': key, 'data-status': status });
      this.cells.set(key, cell);
      return cell;
    });
    this.grid.replaceChildren(...cells);
    this.summary.textContent = `${partitions.length.toLocaleString()} partitions: ${countsText(counts)}`;
    if (this.chosen != null && this.cells.has(this.chosen)) this.choose(this.chosen);
    else {
      this.chosen = null;
      delete this.detail.dataset.partition;
      clear(this.detail, h('p', { class: 'muted' }, 'Click a partition for its status and why it is stale.'));
    }
    return this.el;
  }

  async choose(key) {
    this.cells.get(this.chosen)?.classList.remove('chosen');
    this.chosen = key;
    this.cells.get(key)?.classList.add('chosen');
    if (this.detail.dataset.partition !== key) { // a refresh of the same one keeps it on screen
      this.detail.dataset.partition = key;
      clear(this.detail, h('p', { class: 'muted' }, 'Loading…'));
    }
    let p;
    try {
      p = await this.load(key);
    } catch (err) {
      if (this.chosen === key) clear(this.detail, h('p', { class: 'error' }, err.message));
      return;
    }
    if (this.chosen !== key) return; // another cell was clicked meanwhile
    clear(this.detail, this.describe(p));
  }

  describe(p) {
    const state = p.status.toLowerCase();
    const direct = p.stale_causes.filter((c) => !p.root_causes.some((r) => r.text === c.text));
    return [
      h('div', { class: 'partition-head' },
        h('code', { class: 'partition-key' }, p.partition),
        h('span', { class: ['badge', `status-${state}`], 'data-status': state }, state),
        p.data_version && h('code', { class: 'muted', title: p.data_version }, `v ${p.data_version.slice(0, 12)}`)),
      p.status === 'STALE' && h('div', { class: 'why-stale' },
        h('h3', null, 'Why stale'),
        h('ul', { class: 'causes' }, p.root_causes.map((c) => this.renderCause(c))),
        direct.length > 0 && h('details', null, h('summary', null, 'Direct causes'),
          h('ul', { class: 'causes' }, direct.map((c) => this.renderCause(c))))),
      p.status === 'MISSING' && h('p', { class: 'muted' }, 'Never materialized for this partition.'),
    ];
  }
}
