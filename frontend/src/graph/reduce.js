// Transitive reduction of a DAG: drop the edge u -> v when v is reachable from u by
// another path. Layering only needs the reduced edges (a path keeps v after u), and
// dropping the long ones spares dagre the chains of dummy nodes it would route them
// through. Returns the edges unchanged when the graph has a cycle.

/** @param {string[]} names @param {[string, string][]} edges */
export function transitiveReduction(names, edges) {
  const index = new Map(names.map((n, i) => [n, i]));
  const n = names.length;
  const succ = Array.from({ length: n }, () => new Set());
  for (const [a, b] of edges) succ[index.get(a)].add(index.get(b));
  const order = topologicalOrder(n, succ);
  if (!order) return edges;
  // reach[u]: bitset of the nodes reachable from u by a path of one edge or more.
  const words = Math.ceil(n / 32);
  const reach = Array.from({ length: n }, () => new Uint32Array(words));
  const position = new Int32Array(n);
  order.forEach((v, p) => { position[v] = p; });
  const keep = [];
  for (let i = n - 1; i >= 0; i--) {
    const u = order[i];
    // Successors in topological order: one reachable through an earlier one is then
    // already in reach[u] when its turn comes, and its edge is dropped.
    const next = [...succ[u]].sort((x, y) => position[x] - position[y]);
    const r = reach[u];
    for (const v of next) {
      if (!(r[v >>> 5] & (1 << (v & 31)))) keep.push([names[u], names[v]]);
      r[v >>> 5] |= 1 << (v & 31);
      const rv = reach[v];
      for (let w = 0; w < words; w++) r[w] |= rv[w];
    }
  }
  return keep;
}

function topologicalOrder(n, succ) {
  const indegree = new Array(n).fill(0);
  for (const s of succ) for (const v of s) indegree[v]++;
  const queue = [];
  for (let v = 0; v < n; v++) if (indegree[v] === 0) queue.push(v);
  const order = [];
  while (queue.length) {
    const u = queue.pop();
    order.push(u);
    for (const v of succ[u]) if (--indegree[v] === 0) queue.push(v);
  }
  return order.length === n ? order : null;
}
