// Shows: the host's upcoming and recent shows, scheduling one with products from the catalogue, going live.
import { $, api, claims, el, fail, formData, lang, notice, t, taka, num, when } from "./kit.js";
import { state, go } from "./studio.js";
import * as live from "./live.js";
import * as insights from "./insights.js";

const MINE = "lc_studio_shows";  // ids of shows this browser created or opened, newest first
const picked = new Map();  // product id -> {product, special_price, limited_quantity}

export function remember(id) {
  const ids = [id, ...known().filter((x) => x !== id)].slice(0, 20);
  localStorage.setItem(MINE, JSON.stringify(ids));
}
export function known() { return JSON.parse(localStorage.getItem(MINE) || "[]"); }

function title(s) { return (lang() === "bn" && s.title_bn) || s.title; }

// The host's shows from documented routes only (the API has no "my shows" list): the dashboard's upcoming ones,
// the public live and ended lists (GET /streams?status=…) filtered to this host, and the ids this browser
// remembers (private shows, read one by one with GET /streams/:id).
export async function load() {
  const me = claims();
  if (!me) return;
  const rows = new Map();
  for (const s of (state.dashboard && state.dashboard.upcoming_streams) || []) rows.set(s.id, { ...s, status: "scheduled" });
  const lists = await Promise.all(["live", "ended"].map((status) =>
    api("/streams", { query: { status, limit: 100 } }).then((r) => r.streams).catch(() => [])));
  for (const s of lists.flat()) if (s.host && s.host.id === me.sub && !rows.has(s.id)) rows.set(s.id, s);
  const details = await Promise.all(known().filter((id) => !rows.has(id)).map((id) => api(`/streams/${id}`).catch(() => null)));
  for (const s of details) if (s) rows.set(s.id, s);
  const list = [...rows.values()].sort((a, b) => order(a) - order(b) || Date.parse(b.started_at || b.scheduled_start_time || 0) - Date.parse(a.started_at || a.scheduled_start_time || 0));
  const groups = ["live", "scheduled", "ended"].map((status) => [status, list.filter((s) => (status === "ended" ? ["ended", "cancelled"].includes(s.status) : s.status === status))]);
  $("#show-list").replaceChildren(...(list.length ? groups.filter(([, g]) => g.length).map(([status, g]) =>
    el("section", { class: "show-group", dataset: { group: status } }, el("h4", {}, t(`shows_${status}`), " ", el("span", { class: "muted" }, num(g.length))),
      el("ul", { class: "list" }, g.map(row)))) : [el("p", { class: "muted" }, t("no_shows"))]));
  return list;
}

function order(s) { return { live: 0, scheduled: 1, ended: 2, cancelled: 3 }[s.status] ?? 4; }

function row(s) {
  const open = () => { remember(s.id); live.open(s.id); go("live"); };
  const dashboard = async () => {
    remember(s.id);  // the dashboard's show picker lists remembered shows too
    go("insights");
    const sel = $("#analytics-show");
    if (![...sel.options].some((o) => o.value === s.id)) sel.append(el("option", { value: s.id }, title(s)));
    sel.value = s.id;
    await insights.show(s.id).catch(fail);
  };
  const ended = ["ended", "cancelled"].includes(s.status);
  return el("li", { class: "show-row", dataset: { id: s.id, status: s.status } },
    el("div", { class: "grow" },
      el("strong", {}, title(s)), " ",
      el("span", { class: `badge ${s.status}` }, t(`stream_${s.status}`)),
      el("div", { class: "muted" }, when(s.scheduled_start_time || s.started_at))),
    ended
      ? el("button", { type: "button", class: "dashboard", onclick: dashboard }, t("show_dashboard"))
      : el("button", { type: "button", class: s.status === "scheduled" ? "go-live primary" : "open-live", onclick: open },
        s.status === "scheduled" ? t("prepare") : t("open")),
    el("a", { class: "button ghost", href: `/watch/${s.id}`, target: "_blank", rel: "noopener" }, t("viewer_page")));
}

function renderPicked() {
  $("#picked").replaceChildren(...[...picked.values()].map((p) => el("tr", {},
    el("td", {}, (lang() === "bn" && p.product.name_bn) || p.product.name, el("div", { class: "muted" }, taka(p.product.list_price))),
    el("td", {}, el("input", { type: "number", min: "0", step: "0.01", value: p.special_price, "aria-label": t("show_price"),
                               class: "narrow", oninput: (e) => { p.special_price = e.target.value; } })),
    el("td", {}, el("input", { type: "number", min: "1", step: "1", value: p.limited_quantity, "aria-label": t("quantity"),
                               class: "narrow", oninput: (e) => { p.limited_quantity = e.target.value; } })),
    el("td", {}, el("button", { type: "button", class: "ghost", "aria-label": t("remove"),
                                onclick: () => { picked.delete(p.product.id); renderPicked(); } }, "✕")))));
}

async function search() {
  const c = claims() || {};
  const q = $("#catalogue-q").value.trim();
  try {
    const res = await api("/catalog/products", { query: { vendor_id: c.vendor_id, q, limit: 20 } });
    $("#catalogue-results").replaceChildren(...(res.products.length ? res.products.map((p) =>
      el("li", {}, el("button", { type: "button", class: "pick", dataset: { product: p.id },
                                  onclick: () => { picked.set(p.id, { product: p, special_price: p.list_price, limited_quantity: "" }); renderPicked(); } },
        el("span", { class: "grow" }, (lang() === "bn" && p.name_bn) || p.name),
        el("span", { class: "muted" }, `${taka(p.list_price)} · ${t("in_stock", { n: num(p.stock) })}`)))) :
      [el("li", { class: "muted" }, t("nothing_found"))]));
  } catch (err) { fail(err); }
}

async function schedule(ev) {
  ev.preventDefault();
  const f = formData(ev.target);
  const body = {
    title: f.title.trim(), stream_type: f.stream_type, language: f.language, is_public: true,
    scheduled_start_time: new Date(f.scheduled_start_time).toISOString(),
    products: [...picked.values()].map((p, i) => {
      const out = { product_id: p.product.id, display_order: i };
      if (p.special_price !== "" && p.special_price !== null) out.special_price = Number(p.special_price);
      if (p.limited_quantity) out.limited_quantity = Number(p.limited_quantity);
      return out;
    }),
  };
  if (f.title_bn) body.title_bn = f.title_bn.trim();
  if (f.category) body.category = f.category.trim();
  try {
    const res = await api("/streams", { method: "POST", body });
    remember(res.id);
    picked.clear(); renderPicked(); ev.target.reset(); defaultTime();
    notice(t("show_scheduled"));
    await api(`/streams/${res.id}`, { query: { min_version: res.version } }).catch(() => null);
    await load();
  } catch (err) { fail(err); }
}

function defaultTime() {
  const d = new Date(Date.now() + 10 * 60_000);
  d.setSeconds(0, 0);
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  $("#schedule-form [name=scheduled_start_time]").value = local;
}

export function init() {
  $("#schedule-form").addEventListener("submit", schedule);
  $("#catalogue-search").addEventListener("click", search);
  $("#catalogue-q").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); search(); } });
  $("#open-show").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = formData(e.target).stream_id.trim();
    remember(id); live.open(id); go("live");
  });
  defaultTime();
}
