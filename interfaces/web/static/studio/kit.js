// What the studio and the admin console share, on top of the app's common modules (static/common/): the API
// client, the signed-in user, messages and numbers in English or Bangla, and a few helpers of their own.
import { api as commonApi, ApiError, newKey } from "/static/common/api.js";
import { claims as tokenClaims, getToken } from "/static/common/auth.js";
import * as i18n from "/static/common/i18n.js";
import { $, h, toast } from "/static/common/dom.js";

export { $, ApiError, getToken };
export const el = h;
export const uuid = newKey;
export const { t, digits, translate, errorText, dateTime, setLang } = i18n;

/** The API client; `idempotencyKey` is the Idempotency-Key header. */
export function api(path, { idempotencyKey, ...options } = {}) {
  return commonApi(path, { ...options, key: idempotencyKey });
}

export function claims() { return tokenClaims(getToken() || undefined); }
export function roles() { const c = claims(); return new Set((c && c.roles) || []); }
export function lang() { return i18n.lang; }

export async function loadMessages(...dirs) { return i18n.loadMessages(dirs); }

/** A number in the page's language; up to `max` decimals (none shown when it is whole). */
export function num(n, max = 0) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return "—";
  const x = Number(n);
  return i18n.num(x, Number.isInteger(x) ? 0 : max);
}
export function taka(n) { return n === null || n === undefined ? "—" : i18n.taka(n); }
export function pct(x) { return x === null || x === undefined ? "—" : `${num(Number(x) * 100, 1)}%`; }
export function when(iso) { return iso ? i18n.dateTime(iso) : "—"; }

export function notice(text, kind = "info") { toast(text, kind); }
export function fail(err) { toast(err instanceof ApiError ? errorText(err) : String((err && err.message) || err), "error"); }

export async function copy(text, button) {
  try { await navigator.clipboard.writeText(text); } catch {
    const area = el("textarea", {}, text);
    document.body.append(area); area.select(); document.execCommand("copy"); area.remove();
  }
  if (button) { const old = button.textContent; button.textContent = t("copied"); setTimeout(() => { button.textContent = old; }, 1500); }
}

export function formData(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) out[k] = k in out ? [].concat(out[k], v) : v;
  return out;
}

/** A refused socket event's ack ({ok: false, error: {code, message, message_bn}}) in the page's language. */
export function ackError(ack) {
  const e = (ack && ack.error) || {};
  if (e.code === "timeout") return t("no_answer");
  return (i18n.lang === "bn" && e.message_bn) || e.message || e.code || t("no_answer");
}
