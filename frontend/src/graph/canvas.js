// The overview: far out, the whole graph is drawn on a canvas (thousands of SVG
// elements repaint too slowly to pan and zoom). One path per style, so a 5,000-asset
// graph is a few dozen draw calls. Nodes here are rectangles in their status colour,
// dashed in the virtual colour when virtual; the SVG takes over when zoomed in.
import { NODE_H, NODE_W } from './sizes.js';

const STATES = ['fresh', 'stale', 'missing', 'running', 'failed'];
// With more edges than this in view, the overview draws one line per pair of groups
// (thicker for more edges) instead: thousands of long curves are slow to paint and
// unreadable anyway. Highlighted edges are always drawn one by one.
const EDGE_LIMIT = 1500;

/** The colours, read once from the stylesheet's custom properties. */
export function readPalette(el) {
  const css = getComputedStyle(el);
  const v = (name) => css.getPropertyValue(name).trim();
  const palette = { virtual: v('--virtual'), accent: v('--accent'), highlight: '#bf8700' };
  for (const st of STATES) palette[st] = [v(`--${st}-bg`), v(`--${st}`)];
  return palette;
}

/** Trace the smooth path through an edge's points (see pathData in view.js). */
export function traceEdge(points, moveTo, curveTo) {
  moveTo(points[0][0], points[0][1]);
  if (points.length === 2) {
    const [[x1, y1], [x2, y2]] = points;
    const dx = Math.max(40, Math.abs(x2 - x1) / 2);
    curveTo(x1 + dx, y1, x2 - dx, y2, x2, y2);
    return;
  }
  for (let i = 0; i < points.length - 1; i++) {
    const p0 = points[Math.max(0, i - 1)];
    const p1 = points[i];
    const p2 = points[i + 1];
    const p3 = points[Math.min(points.length - 1, i + 2)];
    curveTo(p1[0] + (p2[0] - p0[0]) / 6, p1[1] + (p2[1] - p0[1]) / 6,
      p2[0] - (p3[0] - p1[0]) / 6, p2[1] - (p3[1] - p1[1]) / 6, p2[0], p2[1]);
  }
}

/**
 * Draw everything in `box` (the world rectangle in view).
 * @param {CanvasRenderingContext2D} ctx
 */
export function drawOverview(ctx, g) {
  const { view: { x, y, k }, dpr, width, height, box, palette, stateOf } = g;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * x, dpr * y);
  const px = 1 / k; // one screen pixel in world units
  const inBox = (x0, y0, x1, y1) => x1 > box[0] && x0 < box[2] && y1 > box[1] && y0 < box[3];

  // Groups, with their names at a readable size.
  ctx.lineWidth = px;
  ctx.fillStyle = '#f1f4f8';
  ctx.strokeStyle = '#c9d1d9';
  ctx.beginPath();
  for (const gr of g.groups) if (inBox(gr.x, gr.y, gr.x + gr.width, gr.y + gr.height)) ctx.rect(gr.x, gr.y, gr.width, gr.height);
  ctx.fill();
  ctx.stroke();

  // Edges: dimmed ones first, highlighted ones on top.
  const hl = g.highlighted;
  const edgeBatches = [[], []];
  g.paths.forEach((points, i) => {
    const b = g.edgeBoxes[i];
    if (!inBox(b[0], b[1], b[2], b[3])) return;
    const [from, to] = g.edges[i];
    edgeBatches[hl && hl.has(from) && hl.has(to) ? 1 : 0].push(points);
  });
  const moveTo = (a, b) => ctx.moveTo(a, b);
  const curveTo = (...c) => ctx.bezierCurveTo(...c);
  if (edgeBatches[0].length > EDGE_LIMIT) {
    ctx.globalAlpha = hl ? 0.2 : 0.55;
    ctx.strokeStyle = '#8c959f';
    for (const { from, to, count } of g.groupEdges) {
      ctx.lineWidth = (1 + Math.log2(count)) * px;
      ctx.beginPath();
      traceEdge([[from.x + from.width, from.y + from.height / 2], [to.x, to.y + to.height / 2]], moveTo, curveTo);
      ctx.stroke();
    }
    edgeBatches[0] = [];
  }
  for (const [batch, colour, alpha] of [[edgeBatches[0], '#8c959f', hl ? 0.15 : 0.7], [edgeBatches[1], palette.highlight, 1]]) {
    if (!batch.length) continue;
    ctx.globalAlpha = alpha;
    ctx.strokeStyle = colour;
    ctx.lineWidth = (hl && colour !== palette.highlight ? 1 : 1.2) * px;
    ctx.beginPath();
    for (const points of batch) traceEdge(points, moveTo, curveTo);
    ctx.stroke();
  }

  // Nodes, batched by (status, virtual, highlighted).
  const batches = new Map();
  for (const [key, [cx, cy]] of Object.entries(g.positions)) {
    if (!inBox(cx - NODE_W / 2, cy - NODE_H / 2, cx + NODE_W / 2, cy + NODE_H / 2)) continue;
    const { state, virtual } = stateOf(key);
    const id = `${state}|${virtual ? 1 : 0}|${!hl || hl.has(key) ? 1 : 0}`;
    if (!batches.has(id)) batches.set(id, []);
    batches.get(id).push([cx - NODE_W / 2, cy - NODE_H / 2]);
  }
  for (const [id, rects] of batches) {
    const [state, virtual, lit] = id.split('|');
    const [fill, stroke] = palette[state] ?? palette.missing;
    ctx.globalAlpha = lit === '1' ? 1 : 0.15;
    ctx.beginPath();
    for (const [rx, ry] of rects) ctx.rect(rx, ry, NODE_W, NODE_H);
    ctx.fillStyle = fill;
    ctx.fill();
    ctx.strokeStyle = virtual === '1' ? palette.virtual : stroke;
    ctx.lineWidth = (virtual === '1' ? 1.6 : 1.2) * px;
    ctx.setLineDash(virtual === '1' ? [Math.max(NODE_W / 14, 5 * px), Math.max(NODE_W / 24, 3 * px)] : []);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.globalAlpha = 1;
  if (g.picked.size) {
    ctx.strokeStyle = palette.accent;
    ctx.lineWidth = 3 * px;
    ctx.beginPath();
    for (const key of g.picked) {
      const p = g.positions[key];
      if (p) ctx.rect(p[0] - NODE_W / 2, p[1] - NODE_H / 2, NODE_W, NODE_H);
    }
    ctx.stroke();
  }
  drawGroupNames(ctx, g.groups, k, inBox);
}

/** Group names last, on a light label, at a readable size whatever the zoom. */
function drawGroupNames(ctx, groups, k, inBox) {
  const px = 1 / k;
  ctx.font = `600 ${12 * px}px system-ui, sans-serif`;
  for (const gr of groups) {
    if (gr.width * k < 40 || !inBox(gr.x, gr.y, gr.x + gr.width, gr.y + gr.height)) continue;
    const name = gr.name || 'ungrouped';
    const w = Math.min(ctx.measureText(name).width, gr.width - 4 * px);
    ctx.fillStyle = 'rgba(241, 244, 248, 0.9)';
    ctx.fillRect(gr.x + 2 * px, gr.y + 2 * px, w + 8 * px, 16 * px);
    ctx.fillStyle = '#424a53';
    ctx.fillText(name, gr.x + 6 * px, gr.y + 14 * px, gr.width - 8 * px);
  }
}
