// Shows: the host's upcoming and recent shows, scheduling one with products from the catalogue, going live.
import { $, api, claims, el, fail, formData, lang, notice, t, taka, num, when } from "./kit.js";
import { state, go } from "./studio.js";
import * as live from "./live.js";
import * as insights from "./insights.js";

const PAGE = 50;  // shows per page of GET /hosts/:id/streams
const picked = new Map();  // product id -> {product, special_price, limited_quantity}
export const mine = [];  // the host's shows loaded so far, newest first (the dashboard's show picker lists them)
let nextCursor = null;

function title(s) { return (lang() === "bn" && s.title_bn) || s.title; }

// The host's shows from GET /hosts/:host_id/streams: every show of theirs (private and scheduled ones too, made in
// any browser), newest first, a page at a time ("More shows" reads the next with the answer's cursor).
export async function load({ more = false } = {}) {
  const profile = state.profile;
  if (!claims() || !profile || !profile.id) return;
  const page = await api(`/hosts/${profile.id}/streams`, { query: { limit: PAGE, cursor: more ? nextCursor : null } });
  if (!more) mine.length = 0;
  const seen = new Set(mine.map((s) => s.id));
  mine.push(...page.streams.filter((s) => !seen.has(s.id)));
  nextCursor = page.next_cursor;
  render();
  return mine;
}

function render() {
  const list = [...mine].sort((a, b) => order(a) - order(b));  // stable: newest first within each group
  const groups = ["live", "scheduled", "ended"].map((status) => [status, list.filter((s) => (status === "ended" ? ["ended", "cancelled"].includes(s.status) : s.status === status))]);
  const more = nextCursor ? [el("button", { type: "button", class: "ghost", id: "more-shows", onclick: () => load({ more: true }).catch(fail) }, t("more_shows"))] : [];
  $("#show-list").replaceChildren(...(list.length ? groups.filter(([, g]) => g.length).map(([status, g]) =>
    el("section", { class: "show-group", dataset: { group: status } }, el("h4", {}, t(`shows_${status}`), " ", el("span", { class: "muted" }, num(g.length))),
      el("ul", { class: "list" }, g.map(row)))) : [el("p", { class: "muted" }, t("no_shows"))]), ...more);
}

function order(s) { return { live: 0, scheduled: 1, ended: 2, cancelled: 3 }[s.status] ?? 4; }

function row(s) {
  const open = () => { live.open(s.id); go("live"); };
  const dashboard = async () => {
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
    live.open(id); go("live");
  });
  defaultTime();
}
