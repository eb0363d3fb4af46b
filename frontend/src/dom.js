// Tiny DOM helpers: build elements from data (text only, never HTML strings, so asset
// descriptions and log messages cannot inject markup), and format times.
const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value == null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** h('div', {class: 'x', onclick: f}, 'text', child, [more]) */
export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);

/** The same for SVG elements. */
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVG_NS, tag), attrs, children);

export function clear(el, ...children) {
  el.replaceChildren();
  return build(el, null, children);
}

export function formatTime(seconds) {
  if (seconds == null) return '—';
  const d = new Date(seconds * 1000);
  const today = new Date().toDateString() === d.toDateString();
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  return today ? time : `${d.toISOString().slice(0, 10)} ${time}`;
}

export function formatDuration(seconds) {
  if (seconds == null) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - m * 60)} s`;
}

export const shortId = (id) => (id ? id.slice(0, 8) : '');

/** A key in a URL path: each part of "schema/table" encoded on its own. */
export const keyPath = (key) => key.split('/').map(encodeURIComponent).join('/');

/** A status pill: run and step statuses, tick statuses. */
export const pill = (status) => h('span', { class: ['pill', `pill-${String(status).toLowerCase()}`] }, String(status).toLowerCase());
