// The layout worker: runs dagre off the main thread so the page stays responsive.
// In: {id, kind: 'group', keys, edges} or {id, kind: 'arrange', sizes, edges}.
// Out: {id, result} or {id, error}.
import { arrangeGroups, layoutGroup } from './layout.js';

self.onmessage = ({ data }) => {
  try {
    const result = data.kind === 'group'
      ? layoutGroup(data.keys, data.edges)
      : arrangeGroups(data.sizes, data.edges);
    self.postMessage({ id: data.id, result });
  } catch (err) {
    self.postMessage({ id: data.id, error: String(err?.message ?? err) });
  }
};
