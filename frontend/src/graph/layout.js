// The two dagre layouts (see assemble.js for how they combine): one group's nodes, and
// the groups as boxes. Pure functions of plain data, run in the layout worker.
import dagre from '@dagrejs/dagre';
import { transitiveReduction } from './reduce.js';
import { NODE_H, NODE_W } from './sizes.js';

/** dagre's ranker by size: network simplex is the most compact but grows fastest. */
export function rankerFor(count) {
  if (count <= 40) return 'network-simplex';
  if (count <= 1500) return 'tight-tree';
  return 'longest-path';
}

/** Lay out one group: its nodes and the edges between them. */
export function layoutGroup(keys, edges) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({
    rankdir: 'LR', nodesep: 18, ranksep: 64, marginx: 0, marginy: 0,
    ranker: rankerFor(keys.length),
  });
  g.setDefaultEdgeLabel(() => ({}));
  for (const key of keys) g.setNode(key, { width: NODE_W, height: NODE_H });
  for (const [from, to] of edges) g.setEdge(from, to);
  dagre.layout(g);
  const nodes = {};
  for (const key of keys) {
    const n = g.node(key);
    nodes[key] = [round(n.x), round(n.y)];
  }
  const points = edges.map(([from, to]) => g.edge(from, to).points.map((p) => [round(p.x), round(p.y)]));
  const { width, height } = g.graph();
  return { nodes, points, width: width || NODE_W, height: height || NODE_H };
}

/**
 * Arrange laid-out groups (boxes with a width and height) by the edges between them.
 * Only the transitive reduction of those edges is laid out: the edges between groups
 * are drawn node to node anyway, and the reduction keeps every group after the ones
 * it depends on without the long edges that make dagre slow.
 */
export function arrangeGroups(sizes, groupEdges) {
  const g = new dagre.graphlib.Graph();
  const names = Object.keys(sizes);
  g.setGraph({ rankdir: 'LR', nodesep: 40, ranksep: 90, marginx: 0, marginy: 0, ranker: rankerFor(names.length) });
  g.setDefaultEdgeLabel(() => ({}));
  for (const name of names) g.setNode(name, { width: sizes[name][0], height: sizes[name][1] });
  for (const [from, to] of transitiveReduction(names, groupEdges)) g.setEdge(from, to);
  dagre.layout(g);
  const origins = {};
  for (const name of names) {
    const n = g.node(name);
    origins[name] = [n.x - n.width / 2, n.y - n.height / 2];
  }
  return origins;
}

const round = (v) => Math.round(v * 10) / 10;
