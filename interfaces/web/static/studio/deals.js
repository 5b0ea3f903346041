// Deals of the live show: flash sales (start, end early), auctions and group buys (start; they close at their
// time or when the show ends). Their live state comes from the room's events; group buys have none, so they
// are read again every few seconds while open.
import { $, api, el, fail, formData, notice, num, t, taka } from "./kit.js";
import { productName, room } from "./live.js";

const SAVED = "lc_studio_deals";  // stream id -> [{kind, id}] for auctions and group buys (no list route)
let kind = "flash", deals = new Map(), choices = [], ticker = null, groupTimer = null;

const FORMS = {
  flash: [["flash_price", "number", "0.01", true], ["available_quantity", "number", "1", true],
          ["duration_minutes", "number", "1", true, 10], ["max_per_buyer", "number", "1", false, 2],
          ["announcement_message", "text", null, false]],
  auction: [["starting_price", "number", "0.01", true], ["reserve_price", "number", "0.01", false],
            ["duration_minutes", "number", "1", true, 5], ["extension_seconds", "number", "1", false, 30]],
  group: [["group_price", "number", "0.01", true], ["min_buyers", "number", "1", true, 5],
          ["duration_minutes", "number", "1", true, 30], ["max_buyers", "number", "1", false]],
};

function saved() { return JSON.parse(localStorage.getItem(SAVED) || "{}"); }
function save(id, k) {
  const all = saved();
  all[room.id] = [...(all[room.id] || []), { kind: k, id }];
  localStorage.setItem(SAVED, JSON.stringify(all));
}

function renderForm() {
  for (const b of document.querySelectorAll("[data-deal]")) b.setAttribute("aria-pressed", String(b.dataset.deal === kind));
  const live = room.status === "live";
  $("#deal-form").replaceChildren(...[
    el("label", {}, el("span", {}, t("product")), el("select", { name: "product_id", required: true },
      choices.map((p) => el("option", { value: p.product_id }, `${productName(p.product_id)} · ${taka(p.special_price)}`)))),
    el("div", { class: "row wrap" }, FORMS[kind].map(([name, type, step, required, value]) => el("label", { class: "grow" },
      el("span", {}, t(name)), el("input", { name, type, step, min: type === "number" ? "0" : null, required, value,
                                             class: type === "number" ? "narrow" : null, maxlength: type === "text" ? "500" : null })))),
    el("button", { type: "submit", disabled: !live, id: `start-${kind}` }, t(`start_${kind}`)),
    live ? null : el("p", { class: "muted small" }, t("deals_need_live"))].filter(Boolean));
}

async function submit(ev) {
  ev.preventDefault();
  const f = formData(ev.target);
  const body = { stream_id: room.id, product_id: f.product_id };
  for (const [name, type] of FORMS[kind]) {
    if (f[name] === undefined || f[name] === "") continue;
    body[name] = type === "number" ? Number(f[name]) : f[name];
  }
  try {
    if (kind === "flash") {
      const r = await api("/flash-sales", { method: "POST", body });
      deals.set(r.id, { kind: "flash", id: r.id, product_id: body.product_id, price: body.flash_price, quantity: body.available_quantity,
                        available: body.available_quantity, sold: 0, status: r.status, ends: r.end_time });
      notice(t("flash_started"));
    } else if (kind === "auction") {
      const r = await api("/auctions", { method: "POST", body });
      save(r.auction_id, "auction");
      deals.set(r.auction_id, { kind: "auction", id: r.auction_id, product_id: body.product_id, price: r.current_price,
                                bids: 0, status: r.status, ends: r.ends_at });
      notice(t("auction_started"));
    } else {
      const r = await api("/group-buys", { method: "POST", body });
      save(r.group_buy_id, "group");
      deals.set(r.group_buy_id, { kind: "group", id: r.group_buy_id, product_id: body.product_id, price: r.group_price,
                                  buyers: r.buyers, min: r.min_buyers, status: r.status, ends: r.deadline });
      notice(t("group_started"));
    }
    render();
  } catch (err) { fail(err); }
}

async function endSale(id) {
  try {
    const r = await api(`/flash-sales/${id}/cancel`, { method: "POST", body: { reason: "ended by the host" } });
    Object.assign(deals.get(id), { status: "cancelled", available: r.available_quantity, sold: r.sold_quantity });
    render();
    notice(t("flash_ended"));
  } catch (err) { fail(err); }
}

function left(iso) {
  const s = Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 1000));
  return `${num(Math.floor(s / 60))}:${String(s % 60).padStart(2, "0").replace(/\d/g, (d) => num(d))}`;
}

export function render() {
  const open = (d) => ["active", "open", "scheduled", "running"].includes(d.status);
  const list = [...deals.values()].sort((a, b) => open(b) - open(a));
  $("#deal-list").replaceChildren(...list.map((d) => {
    let facts;
    if (d.kind === "flash") facts = `${taka(d.price)} · ${t("left_sold", { left: num(d.available), sold: num(d.sold) })}`;
    else if (d.kind === "auction") facts = `${taka(d.price)} · ${t("bids_n", { n: num(d.bids) })}`;
    else facts = `${taka(d.price)} · ${t("buyers_of", { n: num(d.buyers), min: num(d.min) })}`;
    return el("li", { class: `deal ${d.kind}`, dataset: { deal: d.id, status: d.status } },
      el("div", { class: "grow" }, el("strong", {}, `${t(d.kind === "flash" ? "flash_sale" : d.kind === "auction" ? "auction" : "group_buy")}: ${productName(d.product_id)}`),
        el("div", { class: "muted" }, facts)),
      el("span", { class: `badge ${d.status}` }, t(`deal_${d.status}`)),
      open(d) && d.ends ? el("span", { class: "timer", dataset: { ends: d.ends } }, left(d.ends)) : null,
      d.kind === "flash" && open(d) ? el("button", { type: "button", class: "danger ghost", onclick: () => endSale(d.id) }, t("end_now")) : null);
  }));
}

export function stock(e) {
  const d = deals.get(e.sale_id);
  if (!d) return;
  Object.assign(d, { available: e.available, status: e.status || d.status });
  if (e.quantity !== undefined && e.available !== undefined) d.sold = Math.max(d.sold || 0, e.quantity - e.available - 0);
  render();
}

export function event(name, e) {
  if (name.startsWith("flash_sale")) {
    const d = deals.get(e.sale_id) || { kind: "flash", id: e.sale_id, sold: 0 };
    Object.assign(d, { product_id: e.product_id, price: e.flash_price, available: e.available, status: e.status, ends: e.end_time });
    deals.set(e.sale_id, d);
  } else {
    const d = deals.get(e.auction_id) || { kind: "auction", id: e.auction_id };
    Object.assign(d, { product_id: e.product_id, price: e.current_price, bids: e.bid_count, status: e.status, ends: e.ends_at });
    deals.set(e.auction_id, d);
  }
  render();
}

async function refreshGroups() {
  for (const d of deals.values()) {
    if (d.kind !== "group" || d.status !== "open") continue;
    const g = await api(`/group-buys/${d.id}`).catch(() => null);
    if (g) Object.assign(d, { buyers: g.buyers, status: g.status });
  }
  render();
}

export async function load() {
  const all = await api(`/streams/${room.id}/deals`);
  for (const [list, status] of [[all.active_deals, "active"], [all.upcoming_deals, "scheduled"], [all.expired_deals, "ended"]]) {
    for (const x of list || []) {
      const id = x.flash_sale_id || x.sale_id || x.id;
      if (!id || deals.has(id)) continue;
      deals.set(id, { kind: "flash", id, product_id: x.product_id, price: x.live_price, available: x.available_quantity,
                      sold: x.sold_quantity ?? 0, status: x.status || status, ends: x.sale_end_time });
    }
  }
  for (const { kind: k, id } of saved()[room.id] || []) {
    const r = await api(k === "auction" ? `/auctions/${id}` : `/group-buys/${id}`).catch(() => null);
    if (!r) continue;
    deals.set(id, k === "auction" ?
      { kind: k, id, product_id: r.product_id, price: r.current_price, bids: r.bid_count, status: r.status, ends: r.ends_at } :
      { kind: k, id, product_id: r.product_id, price: r.group_price, buyers: r.buyers, min: r.min_buyers, status: r.status, ends: r.deadline });
  }
  render();
}

let shape = "";
export function products(list) {
  // Rebuilt only when what it offers changes: the room refreshes every few seconds, the host may be typing.
  const next = `${kind}|${room.status}|${list.map((p) => `${p.product_id}:${p.special_price}:${productName(p.product_id)}`).join(",")}`;
  choices = list;
  if (next !== shape) { shape = next; renderForm(); }
}

export function reset() { deals = new Map(); render(); }

export function init() {
  for (const b of document.querySelectorAll("[data-deal]")) b.addEventListener("click", () => { kind = b.dataset.deal; shape = ""; products(choices); });
  $("#deal-form").addEventListener("submit", submit);
  clearInterval(ticker);
  ticker = setInterval(() => { for (const n of document.querySelectorAll(".timer")) n.textContent = left(n.dataset.ends); }, 1000);
  groupTimer = setInterval(() => refreshGroups().catch(() => {}), 4000);
}
