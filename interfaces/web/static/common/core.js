// The app's common code in one module (one request on a page's critical path instead of five; a phone on a
// slow network opens six connections to a server, and every file waits for one): the signed-in user (auth),
// the API client (api), strings and numbers in English or Bangla (i18n), a tiny element builder (dom) and what
// every page does first (page). auth.js, api.js, i18n.js, dom.js and page.js re-export it for other pages.

// ── auth ──
// The signed-in user: a bearer token from the identity provider (or the dev sign-in page), kept in localStorage.
const TOKEN_KEY = 'lc.token';

function decode(part) {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
}

/** The token's claims ({sub, roles, name, exp, vendor_id}) or null; an expired or unreadable token is dropped. */
export function claims(token = localStorage.getItem(TOKEN_KEY)) {
  if (!token) return null;
  try {
    const c = decode(token.split('.')[1]);
    if (typeof c.exp === 'number' && c.exp * 1000 <= Date.now()) return null;
    return c;
  } catch {
    return null;
  }
}

export function getToken() {
  const token = localStorage.getItem(TOKEN_KEY);
  return token && claims(token) ? token : null;
}

export function setToken(token) {
  if (!claims(token)) throw new Error('invalid_token');
  localStorage.setItem(TOKEN_KEY, token);
}

export function signOut() {
  localStorage.removeItem(TOKEN_KEY);
}

export function user() {
  const c = claims();
  return c ? { id: c.sub, name: c.name || null, roles: c.roles || [], vendorId: c.vendor_id || null } : null;
}

export function hasRole(role) {
  const u = user();
  return !!u && u.roles.includes(role);
}

/** Where to send someone who must sign in first (back here afterwards). */
export function signInUrl(next = location.pathname + location.search) {
  return '/signin?next=' + encodeURIComponent(next);
}

// ── api ──
// The documented HTTP API (docs/api.md), with the user's bearer token; refusals become ApiError with the
// server's stable code and its English and Bangla texts.

export const BASE = '/api/v1/live-commerce';

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || 'http_' + status;
    this.messageBn = e.message_bn || null;
    this.details = e.details || {};
  }
}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * api('/streams', {query: {status: 'live'}}) → the answer's JSON.
 * Options: method, body (JSON), query, key (Idempotency-Key), base (another prefix, '' for the site's own routes).
 */
export async function api(path, { method = 'GET', body, query, key, base = BASE, signal } = {}) {
  const url = new URL(base + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null) url.searchParams.set(k, v);
  const headers = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = 'Bearer ' + token;
  if (key) headers['Idempotency-Key'] = key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, { error: { code: 'network_error' } });
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// ── i18n ──
// Strings from static/i18n/{en,bn}.json (plus a page's own files), numbers and taka in the chosen language.
const LANG_KEY = 'lc.lang';
const BN_DIGITS = '০১২৩৪৫৬৭৮৯';
let messages = {};
export let lang = pickLang();

function pickLang() {
  const stored = localStorage.getItem(LANG_KEY);
  if (stored === 'en' || stored === 'bn') return stored;
  return (navigator.language || '').toLowerCase().startsWith('bn') ? 'bn' : 'en';
}

/** The data a page's HTML carries for its first screen (`<script type="application/json" id=…>`), or null. */
export function embedded(id) {
  const el = document.getElementById(id);
  if (!el) return null;
  try {
    return JSON.parse(el.textContent);
  } catch {
    return null;
  }
}

/** Load the shared messages and any extra folders' (e.g. ['/static/studio/i18n']); the shared ones come with
 * the page when its HTML carries them (the watch page: `lc-initial.messages`), else from /static/i18n. */
export async function loadMessages(extra = []) {
  const dirs = ['/static/i18n', ...extra];
  const inPage = (embedded('lc-initial') || {}).messages || {};
  const files = await Promise.all(dirs.map((d) => (d === '/static/i18n' && inPage[lang]) ||
    fetch(`${d}/${lang}.json`).then((r) => (r.ok ? r.json() : {}))));
  messages = Object.assign({}, ...files);
  document.documentElement.lang = lang;
  return messages;
}

/** t('watch.viewers', {n: 5}): the message with {placeholders} filled; numbers in the language's digits. */
export function t(key, vars = {}) {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => {
    const v = vars[k];
    return typeof v === 'number' ? num(v) : v ?? '';
  });
}

export function digits(text) {
  return lang === 'bn' ? String(text).replace(/[0-9]/g, (d) => BN_DIGITS[d]) : String(text);
}

/** 123456 → "1,23,456" (lakh grouping, as Bangladesh writes it), in Bangla digits in Bangla mode. */
export function num(n, fraction = 0) {
  const s = Number(n).toLocaleString('en-IN', { minimumFractionDigits: fraction, maximumFractionDigits: fraction });
  return digits(s);
}

/** Taka: ৳95,000 or ৳2,499.50; Bangla digits in Bangla mode. */
export function taka(amount) {
  const n = Number(amount);
  return '৳' + num(n, Number.isInteger(n) ? 0 : 2);
}

/** 83 → "1:23" (a countdown), 3725 → "1:02:05". */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x) => String(x).padStart(2, '0');
  return digits(h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`);
}

export function dateTime(iso) {
  const d = new Date(iso);
  const text = d.toLocaleString(lang === 'bn' ? 'bn-BD' : 'en-GB', {
    timeZone: 'Asia/Dhaka', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
  });
  return digits(text);
}

/** An API refusal in the user's language. */
export function errorText(err) {
  if (err && err.code === 'network_error') return t('error.network');
  if (lang === 'bn' && err && err.messageBn) return err.messageBn;
  return (err && err.message) || t('error.generic');
}

/** Fill [data-i18n] text, [data-i18n-label] aria-label and [data-i18n-placeholder] in a subtree. */
export function translate(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
}

export function setLang(next) {
  localStorage.setItem(LANG_KEY, next);
  lang = next;
}

// ── dom ──
// A tiny element builder: h('button', {class: 'buy', onclick: f}, t('buy')) — no framework, no build step.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** A short message in the page's live region (read by screen readers). */
export function toast(text, kind = 'info') {
  let box = document.getElementById('toast');
  if (!box) {
    box = h('div', { id: 'toast', class: 'toast', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(box._timer);
  box._timer = setTimeout(() => (box.hidden = true), 5000);
}

// ── page ──
// What every page does first: messages in the user's language, the top bar (language switch, sign-in state).

/**
 * Load messages (the shared ones plus `extraMessages` folders), translate the static text, fill the top bar
 * (#account). Switching language reloads the messages and calls `rerender` — no page reload.
 */
export async function startPage({ extraMessages = [], rerender } = {}) {
  await loadMessages(extraMessages);
  translate();
  const topbar = () => {
    const slot = document.getElementById('account');
    if (!slot) return;
    const u = user();
    const other = lang === 'bn' ? 'en' : 'bn';
    const switchLang = async () => {
      setLang(other);
      await loadMessages(extraMessages);
      translate();
      topbar();
      if (rerender) rerender();
    };
    const account = u
      ? h('button', { type: 'button', id: 'sign-out', onclick: () => { signOut(); location.reload(); } },
          t('nav.sign_out'))
      : h('a', { class: 'button', id: 'sign-in', href: signInUrl() }, t('nav.sign_in'));
    fill(slot,
      h('button', { type: 'button', id: 'lang-switch', lang: other, 'aria-label': t('nav.language'), onclick: switchLang },
        other === 'bn' ? 'বাংলা' : 'English'),
      account);
  };
  topbar();
}
