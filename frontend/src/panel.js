// The asset panel: definition, status and why it is stale (the root causes and the
// virtual assets they were seen through), the partitions of a partitioned asset (a grid
// by status, and the causes of the one clicked; a form to backfill a range of them),
// latest materializations, automation.
import { get } from './api.js';
import { BackfillForm } from './backfills.js';
import { clear, formatTime, h, keyPath, shortId } from './dom.js';
import { displayState } from './graph/view.js';
import { PartitionGrid } from './partitions.js';
import { evaluationTree } from './tree.js';

export class AssetPanel {
  /** @param {{assetOf: (key) => object|undefined, focus: (key) => void,
   *          materialize: (keys) => void, close: () => void}} app */
  constructor(container, app) {
    this.el = h('aside', { class: 'panel', hidden: true, 'aria-label': 'Asset details' });
    this.app = app;
    this.key = null;
    container.append(this.el);
  }

  async show(key) {
    if (key !== this.key) { // a new asset: nothing chosen in its grid, its own form
      this.grid = null;
      this.backfillForm = null;
    }
    this.key = key;
    this.el.hidden = false;
    this.el.dataset.key = key;
    clear(this.el, this.header(this.app.assetOf(key) ?? { key, status: '…', kinds: [] }), h('p', { class: 'muted' }, 'Loading…'));
    await this.refresh();
  }

  hide() {
    this.key = null;
    this.grid = null;
    this.backfillForm = null;
    this.el.hidden = true;
    delete this.el.dataset.key;
  }

  async refresh() {
    const key = this.key;
    if (!key) return;
    let asset;
    try {
      asset = await get(`/api/assets/${keyPath(key)}`);
    } catch (err) {
      if (this.key === key) clear(this.el, this.header({ key, kinds: [], status: '?' }), h('p', { class: 'error' }, err.message));
      return;
    }
    if (this.key !== key) return;
    const summary = this.app.assetOf(key);
    const view = { ...asset, run_state: summary?.run_state ?? null };
    const scroll = this.el.scrollTop;
    clear(this.el, this.header(view), this.whyStale(asset), this.partitions(asset),
      this.definition(asset), this.materializations(asset), this.automation(asset));
    this.el.scrollTop = scroll;
  }

  header(asset) {
    const state = asset.status === '…' || asset.status === '?' ? asset.status : displayState(asset);
    return h('header', { class: 'panel-head' },
      h('div', { class: 'panel-title' },
        h('h2', null, asset.key),
        h('button', { class: 'icon', title: 'Close', 'aria-label': 'Close', onclick: () => this.app.close() }, '×')),
      h('div', { class: 'panel-tags' },
        h('span', { class: ['badge', `status-${state}`], 'data-status': state }, state),
        asset.is_virtual && h('span', { class: 'tag tag-virtual' }, 'virtual'),
        asset.is_external && h('span', { class: 'tag tag-external' }, 'external'),
        asset.is_materializable && h('button', { class: 'primary small', onclick: () => this.app.materialize([asset.key]) },
          asset.is_virtual ? 'Re-create' : 'Materialize')));
  }

  whyStale(asset) {
    // (a partitioned asset is stale by partition: its grid shows why)
    if (asset.status !== 'STALE' || asset.partitions) return null;
    const direct = asset.stale_causes.filter((c) => !asset.root_causes.some((r) => r.text === c.text));
    return section('Why stale', 'why-stale',
      h('ul', { class: 'causes' }, asset.root_causes.map((c) => this.cause(c, asset.key))),
      direct.length > 0 && h('details', null, h('summary', null, 'Direct causes'),
        h('ul', { class: 'causes' }, direct.map((c) => this.cause(c, asset.key)))));
  }

  partitions(asset) {
    if (!asset.partitions) return null;
    const key = asset.key;
    this.grid ??= new PartitionGrid({
      load: (pk) => get(`/api/assets/${keyPath(key)}?partition=${encodeURIComponent(pk)}`),
      renderCause: (c) => this.cause(c, key),
    });
    const form = asset.is_materializable && asset.partitions.length > 0
      && (this.backfillForm ??= new BackfillForm(key, asset.partitions));
    return section('Partitions', 'partitions', this.grid.render(asset.partitions),
      form && h('div', { class: 'backfill-box' }, h('h3', null, 'Backfill'), form.el));
  }

  cause(c, key) {
    // The path the change travelled (the changed asset, the virtual assets it was seen
    // through, then this asset), as the server computed it.
    const path = c.path ?? [];
    return h('li', { class: 'cause' },
      h('div', { class: 'cause-text' }, c.text),
      path.length > 0 && h('div', { class: 'path' }, path.flatMap((k, i) => [
        i > 0 && h('span', { class: 'arrow' }, '→'),
        this.assetLink(k),
      ])));
  }

  assetLink(key) {
    const virtual = this.app.assetOf(key)?.is_virtual;
    return h('a', { class: ['chip', virtual && 'virtual'], href: `#/assets/${keyPath(key)}`, title: virtual ? `${key} (virtual)` : key },
      key, virtual && h('span', { class: 'chip-tag' }, 'virtual'));
  }

  definition(a) {
    const links = (keys) => (keys.length ? h('span', { class: 'chips' }, keys.map((k) => this.assetLink(k))) : h('span', { class: 'muted' }, 'none'));
    const rows = [
      ['Description', a.description ? h('span', { class: 'description' }, a.description) : h('span', { class: 'muted' }, 'none')],
      ['Group', a.group ?? '—'],
      ['Kinds', a.kinds.length ? h('span', { class: 'chips' }, a.kinds.map((k) => h('span', { class: 'chip kind' }, k))) : '—'],
      a.partitions_def && ['Partitions', clipped(a.partitions_def, 160)],
      ['Code version', a.code_version ? h('code', null, a.code_version) : h('span', { class: 'muted' }, 'none')],
      !a.partitions && ['Data version', a.data_version ? h('code', { title: a.data_version }, a.data_version.slice(0, 16)) : h('span', { class: 'muted' }, 'none')],
      ['Deps', links(a.deps)],
      ['Used by', links(a.children)],
      a.is_virtual && ['Derived from', links(a.non_virtual_ancestors)],
      ['Automation', a.automation_condition ? h('code', { class: 'condition' }, a.automation_condition) : h('span', { class: 'muted' }, 'none')],
      ...Object.entries(a.metadata).map(([k, v]) => [k, formatValue(v)]),
    ].filter(Boolean);
    return section('Definition', 'definition', table(rows));
  }

  materializations(a) {
    if (!a.materializations.length) {
      return section(a.is_virtual ? 'Latest runs' : 'Latest materializations', 'materializations',
        h('p', { class: 'muted' }, a.is_virtual ? 'Never run: its value is computed from its inputs.' : 'Never materialized.'));
    }
    return section(a.is_virtual ? 'Latest runs' : 'Latest materializations', 'materializations',
      h('ol', { class: 'materializations' }, a.materializations.map((m) => h('li', null,
        h('div', { class: 'mat-head' },
          h('span', null, formatTime(m.timestamp)),
          m.partition && h('code', { class: 'mat-partition' }, m.partition),
          h('a', { href: `#/runs/${m.run_id}` }, `run ${shortId(m.run_id)}`),
          m.data_version && h('code', { title: m.data_version }, `v ${m.data_version.slice(0, 12)}`)),
        table([
          m.code_version && ['Code version', h('code', null, m.code_version)],
          ...Object.entries(m.metadata ?? {}).map(([k, v]) => [k, formatValue(v)]),
          ...Object.entries(m.provenance?.input_versions ?? {}).map(([k, v]) => [`input ${k}`, h('code', { title: v }, String(v).slice(0, 12))]),
          ...Object.entries(m.provenance?.through_virtual ?? {}).filter(([, v]) => v != null).map(([k, v]) => [`via views: ${k}`, h('code', { title: v }, String(v).slice(0, 12))]),
        ].filter(Boolean))))));
  }

  automation(a) {
    const history = h('div', { class: 'history' });
    const showHistory = async () => {
      clear(history, h('p', { class: 'muted' }, 'Loading…'));
      try {
        const { evaluations } = await get(`/api/assets/${keyPath(a.key)}/evaluations?limit=20`);
        clear(history, evaluations.length === 0 ? h('p', { class: 'muted' }, 'No evaluations recorded.')
          : evaluations.map((e) => h('details', { class: 'evaluation' },
            h('summary', null, `tick ${e.tick_id}: ${e.value ? 'true' : 'false'}${e.requested ? ', requested' : ''}`),
            e.error && h('p', { class: 'error' }, e.error),
            e.tree && evaluationTree(e.tree))));
      } catch (err) {
        clear(history, h('p', { class: 'error' }, err.message));
      }
    };
    const latest = a.latest_evaluation;
    return section('Automation', 'automation',
      !a.automation_condition && h('p', { class: 'muted' }, 'No automation condition.'),
      latest && h('div', null,
        h('p', null, `Latest evaluation (tick ${latest.tick_id}): `,
          h('strong', null, latest.value ? 'true' : 'false'), latest.requested ? ', requested a run' : ''),
        latest.error && h('p', { class: 'error' }, latest.error),
        latest.tree && evaluationTree(latest.tree)),
      a.automation_condition && h('button', { class: 'small', onclick: showHistory }, 'Evaluation history'),
      history);
  }
}

function section(title, name, ...children) {
  return h('section', { class: ['panel-section', name] }, h('h3', null, title), children);
}

function table(rows) {
  return h('table', { class: 'kv' }, h('tbody', null, rows.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v)))));
}

/** Long text (a static definition's every key) cut, whole in its title. */
function clipped(text, n) {
  return text.length > n ? h('span', { title: text }, `${text.slice(0, n - 1)}…`) : text;
}

function formatValue(v) {
  if (v == null) return h('span', { class: 'muted' }, 'null');
  if (typeof v === 'object') return h('code', null, JSON.stringify(v));
  return String(v);
}
