// An automation condition's evaluation tree: which sub-condition was true, for which
// dependency, and whether it looked through virtual assets.
import { h } from './dom.js';

export function evaluationTree(node) {
  return h('ul', { class: 'evaltree' }, treeItem(node));
}

function treeItem(node) {
  const children = node.children ?? [];
  const row = h('div', { class: 'evalrow' },
    h('span', { class: 'mark', 'aria-label': node.value ? 'true' : 'false' }, node.value ? '✓' : '✗'),
    h('code', { class: 'label' }, node.label),
    node.target && h('span', { class: 'target' }, `for ${node.target}`),
    node.note && h('span', { class: 'note' }, node.note));
  return h('li', { class: node.value ? 'true' : 'false' },
    row, children.length > 0 && h('ul', null, children.map(treeItem)));
}
