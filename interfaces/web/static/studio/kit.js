// What the studio and the admin console share: the API client, messages in English and Bangla, numbers and
// taka, the socket, and a few DOM helpers. Built on the app's common modules (static/common/).

const P = "/api/v1/live-commerce";
const TOKEN_KEY = "lc_token";
const LANG_KEY = "lc_lang";
let messages = {};
let current = localStorage.getItem(LANG_KEY) || "en";

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || "http_" + status;
    this.message_bn = e.message_bn;
    this.details = e.details || {};
  }
  text() { return (current === "bn" && this.message_bn) || this.message; }
}

export function token() { return localStorage.getItem(TOKEN_KEY); }

export function claims() {
  const t = token();
  if (!t) return null;
  try {
    const part = t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const c = JSON.parse(decodeURIComponent(escape(atob(part))));
    if (c.exp && c.exp * 1000 < Date.now()) return null;
    return c;
  } catch { return null; }
}

export function roles() { const c = claims(); return new Set((c && (c.roles || [])) || []); }

export async function api(path, { method = "GET", body, query, idempotencyKey } = {}) {
  const url = new URL(P + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  const headers = { Accept: "application/json" };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export async function loadMessages(...urls) {
  messages = {};
  for (const u of urls) {
    const res = await fetch(u.replace("{lang}", current));
    if (res.ok) Object.assign(messages, await res.json());
  }
}

export function lang() { return current; }
export function setLang(l) { current = l; localStorage.setItem(LANG_KEY, l); document.documentElement.lang = l; }

export function t(key, vars = {}) {
  let s = messages[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, v);
  return s;
}

const BN = "০১২৩৪৫৬৭৮৯";
export function digits(s) { return current === "bn" ? String(s).replace(/[0-9]/g, (d) => BN[d]) : String(s); }

export function num(n, max = 0) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return "—";
  return digits(Number(n).toLocaleString("en-IN", { maximumFractionDigits: max }));
}

export function taka(n) {
  if (n === null || n === undefined) return "—";
  return "৳" + digits(Number(n).toLocaleString("en-IN", { minimumFractionDigits: 0, maximumFractionDigits: 2 }));
}

export function pct(x) { return x === null || x === undefined ? "—" : digits((Number(x) * 100).toFixed(1)) + "%"; }

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return digits(d.toLocaleString(current === "bn" ? "bn-BD" : "en-GB", { dateStyle: "medium", timeStyle: "short",
                                                                           timeZone: "Asia/Dhaka", numberingSystem: "latn" }));
}

export function translate(root = document) {
  for (const n of root.querySelectorAll("[data-i18n]")) n.textContent = t(n.dataset.i18n);
  for (const n of root.querySelectorAll("[data-i18n-placeholder]")) n.placeholder = t(n.dataset.i18nPlaceholder);
  for (const n of root.querySelectorAll("[data-i18n-aria]")) n.setAttribute("aria-label", t(n.dataset.i18nAria));
  document.title = t(document.body.dataset.titleKey || "studio_title");
}

/** el("button", {class: "x", onclick: f}, "text", child…) */
export function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(n.dataset, v);
    else n.setAttribute(k, v === true ? "" : String(v));
  }
  n.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return n;
}

export function $(sel, root = document) { return root.querySelector(sel); }

let noticeTimer;
export function notice(text, kind = "info") {
  const n = $("#notice");
  n.textContent = text;
  n.className = `notice ${kind}`;
  n.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { n.hidden = true; }, kind === "error" ? 8000 : 4000);
}

export function fail(err) { notice(err instanceof ApiError ? err.text() : String(err.message || err), "error"); }

export async function copy(text, button) {
  try { await navigator.clipboard.writeText(text); } catch {
    const area = el("textarea", {}, text);
    document.body.append(area); area.select(); document.execCommand("copy"); area.remove();
  }
  if (button) { const old = button.textContent; button.textContent = t("copied"); setTimeout(() => { button.textContent = old; }, 1500); }
}

export function uuid() { return crypto.randomUUID ? crypto.randomUUID() : ([1e7] + -1e3 + -4e3 + -8e3 + -1e11).replace(/[018]/g, (c) => (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16)); }

export async function socket() {
  const { io } = await import("/static/vendor/socket.io-client-4.8.4/socket.io.esm.min.js");
  return io("/live-stream", { auth: { token: token() }, transports: ["websocket", "polling"] });
}

export function formData(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) {
    if (k in out) out[k] = [].concat(out[k], v); else out[k] = v;
  }
  return out;
}
