// The page: a header with four pages (assets graph, runs, backfills, automation), routed
// by the URL's hash (#/assets/KEY, #/runs/ID, #/backfills/ID, #/automation/TICK), over
// the JSON API.
import { get, post } from './api.js';
import { clear, h, keyPath } from './dom.js';
import { LayoutPool } from './graph/pool.js';
import { GraphView } from './graph/view.js';
import { AssetPanel } from './panel.js';
import { AutomationPage } from './automation.js';
import { BackfillsPage } from './backfills.js';
import { RunProgress, RunsPage } from './runs.js';
import './style.css';

const WORKER_URL = new URL('layout-worker.js', document.currentScript?.src ?? location.href).href;
const ACTIVE_REFRESH_MS = 1500;
const IDLE_REFRESH_MS = 10000;

class App {
  constructor(root) {
    this.assets = new Map();
    this.structure = null;
    this.highlighted = null;
    this.picked = new Set();
    this.activeRuns = new Set();
    this.pool = new LayoutPool(WORKER_URL);

    this.nav = h('nav', null, [['assets', 'Assets'], ['runs', 'Runs'], ['backfills', 'Backfills'], ['automation', 'Automation']]
      .map(([page, label]) => h('a', { href: `#/${page}`, 'data-page': page }, label)));
    this.sessionInfo = h('span', { class: 'session muted' });
    const header = h('header', { class: 'topbar' }, h('a', { class: 'brand', href: '#/assets' }, 'Sheer'), this.nav, this.sessionInfo);

    this.graphPage = this.buildGraphPage();
    this.runsPage = new RunsPage();
    this.backfillsPage = new BackfillsPage();
    this.automationPage = new AutomationPage();
    const main = h('main', null, this.graphPage, this.runsPage.el, this.backfillsPage.el, this.automationPage.el);
    this.progress = new RunProgress(document.body, (run) => this.onRunUpdate(run));
    clear(root, header, main);

    window.addEventListener('hashchange', () => this.route());
    document.addEventListener('keydown', (e) => this.onKey(e));
  }

  buildGraphPage() {
    this.query = h('input', {
      type: 'search', class: 'query', name: 'selection', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'Select: +daily_revenue, group:x, is:virtual, a and not b', 'aria-label': 'Asset selection',
    });
    this.queryMessage = h('span', { class: 'query-message', role: 'status' });
    this.materializeButton = h('button', { class: 'primary materialize', disabled: true, onclick: () => this.materialize(this.targets()) }, 'Materialize');
    const form = h('form', { class: 'select-form', onsubmit: (e) => { e.preventDefault(); this.select(this.query.value); } },
      this.query, h('button', { type: 'submit' }, 'Select'),
      h('button', { type: 'button', title: 'Clear the selection (Esc)', onclick: () => this.select('') }, 'Clear'));
    const toolbar = h('div', { class: 'toolbar' }, form, this.queryMessage, this.materializeButton,
      h('span', { class: 'zoom' },
        h('button', { title: 'Zoom out', 'aria-label': 'Zoom out', onclick: () => this.graph.zoomBy(1 / 1.3) }, '−'),
        h('button', { title: 'Zoom in', 'aria-label': 'Zoom in', onclick: () => this.graph.zoomBy(1.3) }, '+'),
        h('button', { class: 'fit', title: 'Fit (F)', onclick: () => this.graph.fit() }, 'Fit')));
    const canvas = h('div', { class: 'canvas' });
    this.graphMessage = h('div', { class: 'graph-message' }, 'Loading the graph…');
    const legend = h('div', { class: 'legend' },
      ['fresh', 'stale', 'missing', 'running', 'failed'].map((st) => h('span', { class: ['badge', `status-${st}`] }, st)),
      h('span', { class: 'legend-virtual' }, 'virtual'));
    canvas.append(this.graphMessage, legend);
    this.graph = new GraphView(canvas, { onPick: (keys, key) => this.onPick(keys, key) });
    const body = h('div', { class: 'graph-body' }, canvas);
    this.panel = new AssetPanel(body, {
      assetOf: (key) => this.assets.get(key),
      materialize: (keys) => this.materialize(keys),
      close: () => { this.onPick(new Set(), null); this.graph.setPicked([]); },
    });
    return h('section', { class: 'page graph-page' }, toolbar, body);
  }

  async start() {
    get('/api/session').then((s) => {
      this.sessionInfo.textContent = `${s.assets.toLocaleString()} assets · ${s.instance}`;
    }).catch(() => {});
    this.route();
    await this.loadGraph();
    this.scheduleRefresh(IDLE_REFRESH_MS);
  }

  // Graph data -----------------------------------------------------------------------
  async loadGraph() {
    let payload;
    try {
      payload = await get('/api/graph');
    } catch (err) {
      this.graphMessage.textContent = err.message;
      this.graphMessage.classList.add('error');
      return;
    }
    const structure = JSON.stringify([payload.assets.map((a) => [a.key, a.group]), payload.edges]);
    if (structure === this.structure) {
      this.assets = new Map(payload.assets.map((a) => [a.key, a]));
      this.graph.updateAssets(payload.assets);
    } else {
      await this.layOut(payload, structure);
    }
    this.updateMaterializeButton();
  }

  async layOut(payload, structure) {
    const n = payload.assets.length;
    if (n === 0) {
      this.graphMessage.textContent = 'No assets are defined in this project.';
      return;
    }
    this.graphMessage.textContent = `Laying out ${n.toLocaleString()} assets…`;
    this.graphMessage.hidden = false;
    const started = performance.now();
    let layout = cachedLayout(structure);
    try {
      if (!layout) {
        const nodes = payload.assets.map((a) => ({ key: a.key, group: a.group }));
        layout = await this.pool.layout({ nodes, edges: payload.edges }, (done) => {
          this.graphMessage.textContent = `Laying out ${n.toLocaleString()} assets… ${Math.floor((100 * done) / n)}%`;
        });
        cacheLayout(structure, layout);
      }
    } catch (err) {
      this.graphMessage.textContent = `The layout failed: ${err.message}`;
      this.graphMessage.classList.add('error');
      return;
    }
    this.structure = structure;
    this.assets = new Map(payload.assets.map((a) => [a.key, a]));
    this.graph.setLayout(layout, payload.assets, payload.edges);
    this.graph.setHighlighted(this.highlighted);
    this.graph.setPicked(this.picked);
    this.graphMessage.hidden = true;
    this.graph.svg.dataset.ready = 'true';
    this.graph.svg.dataset.layoutMs = String(Math.round(performance.now() - started));
    if (this.panelKeyFromRoute) this.openAsset(this.panelKeyFromRoute);
  }

  scheduleRefresh(ms) {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(async () => {
      if (!document.hidden) {
        await this.loadGraph();
        if (this.panel.key) await this.panel.refresh();
      }
      this.scheduleRefresh(this.activeRuns.size ? ACTIVE_REFRESH_MS : IDLE_REFRESH_MS);
    }, ms);
  }

  // Selection, picking, materializing -----------------------------------------------
  async select(text) {
    const q = text.trim();
    this.query.value = q;
    this.queryMessage.classList.remove('error');
    this.queryMessage.removeAttribute('title');
    if (!q) {
      this.highlighted = null;
      this.queryMessage.textContent = '';
    } else {
      try {
        const { keys } = await get(`/api/select?q=${encodeURIComponent(q)}`);
        this.highlighted = new Set(keys);
        // A new selection replaces what was picked by clicking: Materialize acts on it.
        this.picked = new Set();
        this.graph.setPicked(this.picked);
        this.queryMessage.textContent = `${keys.length.toLocaleString()} ${keys.length === 1 ? 'asset' : 'assets'}`;
      } catch (err) {
        this.highlighted = null;
        this.queryMessage.textContent = err.message;
        this.queryMessage.title = err.message;
        this.queryMessage.classList.add('error');
      }
    }
    this.graph.setHighlighted(this.highlighted);
    if (this.highlighted?.size) this.graph.fit(this.highlighted);
    else if (this.graph.fitted?.size) this.graph.fit(); // was fitted to the old selection
    this.updateMaterializeButton();
  }

  onPick(keys, key) {
    this.picked = keys;
    if (key && keys.has(key)) this.openAsset(key, { zoomIn: false });
    else if (keys.size === 0) {
      this.panel.hide();
      if (location.hash.startsWith('#/assets/')) history.replaceState(null, '', '#/assets');
    }
    this.updateMaterializeButton();
  }

  /** Open the panel of an asset and bring the asset into view beside it. */
  openAsset(key, { zoomIn = true } = {}) {
    this.panelKeyFromRoute = null;
    if (!this.assets.has(key) && this.structure) {
      this.queryMessage.textContent = `No asset ${key}.`;
      this.queryMessage.classList.add('error');
      return;
    }
    if (!this.picked.has(key)) {
      this.picked = new Set([key]);
      this.graph.setPicked(this.picked);
    }
    const hash = `#/assets/${keyPath(key)}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
    this.panel.show(key); // the panel takes room from the graph: reveal after it opens
    this.graph.reveal(key, zoomIn);
    this.updateMaterializeButton();
  }

  /** What Materialize acts on: the picked assets, else the highlighted ones. */
  targets() {
    const chosen = this.picked.size ? this.picked : (this.highlighted ?? new Set());
    return [...chosen].filter((k) => this.assets.get(k)?.is_materializable);
  }

  updateMaterializeButton() {
    const keys = this.targets();
    const b = this.materializeButton;
    b.disabled = keys.length === 0;
    b.textContent = keys.length === 0 ? 'Materialize'
      : keys.length === 1 ? `Materialize ${keys[0]}` : `Materialize ${keys.length.toLocaleString()} assets`;
    b.title = keys.length === 0 ? 'Pick assets on the graph (shift-click for more) or select them above.' : keys.join(', ');
  }

  async materialize(keys) {
    if (!keys.length) return;
    try {
      const { run_id: runId } = await post('/api/runs', { selection: keys });
      this.activeRuns.add(runId);
      this.progress.follow(runId);
      this.scheduleRefresh(200);
    } catch (err) {
      this.progress.error(err.message);
    }
  }

  onRunUpdate(run) {
    const finished = ['SUCCESS', 'FAILURE', 'CANCELED'].includes(run.status);
    if (finished && this.activeRuns.delete(run.run_id)) this.scheduleRefresh(0);
  }

  // Routing and keys -----------------------------------------------------------------
  route() {
    const [page = 'assets', ...rest] = location.hash.replace(/^#\/?/, '').split('/');
    const arg = rest.length ? rest.map(decodeURIComponent).join('/') : null;
    const known = ['assets', 'runs', 'backfills', 'automation'].includes(page) ? page : 'assets';
    for (const a of this.nav.children) a.classList.toggle('active', a.dataset.page === known);
    this.graphPage.hidden = known !== 'assets';
    if (known === 'runs') this.runsPage.show(arg); else this.runsPage.hide();
    if (known === 'backfills') this.backfillsPage.show(arg); else this.backfillsPage.hide();
    if (known === 'automation') this.automationPage.show(arg == null ? null : Number(arg)); else this.automationPage.hide();
    if (known === 'assets') {
      this.graph.schedule();
      if (arg && arg !== this.panel.key) {
        if (this.structure) this.openAsset(arg);
        else this.panelKeyFromRoute = arg;
      }
    }
  }

  onKey(e) {
    const typing = ['INPUT', 'TEXTAREA'].includes(document.activeElement?.tagName);
    if (e.key === 'Escape') {
      if (typing && this.query === document.activeElement) this.select('');
      else if (this.panel.key) this.panel.app.close();
    } else if (!typing && e.key === '/') {
      e.preventDefault();
      this.query.focus();
    } else if (!typing && (e.key === 'f' || e.key === 'F')) {
      this.graph.fit();
    }
  }
}

// The last layout is kept in localStorage, so reloading the page skips the layout.
const CACHE_KEY = 'sheer-layout';

function hash(text) {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return `${(a >>> 0).toString(36)}-${(b >>> 0).toString(36)}-${text.length}`;
}

function cachedLayout(structure) {
  try {
    const cached = JSON.parse(localStorage.getItem(CACHE_KEY) ?? 'null');
    return cached?.hash === hash(structure) ? cached.layout : null;
  } catch {
    return null;
  }
}

function cacheLayout(structure, layout) {
  try {
    localStorage.setItem(CACHE_KEY, JSON.stringify({ hash: hash(structure), layout }));
  } catch {
    // over the storage quota (or storage disabled): lay out again next time
  }
}

new App(document.getElementById('app')).start();
