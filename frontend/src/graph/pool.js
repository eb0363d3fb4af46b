// A small pool of layout workers. Each group goes to the worker with the least work
// queued (by node count), so a graph of many groups is laid out on every core.
import { layoutGraph } from './assemble.js';

export class LayoutPool {
  constructor(url, size = Math.max(1, Math.min(4, (navigator.hardwareConcurrency || 2)))) {
    this.workers = Array.from({ length: size }, () => {
      const worker = new Worker(url);
      const entry = { worker, load: 0, pending: new Map() };
      worker.onmessage = ({ data }) => {
        const job = entry.pending.get(data.id);
        entry.pending.delete(data.id);
        entry.load -= job.weight;
        if (data.error) job.reject(new Error(data.error));
        else job.resolve(data.result);
      };
      worker.onerror = (event) => {
        for (const job of entry.pending.values()) job.reject(new Error(event.message || 'layout worker failed'));
        entry.pending.clear();
      };
      return entry;
    });
    this.nextId = 0;
  }

  run(message, weight) {
    const entry = this.workers.reduce((a, b) => (b.load < a.load ? b : a));
    const id = ++this.nextId;
    entry.load += weight;
    return new Promise((resolve, reject) => {
      entry.pending.set(id, { resolve, reject, weight });
      entry.worker.postMessage({ ...message, id });
    });
  }

  /** Lay out a whole graph ({nodes: [{key, group}], edges: [[from, to]]}); `onProgress`
   * hears how many assets are laid out so far. */
  layout(graph, onProgress = () => {}) {
    let done = 0;
    return layoutGraph(graph, {
      layoutOne: async (keys, edges) => {
        const result = await this.run({ kind: 'group', keys, edges }, keys.length);
        onProgress((done += keys.length));
        return result;
      },
      arrange: (sizes, edges) => this.run({ kind: 'arrange', sizes, edges }, 1),
    });
  }
}
