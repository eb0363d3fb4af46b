// Graph layout, done by dagre (never by hand): each group is laid out on its own, then
// the groups are laid out as boxes, with one edge per pair of groups that depend on
// each other. Two small layouts instead of one big one keep a 5,000-asset graph within
// a few seconds (dagre's network-simplex ranking grows much faster than linearly), they
// spread over several workers, and they give every group a box that no other group's
// nodes fall into. A group of thousands is laid out in blocks the same way. This module
// only splits and assembles; layout.js calls dagre.
import { GROUP_HEAD, GROUP_PAD, NODE_W } from './sizes.js';

// A group bigger than this is laid out in blocks of about this many assets (see
// layOutBigGroup): one dagre layout of thousands of assets takes minutes.
export const BLOCK = 400;
const BLOCK_GAP = 48;

/** Split a graph into its groups: the nodes of each, the edges within, the edges across. */
export function splitByGroup(nodes, edges) {
  const groupOf = new Map(nodes.map((n) => [n.key, n.group ?? '']));
  const members = new Map();
  for (const n of nodes) push(members, groupOf.get(n.key), n.key);
  const inner = new Map();
  const across = [];
  edges.forEach(([from, to], index) => {
    const a = groupOf.get(from);
    const b = groupOf.get(to);
    if (a === undefined || b === undefined) return;
    if (a === b) push(inner, a, [from, to, index]);
    else across.push([from, to, index]);
  });
  const groups = [...members.keys()].sort();
  return { groupOf, groups, members, inner, across };
}

/**
 * The whole layout: node centres, group boxes and edge paths, in one coordinate space.
 * `layoutOne(keys, edges)` lays out one group and `arrange(sizes, groupEdges)` the groups
 * (layout.js's layoutGroup and arrangeGroups, called directly or through workers).
 */
export async function layoutGraph({ nodes, edges }, { layoutOne, arrange }) {
  const parts = splitByGroup(nodes, edges);
  const laid = {};
  // Biggest first, so a pool of workers shares the work out evenly.
  const bySize = [...parts.groups].sort((a, b) => parts.members.get(b).length - parts.members.get(a).length);
  await Promise.all(bySize.map(async (name) => {
    const inner = parts.inner.get(name) ?? [];
    laid[name] = await layOutGroup(parts.members.get(name), inner.map(([a, b]) => [a, b]), { layoutOne, arrange });
  }));
  const sizes = {};
  for (const name of parts.groups) {
    sizes[name] = [laid[name].width + 2 * GROUP_PAD, laid[name].height + GROUP_PAD + GROUP_HEAD];
  }
  const pairs = new Set(parts.across.map(([a, b]) => `${parts.groupOf.get(a)}\u0000${parts.groupOf.get(b)}`));
  const origins = await arrange(sizes, [...pairs].map((p) => p.split('\u0000')));

  const positions = {};
  const paths = new Array(edges.length);
  const groups = [];
  for (const name of parts.groups) {
    const [ox, oy] = origins[name];
    const dx = ox + GROUP_PAD;
    const dy = oy + GROUP_HEAD;
    for (const [key, [x, y]] of Object.entries(laid[name].nodes)) positions[key] = [x + dx, y + dy];
    (parts.inner.get(name) ?? []).forEach(([, , index], i) => {
      paths[index] = laid[name].points[i].map(([x, y]) => [x + dx, y + dy]);
    });
    groups.push({ name, x: ox, y: oy, width: sizes[name][0], height: sizes[name][1] });
  }
  for (const [from, to, index] of parts.across) paths[index] = acrossPath(positions[from], positions[to]);
  return { positions, paths, groups };
}

/** One group: by one dagre layout, or in blocks when it is big. */
function layOutGroup(keys, edges, steps) {
  return keys.length <= BLOCK ? steps.layoutOne(keys, edges) : layOutBigGroup(keys, edges, steps);
}

/**
 * A big group, in blocks: its assets in order of rank (longest path from the group's
 * sources, ties by key), cut into blocks of BLOCK; each block laid out by dagre, then
 * the blocks arranged by dagre as boxes, like groups. A block holds neighbouring ranks,
 * so most edges stay inside one and the blocks line up left to right.
 */
async function layOutBigGroup(keys, edges, { layoutOne, arrange }) {
  const rank = ranks(keys, edges);
  const order = [...keys].sort((a, b) => rank.get(a) - rank.get(b) || (a < b ? -1 : a > b ? 1 : 0));
  const blocks = [];
  for (let i = 0; i < order.length; i += BLOCK) blocks.push(order.slice(i, i + BLOCK));
  const blockOf = new Map();
  blocks.forEach((block, b) => block.forEach((key) => blockOf.set(key, b)));
  const inner = blocks.map(() => []);
  const across = [];
  edges.forEach(([from, to], index) => {
    const a = blockOf.get(from);
    const b = blockOf.get(to);
    if (a === b) inner[a].push([from, to, index]);
    else across.push([from, to, index]);
  });
  const laid = await Promise.all(blocks.map((block, b) => layoutOne(block, inner[b].map(([x, y]) => [x, y]))));
  const sizes = Object.fromEntries(laid.map((l, b) => [b, [l.width + BLOCK_GAP, l.height + BLOCK_GAP]]));
  const pairs = new Set(across.map(([a, b]) => `${blockOf.get(a)}\u0000${blockOf.get(b)}`));
  const origins = await arrange(sizes, [...pairs].map((p) => p.split('\u0000')));

  const nodes = {};
  const points = new Array(edges.length);
  let width = 0;
  let height = 0;
  laid.forEach((l, b) => {
    const [dx, dy] = origins[b];
    for (const [key, [x, y]] of Object.entries(l.nodes)) nodes[key] = [x + dx, y + dy];
    inner[b].forEach(([, , index], i) => { points[index] = l.points[i].map(([x, y]) => [x + dx, y + dy]); });
    width = Math.max(width, dx + l.width);
    height = Math.max(height, dy + l.height);
  });
  for (const [from, to, index] of across) points[index] = acrossPath(nodes[from], nodes[to]);
  return { nodes, points, width, height };
}

/** Longest-path rank of each key within the group (0 for the sources, and on a cycle). */
function ranks(keys, edges) {
  const rank = new Map(keys.map((k) => [k, 0]));
  const indegree = new Map(keys.map((k) => [k, 0]));
  const next = new Map(keys.map((k) => [k, []]));
  for (const [from, to] of edges) {
    next.get(from).push(to);
    indegree.set(to, indegree.get(to) + 1);
  }
  const queue = keys.filter((k) => indegree.get(k) === 0);
  while (queue.length) {
    const key = queue.pop();
    for (const to of next.get(key)) {
      rank.set(to, Math.max(rank.get(to), rank.get(key) + 1));
      indegree.set(to, indegree.get(to) - 1);
      if (indegree.get(to) === 0) queue.push(to);
    }
  }
  return rank;
}

/** An edge between groups: from the right side of one node to the left side of the other. */
function acrossPath([x1, y1], [x2, y2]) {
  return [[x1 + NODE_W / 2, y1], [x2 - NODE_W / 2, y2]];
}

function push(map, key, value) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
