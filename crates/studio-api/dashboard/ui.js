// The dashboard's small shared pieces: statuses, DOM helpers and formatting. No state.

import { StudioError } from './client.js';

/** Statuses whose renderer is (about to be) up: uptime is shown. */
export const LIVE = new Set(['starting', 'running', 'restarting']);
/** Statuses after which nothing changes any more. */
export const FINAL = new Set(['expired', 'finalized']);

export const $ = (id) => document.getElementById(id);

/** `el('a', {href: '#x', className: 'y'}, 'text', child)`: attributes by name, children as text or nodes. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') node.className = value;
    // Links come from answers a hostile peer could shape (a pull request's URL): only in-page
    // anchors and http(s) become links, never `javascript:` or `data:` (the CSP blocks those too).
    else if (key === 'href' && !/^(#|https?:\/\/)/i.test(String(value))) continue;
    else if (key === 'dataset') {
      for (const [name, data] of Object.entries(value)) if (data !== undefined) node.dataset[name] = data;
    }
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children.filter((c) => c !== undefined && c !== null));
  return node;
}

/** Sets a node's text only when it changed (observers and screen readers see real changes only). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function showError(node, text) {
  node.textContent = text;
  node.hidden = !text;
}

export const isStudioError = (e) => e instanceof StudioError;
export const messageOf = (e) => (e instanceof Error ? e.message : String(e));

// ---------------------------------------------------------------------------------------------
// Formatting

export function shortHash(hash) {
  return hash.slice(0, 7);
}

export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function ago(iso) {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return '—';
  const ms = Date.now() - at;
  if (ms < 5_000) return 'just now';
  return `${duration(ms).split(' ').slice(0, 2).join(' ')} ago`;
}

export function dateTime(iso) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const today = new Date().toDateString() === at.toDateString();
  return today ? at.toLocaleTimeString() : at.toLocaleString();
}

export function bytes(n) {
  const mib = n / 2 ** 20;
  if (mib >= 1024) return `${(mib / 1024).toFixed(2)} GiB`;
  return `${mib >= 10 ? mib.toFixed(0) : mib.toFixed(1)} MiB`;
}

export function cpuTime(usec) {
  const s = usec / 1e6;
  return s < 60 ? `${s.toFixed(1)} s` : duration(s * 1000);
}

/** `\x1b[…m` colour codes, should a renderer print them. */
export function plain(line) {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

/** A status as colour and text (never colour alone). */
export function renderStatus(node, view) {
  const status = view.status;
  if (node.dataset.status !== status) {
    node.dataset.status = status;
    node.className = `status status-${status}`;
    node.replaceChildren(el('span', { className: 'dot', 'aria-hidden': 'true' }), el('span', { className: 'status-text' }, status));
  }
  const title = view.error ? `${status}: ${view.error}` : '';
  if ((node.getAttribute('title') ?? '') !== title) {
    if (title) node.setAttribute('title', title);
    else node.removeAttribute('title');
  }
}
