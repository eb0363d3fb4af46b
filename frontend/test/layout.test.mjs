// The layout's own checks (`npm test`, run by `make ui`): dagre places every node, no two
// nodes overlap, every group box holds its nodes and no other group's, every edge has a path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layoutGraph } from '../src/graph/assemble.js';
import { arrangeGroups, layoutGroup } from '../src/graph/layout.js';
import { transitiveReduction } from '../src/graph/reduce.js';
import { NODE_H, NODE_W } from '../src/graph/sizes.js';

const direct = { layoutOne: layoutGroup, arrange: arrangeGroups };

function warehouse(groups, perGroup) {
  const nodes = [];
  const edges = [];
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < perGroup; i++) {
      const key = `g${g}/a${i}`;
      nodes.push({ key, group: `group_${g}` });
      if (i > 0) edges.push([`g${g}/a${Math.floor((i - 1) / 2)}`, key]);
      if (g > 0 && i === 0) edges.push([`g${g - 1}/a${perGroup - 1}`, key]);
    }
  }
  return { nodes, edges };
}

test('transitive reduction drops only the edges implied by a path', () => {
  const edges = [['a', 'b'], ['b', 'c'], ['a', 'c'], ['c', 'd'], ['a', 'd'], ['x', 'd']];
  assert.deepEqual(new Set(transitiveReduction(['a', 'b', 'c', 'd', 'x'], edges).map(String)),
    new Set([['a', 'b'], ['b', 'c'], ['c', 'd'], ['x', 'd']].map(String)));
});

test('transitive reduction leaves a graph with a cycle alone', () => {
  const edges = [['a', 'b'], ['b', 'a'], ['a', 'c']];
  assert.deepEqual(transitiveReduction(['a', 'b', 'c'], edges), edges);
});

test('every node is placed, none overlap, and groups hold their own nodes', async () => {
  const graph = warehouse(6, 25);
  const { positions, paths, groups } = await layoutGraph(graph, direct);
  assert.equal(Object.keys(positions).length, graph.nodes.length);
  const boxes = graph.nodes.map(({ key }) => [positions[key][0] - NODE_W / 2, positions[key][1] - NODE_H / 2]);
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const overlap = Math.abs(boxes[i][0] - boxes[j][0]) < NODE_W && Math.abs(boxes[i][1] - boxes[j][1]) < NODE_H;
      assert.ok(!overlap, `${graph.nodes[i].key} overlaps ${graph.nodes[j].key}`);
    }
  }
  const byName = new Map(groups.map((g) => [g.name, g]));
  for (const { key, group } of graph.nodes) {
    const [x, y] = positions[key];
    for (const g of groups) {
      const inside = x > g.x && x < g.x + g.width && y > g.y && y < g.y + g.height;
      assert.equal(inside, g === byName.get(group), `${key} and the box of ${g.name}`);
    }
  }
  assert.equal(paths.length, graph.edges.length);
  assert.ok(paths.every((p) => p.length >= 2));
});

test('upstream groups are laid out to the left of the groups that read them', async () => {
  const { groups } = await layoutGraph(warehouse(4, 10), direct);
  const x = Object.fromEntries(groups.map((g) => [g.name, g.x]));
  assert.ok(x.group_0 < x.group_1 && x.group_1 < x.group_2 && x.group_2 < x.group_3);
});

test('a big group is laid out in blocks, still without overlaps', async () => {
  const graph = warehouse(1, 1000); // one group of 1,000 assets
  const { positions, groups } = await layoutGraph(graph, direct);
  assert.equal(groups.length, 1);
  const points = Object.values(positions);
  assert.equal(points.length, 1000);
  const sorted = points.map(([x, y]) => [x - NODE_W / 2, y - NODE_H / 2]).sort((a, b) => a[0] - b[0]);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j][0] - sorted[i][0] < NODE_W; j++) {
      assert.ok(Math.abs(sorted[i][1] - sorted[j][1]) >= NODE_H, 'two nodes overlap');
    }
  }
  const [g] = groups;
  assert.ok(points.every(([x, y]) => x > g.x && x < g.x + g.width && y > g.y && y < g.y + g.height));
});
