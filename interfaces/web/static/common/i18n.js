// Strings from static/i18n/{en,bn}.json (plus a page's own files), numbers and taka in the chosen language.
const KEY = 'lc.lang';
const BN_DIGITS = '০১২৩৪৫৬৭৮৯';
let messages = {};
export let lang = pickLang();

function pickLang() {
  const stored = localStorage.getItem(KEY);
  if (stored === 'en' || stored === 'bn') return stored;
  return (navigator.language || '').toLowerCase().startsWith('bn') ? 'bn' : 'en';
}

/** Load the shared messages and any extra folders' (e.g. ['/static/studio/i18n']). */
export async function loadMessages(extra = []) {
  const dirs = ['/static/i18n', ...extra];
  const files = await Promise.all(dirs.map((d) => fetch(`${d}/${lang}.json`).then((r) => (r.ok ? r.json() : {}))));
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
  localStorage.setItem(KEY, next);
  lang = next;
}
