// The lineage graph. Zoomed in, it is SVG with only what is on screen in the DOM; far
// out, the whole graph is drawn on a canvas (canvas.js), where each node is a rectangle
// in its status colour, dashed when virtual. Pan by dragging, zoom with the wheel, fit
// with fit(); a click picks a node (shift-click adds), in either mode. A partitioned
// node carries a strip along its bottom: its partitions' counts by status.
import { h, s } from '../dom.js';
import { countsText, partitionStrip } from '../partitions.js';
import { drawOverview, readPalette, traceEdge } from './canvas.js';
import { GROUP_HEAD, NODE_H, NODE_W } from './sizes.js';

const DETAIL_ZOOM = 0.4; // below this, the canvas overview
const MIN_ZOOM = 0.01;
const MAX_ZOOM = 2.5;

/** What a node's badge says: the run state when there is one, else the status. */
export const displayState = (asset) => asset.run_state ?? asset.status.toLowerCase();

/** What a node shows: redrawn when this changes. */
const drawnState = (asset) => (asset.partitions ? `${displayState(asset)} ${countsText(asset.partitions.counts)}` : displayState(asset));

/** A node's name for titles and tooltips, with its partition counts when partitioned. */
const describe = (asset) => `${asset.key}${asset.is_virtual ? ' (virtual)' : ''}: ${displayState(asset)}`
  + (asset.partitions ? ` (${countsText(asset.partitions.counts)})` : '');

export class GraphView {
  /** @param {{onPick: (keys: Set<string>, key: string|null) => void}} handlers */
  constructor(container, handlers) {
    this.handlers = handlers;
    this.assets = new Map();
    this.layout = null;
    this.view = { x: 0, y: 0, k: 1 };
    this.highlighted = null;
    this.picked = new Set();
    this.mounted = new Map(); // key -> {el}: the SVG nodes on screen
    this.edgeEls = [];
    this.frame = 0;

    this.viewport = s('g', { class: 'viewport' });
    this.groupLayer = s('g', { class: 'groups' });
    this.edgeLayer = s('g', { class: 'edges' });
    this.nodeLayer = s('g', { class: 'nodes' });
    this.viewport.append(this.groupLayer, this.edgeLayer, this.nodeLayer);
    this.svg = s('svg', { class: 'graph', role: 'img', 'aria-label': 'Asset lineage graph' },
      s('defs', null, s('marker', {
        id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
        orient: 'auto-start-reverse',
      }, s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))),
      this.viewport);
    this.canvas = h('canvas', { class: 'overview', 'aria-hidden': 'true' });
    this.tooltip = h('div', { class: 'tooltip', hidden: true });
    container.append(this.canvas, this.svg, this.tooltip);
    this.bindPointer();
    // Until the user pans or zooms, the view stays fitted (when the panel opens, say).
    this.fitted = null; // null, or the keys last fitted (an empty set for everything)
    new ResizeObserver(() => (this.fitted ? this.fit(this.fitted) : this.schedule())).observe(this.svg);
  }

  // Data ---------------------------------------------------------------------------
  /** New statuses for the same structure: redraw the mounted nodes whose state changed. */
  updateAssets(assets) {
    const before = this.assets;
    this.assets = new Map(assets.map((a) => [a.key, a]));
    for (const [key, m] of this.mounted) {
      const asset = this.assets.get(key);
      if (asset && (!before.has(key) || drawnState(asset) !== drawnState(before.get(key)))) {
        const el = this.nodeElement(asset);
        m.el.replaceWith(el);
        m.el = el;
      }
    }
    if (this.svg.dataset.mode === 'overview') this.schedule();
  }

  /** A new structure: its layout (from the worker pool) and its assets. */
  setLayout(layout, assets, edges) {
    this.layout = layout;
    this.edges = edges;
    this.assets = new Map(assets.map((a) => [a.key, a]));
    this.edgeBoxes = layout.paths.map(boundsOf);
    this.groupEdges = groupEdges(layout.groups, this.assets, edges);
    this.mounted.clear();
    this.nodeLayer.replaceChildren();
    this.edgeLayer.replaceChildren();
    this.edgeEls = new Array(edges.length).fill(null);
    this.groupLayer.replaceChildren(...layout.groups.map((g) => s('g', { class: 'group', 'data-group': g.name },
      s('rect', { x: g.x, y: g.y, width: g.width, height: g.height, rx: 12 }),
      s('text', { x: g.x + 14, y: g.y + GROUP_HEAD / 2 + 6 }, g.name || 'ungrouped'))));
    this.fit();
  }

  // Highlight and pick ---------------------------------------------------------------
  setHighlighted(keys) {
    this.highlighted = keys ? new Set(keys) : null;
    this.svg.classList.toggle('has-highlight', Boolean(this.highlighted));
    this.restyle();
  }

  setPicked(keys) {
    this.picked = new Set(keys);
    this.restyle();
  }

  restyle() {
    for (const [key, m] of this.mounted) this.styleNode(m.el, key);
    this.edgeEls.forEach((el, i) => el && this.styleEdge(el, i));
    if (this.svg.dataset.mode === 'overview') this.schedule();
  }

  styleNode(el, key) {
    el.classList.toggle('hl', Boolean(this.highlighted?.has(key)));
    el.classList.toggle('picked', this.picked.has(key));
  }

  styleEdge(el, i) {
    const [from, to] = this.edges[i];
    el.classList.toggle('hl', Boolean(this.highlighted?.has(from) && this.highlighted.has(to)));
  }

  // View -----------------------------------------------------------------------------
  /** Fit the given keys (or everything) in view. */
  fit(keys = null) {
    if (!this.layout) return;
    this.fitted = keys ?? new Set();
    const { width, height } = this.svg.getBoundingClientRect();
    if (!width || !height) return; // hidden: fitted when shown
    let box;
    if (keys && keys.size) {
      box = boundsOf([...keys].map((k) => this.layout.positions[k]).filter(Boolean));
      box = [box[0] - NODE_W / 2, box[1] - NODE_H / 2, box[2] + NODE_W / 2, box[3] + NODE_H / 2];
    } else {
      box = boundsOf(this.layout.groups.flatMap((g) => [[g.x, g.y], [g.x + g.width, g.y + g.height]]));
    }
    const [x0, y0, x1, y1] = box;
    const k = clamp(Math.min((width - 48) / (x1 - x0 || 1), (height - 48) / (y1 - y0 || 1)), MIN_ZOOM, 1.1);
    this.view = { k, x: width / 2 - k * (x0 + x1) / 2, y: height / 2 - k * (y0 + y1) / 2 };
    this.schedule();
  }

  /** Bring an asset into view (centred), zooming in far enough to read it if asked. */
  reveal(key, zoomIn = true) {
    const pos = this.layout?.positions[key];
    if (!pos) return;
    if (this.fitted) this.fit(this.fitted);
    const { width, height } = this.svg.getBoundingClientRect();
    const k = zoomIn ? Math.max(this.view.k, 0.8) : this.view.k;
    const [x, y] = pos;
    const [sx, sy] = [x * k + this.view.x, y * k + this.view.y];
    const [hw, hh] = [(k * NODE_W) / 2 + 8, (k * NODE_H) / 2 + 8];
    if (k === this.view.k && sx - hw >= 0 && sx + hw <= width && sy - hh >= 0 && sy + hh <= height) return;
    this.view = { k, x: width / 2 - k * x, y: height / 2 - k * y };
    this.fitted = null;
    this.schedule();
  }

  zoomBy(factor, cx = null, cy = null) {
    const rect = this.svg.getBoundingClientRect();
    const px = cx ?? rect.width / 2;
    const py = cy ?? rect.height / 2;
    const { x, y, k } = this.view;
    const k2 = clamp(k * factor, MIN_ZOOM, MAX_ZOOM);
    this.view = { k: k2, x: px - (px - x) * (k2 / k), y: py - (py - y) * (k2 / k) };
    this.fitted = null;
    this.schedule();
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  }

  /** Put on screen what is in view: the canvas overview far out, SVG nodes close in. */
  draw() {
    if (!this.layout) return;
    const { x, y, k } = this.view;
    const { width, height } = this.svg.getBoundingClientRect();
    const margin = 60 / k;
    const box = [-x / k - margin, -y / k - margin, (width - x) / k + margin, (height - y) / k + margin];
    const far = k < DETAIL_ZOOM;
    this.svg.dataset.mode = far ? 'overview' : 'detail';
    this.viewport.setAttribute('transform', `translate(${x},${y}) scale(${k})`);
    this.groupLayer.style.display = far ? 'none' : '';
    this.canvas.hidden = !far;
    if (far) {
      this.unmountAll();
      this.drawCanvas(width, height, box);
    } else {
      this.mountInView(box);
    }
    this.svg.dataset.mounted = String(this.mounted.size);
  }

  drawCanvas(width, height, box) {
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(width * dpr) || this.canvas.height !== Math.round(height * dpr)) {
      this.canvas.width = Math.round(width * dpr);
      this.canvas.height = Math.round(height * dpr);
    }
    this.palette ??= readPalette(this.svg); // (once attached: the colours are the page's)
    drawOverview(this.canvas.getContext('2d'), {
      ...this.layout, edges: this.edges, edgeBoxes: this.edgeBoxes, groupEdges: this.groupEdges,
      view: this.view, dpr, width, height, box,
      palette: this.palette, highlighted: this.highlighted, picked: this.picked,
      stateOf: (key) => {
        const a = this.assets.get(key);
        return { state: displayState(a), virtual: a.is_virtual };
      },
    });
  }

  unmountAll() {
    if (this.mounted.size) {
      this.nodeLayer.replaceChildren();
      this.mounted.clear();
    }
    if (this.edgeEls.some(Boolean)) {
      this.edgeLayer.replaceChildren();
      this.edgeEls.fill(null);
    }
  }

  /** Mount the nodes and edges in the box, unmount the others. */
  mountInView(box) {
    for (const [key, [cx, cy]] of Object.entries(this.layout.positions)) {
      const inView = cx + NODE_W / 2 > box[0] && cx - NODE_W / 2 < box[2]
        && cy + NODE_H / 2 > box[1] && cy - NODE_H / 2 < box[3];
      const m = this.mounted.get(key);
      if (inView && !m) {
        const el = this.nodeElement(this.assets.get(key));
        this.nodeLayer.append(el);
        this.mounted.set(key, { el });
      } else if (!inView && m) {
        m.el.remove();
        this.mounted.delete(key);
      }
    }
    this.edgeBoxes.forEach((b, i) => {
      const inView = b[2] > box[0] && b[0] < box[2] && b[3] > box[1] && b[1] < box[3];
      const el = this.edgeEls[i];
      if (inView && !el) {
        const path = s('path', { class: 'edge', d: pathData(this.layout.paths[i]), 'marker-end': 'url(#arrow)' });
        this.styleEdge(path, i);
        this.edgeLayer.append(path);
        this.edgeEls[i] = path;
      } else if (!inView && el) {
        el.remove();
        this.edgeEls[i] = null;
      }
    });
  }

  /** The node under a point of the graph's box (screen pixels), by position. */
  nodeAt(px, py) {
    const { x, y, k } = this.view;
    const wx = (px - x) / k;
    const wy = (py - y) / k;
    for (const [key, [cx, cy]] of Object.entries(this.layout?.positions ?? {})) {
      if (Math.abs(wx - cx) <= NODE_W / 2 && Math.abs(wy - cy) <= NODE_H / 2) return key;
    }
    return null;
  }

  // Nodes ----------------------------------------------------------------------------
  nodeElement(asset) {
    const [cx, cy] = this.layout.positions[asset.key];
    const state = displayState(asset);
    const cls = ['node', `status-${state}`, asset.is_virtual && 'virtual', asset.is_external && 'external'];
    const title = s('title', null, describe(asset));
    // Row one: the name, and a tag when virtual or external; row two: kinds and status.
    const flag = asset.is_virtual ? 'virtual' : asset.is_external ? 'external' : null;
    const flagW = flag ? flag.length * 6.4 + 12 : 0;
    const badgeW = 62;
    const el = s('g', { class: cls, 'data-key': asset.key, transform: `translate(${cx - NODE_W / 2},${cy - NODE_H / 2})` },
        title,
        s('rect', { class: 'box', width: NODE_W, height: NODE_H, rx: 8 }),
        s('text', { class: 'name', x: 12, y: 22 }, clip(asset.key.split('/').at(-1), Math.floor((NODE_W - 24 - flagW) / 8.2))),
        flag && s('g', { class: `tag tag-${flag}`, transform: `translate(${NODE_W - 10 - flagW},9)` },
          s('rect', { width: flagW, height: 17, rx: 3 }), s('text', { x: flagW / 2, y: 12.5 }, flag)),
        s('text', { class: 'kinds', x: 12, y: NODE_H - 11 }, clip(asset.kinds.join(' · '), Math.floor((NODE_W - 30 - badgeW) / 6.2))),
        s('g', { class: 'badge', transform: `translate(${NODE_W - 10 - badgeW},${NODE_H - 24})` },
          s('rect', { width: badgeW, height: 17, rx: 8.5 }),
          s('text', { x: badgeW / 2, y: 12.5 }, state)),
        asset.partitions && partitionStrip(asset.partitions, { x: 10, y: NODE_H - 6, width: NODE_W - 20, height: 4 }));
    this.styleNode(el, asset.key);
    return el;
  }

  // Pointer --------------------------------------------------------------------------
  bindPointer() {
    let drag = null;
    this.svg.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, view: { ...this.view }, moved: false };
      this.svg.setPointerCapture(e.pointerId);
    });
    this.svg.addEventListener('pointermove', (e) => {
      if (!drag) {
        this.hover(e);
        return;
      }
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      drag.moved = true;
      this.fitted = null;
      this.svg.classList.add('panning');
      this.view = { ...drag.view, x: drag.view.x + dx, y: drag.view.y + dy };
      this.schedule();
    });
    this.svg.addEventListener('pointerup', (e) => {
      if (!drag) return;
      const { moved } = drag;
      drag = null;
      this.svg.classList.remove('panning');
      if (moved) return;
      const key = this.keyAt(e);
      const additive = e.shiftKey || e.metaKey || e.ctrlKey;
      let picked;
      if (!key) picked = additive ? this.picked : new Set();
      else if (additive) {
        picked = new Set(this.picked);
        if (picked.has(key)) picked.delete(key); else picked.add(key);
      } else picked = new Set([key]);
      this.setPicked(picked);
      this.handlers.onPick(picked, key);
    });
    this.svg.addEventListener('pointerleave', () => { this.tooltip.hidden = true; });
    this.svg.addEventListener('wheel', (e) => {
      e.preventDefault();
      const rect = this.svg.getBoundingClientRect();
      const scale = e.deltaMode === 1 ? 40 : 1;
      this.zoomBy(Math.exp(-e.deltaY * scale * 0.0015), e.clientX - rect.left, e.clientY - rect.top);
    }, { passive: false });
  }

  /** The key of the node under the pointer: an SVG node, or on the canvas by position. */
  keyAt(e) {
    if (this.svg.dataset.mode === 'overview') {
      const rect = this.svg.getBoundingClientRect();
      return this.nodeAt(e.clientX - rect.left, e.clientY - rect.top);
    }
    // (pointer capture retargets events to the svg: look up what is under the pointer)
    const hit = document.elementFromPoint(e.clientX, e.clientY)?.closest('[data-key]');
    return hit && this.svg.contains(hit) ? hit.dataset.key : null;
  }

  /** On the canvas, name the node under the pointer (the SVG nodes have a title). */
  hover(e) {
    const key = this.svg.dataset.mode === 'overview' ? this.keyAt(e) : null;
    this.svg.classList.toggle('over-node', Boolean(key));
    this.tooltip.hidden = !key;
    if (!key) return;
    const a = this.assets.get(key);
    const rect = this.svg.getBoundingClientRect();
    this.tooltip.textContent = describe(a);
    this.tooltip.style.left = `${e.clientX - rect.left + 14}px`;
    this.tooltip.style.top = `${e.clientY - rect.top + 14}px`;
  }
}

// Geometry ---------------------------------------------------------------------------
/** The edges between groups, one per pair, with how many asset edges each stands for. */
function groupEdges(groups, assets, edges) {
  const box = new Map(groups.map((g) => [g.name, g]));
  const pairs = new Map();
  for (const [from, to] of edges) {
    const a = assets.get(from).group ?? '';
    const b = assets.get(to).group ?? '';
    if (a === b) continue;
    const id = `${a}\u0000${b}`;
    const pair = pairs.get(id) ?? pairs.set(id, { from: box.get(a), to: box.get(b), count: 0 }).get(id);
    pair.count += 1;
  }
  return [...pairs.values()];
}

function boundsOf(points) {
  let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
  for (const [x, y] of points) {
    if (x < x0) x0 = x;
    if (y < y0) y0 = y;
    if (x > x1) x1 = x;
    if (y > y1) y1 = y;
  }
  return [x0, y0, x1, y1];
}

/** A smooth path through an edge's points, as SVG path data. */
export function pathData(points) {
  const f = (n) => Math.round(n * 10) / 10;
  let d = '';
  traceEdge(points, (x, y) => { d += `M${f(x)},${f(y)}`; },
    (a, b, c, e, x, y) => { d += ` C${f(a)},${f(b)} ${f(c)},${f(e)} ${f(x)},${f(y)}`; });
  return d;
}

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const clip = (text, n) => (text.length > n ? `${text.slice(0, Math.max(0, n - 1))}…` : text);
