// The live control room: go live (RTMP URL and key, health and bitrate), products to feature, the live figures,
// and the end of the show. Deals and chat have their own modules; all share the room's socket.
import { live } from "/static/common/socket.js";
import { $, ackError, api, copy, el, fail, lang, notice, num, pct, t, taka } from "./kit.js";
import { Rolling, lineChart } from "./charts.js";
import * as deals from "./deals.js";
import * as chat from "./chat.js";
import * as games from "./games.js";

const KEYS = "lc_studio_keys";  // stream id -> {rtmp_url, stream_key}: the start answer, kept for reloads
const OPEN = "lc_studio_open";
export const room = { id: null, stream: null, products: new Map(), names: new Map(), featured: null,
                      viewers: 0, reactions: 0, sales: 0, revenue: null, sentiment: null, status: null };
const bitrate = new Rolling(90), viewers = new Rolling(120);
let conn = null, timers = [];

export function productName(id) {
  const p = room.names.get(id);
  return p ? ((lang() === "bn" && p.name_bn) || p.name) : id.slice(0, 8);
}

async function names(ids) {
  await Promise.all(ids.filter((id) => !room.names.has(id)).map(async (id) => {
    try { room.names.set(id, await api(`/catalog/products/${id}`)); } catch { room.names.set(id, null); }
  }));
}

/** The room's socket (common/socket.js: joins again after a reconnect, resuming from the last event seen). */
function connect() {
  if (conn) conn.socket.disconnect();
  conn = live({
    streamId: room.id, deviceType: "desktop",
    onState: (s) => {
      if (s.stream_id !== room.id) return;
      setViewers(s.viewer_count);
      if (s.featured_product) room.featured = s.featured_product.product_id;
      chat.first(s);
      renderProducts();
    },
    onResync: () => { refresh().catch(() => {}); deals.load().catch(() => {}); },
  });
  const on = (event, fn) => conn.on(event, (e) => { if (e && e.stream_id === room.id) fn(e); });
  on("viewer_count_update", (e) => setViewers(e.count));
  on("reaction_burst", (e) => {
    room.reactions += Object.values(e.counts || {}).reduce((a, b) => a + b, 0);
    renderFigures();
  });
  on("product_featured", (e) => {
    room.featured = (e.product && (e.product.product_id || e.product.id)) || room.featured;
    renderProducts();
  });
  on("stock_update", (e) => {
    if (e.sale_id) return deals.stock(e);
    const p = room.products.get(e.product_id);
    if (p) { p.sold_quantity = e.sold; p.available = e.available; renderProducts(); }
  });
  on("stream_status", (e) => { room.status = e.status; renderFigures(); renderGoLive(); games.form(); });
  on("sentiment_update", (e) => { room.sentiment = e; renderFigures(); });
  on("new_message", (m) => { if (m.message_type === "payment_confirmation") { room.sales += 1; renderFigures(); } });
  for (const ev of ["flash_sale_started", "flash_sale_ended", "new_bid", "auction_extended", "auction_closed"]) {
    on(ev, (e) => deals.event(ev, e));
  }
  for (const ev of ["poll_results_update", "poll_ended", "quiz_question_result", "quiz_ended"]) {
    conn.on(ev, (e) => { if (e && (!e.stream_id || e.stream_id === room.id)) games.event(ev, e); });
  }
  chat.attach(conn);
}

async function join() {
  const ack = await conn.join();
  if (ack && !ack.ok) notice(ackError(ack), "error");
}

function setViewers(n) {
  room.viewers = Number(n) || 0;
  viewers.push(room.viewers);
  lineChart($("#viewers-chart"), [{ name: t("viewers"), points: viewers.points }], { format: (v) => num(v), label: t("viewers") });
  renderFigures();
}

export function renderFigures() {
  if (!room.id) return;
  $("#f-status").textContent = room.status ? t(`stream_${room.status}`) : "—";
  $("#f-status").dataset.status = room.status || "";
  $("#f-viewers").textContent = num(room.viewers);
  $("#f-reactions").textContent = num(room.reactions);
  $("#f-sales").textContent = num(room.sales);
  $("#f-revenue").textContent = taka(room.revenue ?? 0);
  const s = room.sentiment;
  let mood = "—";
  if (s) {
    const score = s.score ?? (s.positive !== undefined ? s.positive - (s.negative || 0) : null);
    const label = s.label || (score > 0.15 ? "positive" : score < -0.15 ? "negative" : "neutral");
    mood = `${{ positive: "🙂", neutral: "😐", negative: "🙁" }[label] || ""} ${t(`mood_${label}`)}` +
           (s.positive !== undefined ? ` ${pct(s.positive)}` : "");
  }
  $("#f-sentiment").textContent = mood;
}

function renderProducts() {
  const list = [...room.products.values()];
  $("#live-products").replaceChildren(...list.map((p) => {
    const left = p.limited_quantity === null ? "∞" : num(Math.max(0, p.available ?? (p.limited_quantity - p.sold_quantity)));
    const featured = room.featured === p.product_id;
    return el("li", { class: featured ? "product featured" : "product", dataset: { product: p.product_id } },
      el("div", { class: "grow" }, el("strong", {}, productName(p.product_id)),
        el("div", { class: "muted" }, `${taka(p.special_price)} · ${t("left_sold", { left, sold: num(p.sold_quantity) })}`)),
      featured ? el("span", { class: "badge live" }, t("featured")) :
        el("button", { type: "button", class: "ghost", disabled: room.status !== "live",
                       onclick: () => feature(p.product_id) }, t("feature")));
  }));
  deals.products(list);
}

async function feature(pid) {
  try {
    await api(`/streams/${room.id}/feature`, { method: "POST", body: { product_id: pid } });
    room.featured = pid;
    renderProducts();
    notice(t("product_featured", { name: productName(pid) }));
  } catch (err) { fail(err); }
}

function keys() { return JSON.parse(localStorage.getItem(KEYS) || "{}"); }

function renderGoLive() {
  const box = $("#golive");
  const k = keys()[room.id];
  const parts = [];
  if (room.status === "scheduled") {
    parts.push(el("p", { class: "muted" }, t("golive_help")),
               el("button", { type: "button", id: "start-show", onclick: start }, t("go_live")));
  } else if (room.status === "live" && !k) {
    parts.push(el("p", { class: "muted" }, t("key_elsewhere")));
  } else if (room.status !== "live") {
    parts.push(el("p", { class: "muted" }, t(`stream_${room.status}_help`)));
  }
  if (k && room.status === "live") {
    const field = (label, value, id) => el("div", { class: "copy-row" },
      el("label", { for: id }, label), el("input", { id, readonly: true, value, class: "mono" }),
      el("button", { type: "button", class: "ghost", onclick: (e) => copy(value, e.target) }, t("copy")));
    parts.push(field(t("server_url"), k.rtmp_url, "rtmp-url"), field(t("stream_key"), k.stream_key, "stream-key"),
               el("p", { class: "muted small" }, t("key_secret")));
  }
  box.replaceChildren(...parts);
}

async function start() {
  try {
    const res = await api(`/streams/${room.id}/start`, { method: "POST" });
    const all = keys();
    all[room.id] = { rtmp_url: res.rtmp_url, stream_key: res.stream_key };
    localStorage.setItem(KEYS, JSON.stringify(all));
    room.status = "live";
    renderGoLive(); renderFigures(); renderProducts();
    notice(t("you_are_live"));
    await api(`/streams/${room.id}`, { query: { min_version: res.version } }).catch(() => null);
    if (conn) join();
  } catch (err) { fail(err); }
}

async function health() {
  if (!room.id || room.status !== "live") return;
  const h = await api(`/streams/${room.id}/health`);
  const q = (h.latest_sample && h.latest_sample.quality_metrics) || null;
  if (q) bitrate.push(q.bitrate || 0, Date.parse(h.latest_sample.timestamp) || Date.now());
  lineChart($("#bitrate-chart"), [{ name: "kbps", points: bitrate.points }],
            { format: (v) => `${num(v)}`, label: t("bitrate_kbps"), height: 140 });
  $("#health-now").replaceChildren(...(q ? [
    el("span", {}, `${t("bitrate")}: ${num(q.bitrate)} kbps`), el("span", {}, `${num(q.fps, 1)} fps`),
    el("span", {}, q.resolution || "—"), el("span", {}, `${t("latency")}: ${num(q.latency, 1)} s`)] :
    [el("span", { class: "muted" }, t("no_signal"))]));
  $("#health-alerts").replaceChildren(...h.alerts.map((a) => el("li", { class: `alert ${a.level}` }, t(`alert_${a.code}`))));
}

async function refresh() {
  if (!room.id) return;
  const s = await api(`/streams/${room.id}`);
  room.stream = s;
  room.status = s.status;
  room.revenue = s.sales_stats.total_revenue;
  room.sales = Math.max(room.sales, s.sales_stats.total_purchases);
  room.reactions = Math.max(room.reactions, s.engagement_stats.total_likes);
  if (s.featured_product_id) room.featured = room.featured || s.featured_product_id;
  const fresh = new Map(s.featured_products.map((p) => [p.product_id, { ...p, ...(room.products.get(p.product_id) || {}),
                                                                          sold_quantity: p.sold_quantity }]));
  room.products = fresh;
  await names([...fresh.keys()]);
  renderFigures();
}

export async function open(id) {
  if (!id) return;
  for (const x of timers) clearInterval(x);
  timers = [];
  Object.assign(room, { id, products: new Map(), featured: null, viewers: 0, reactions: 0, sales: 0,
                        revenue: null, sentiment: null, status: null });
  bitrate.points = []; viewers.points = [];
  localStorage.setItem(OPEN, id);
  $("#live-empty").hidden = true;
  $("#live-room").hidden = false;
  chat.reset(id);
  deals.reset(id);
  try {
    await refresh();
  } catch (err) { fail(err); return; }
  $("#live-title").textContent = (lang() === "bn" && room.stream.title_bn) || room.stream.title;
  renderGoLive(); renderProducts(); games.reset(); health().catch(() => {});
  setViewers(room.stream.current_viewers);
  connect();
  deals.load().catch(fail);
  timers.push(setInterval(() => refresh().then(renderProducts).catch(() => {}), 3000),
              setInterval(() => health().catch(() => {}), 2000));
}

async function end(ev) {
  ev.preventDefault();
  const summary = ev.target.summary.value.trim();
  const button = ev.submitter || ev.target.querySelector("button");
  if (button.dataset.armed !== "1") {  // two presses instead of a browser dialog: keyboard and screen-reader friendly
    button.dataset.armed = "1";
    button.textContent = t("end_confirm");
    setTimeout(() => { button.dataset.armed = ""; button.textContent = t("end_show"); }, 5000);
    return;
  }
  try {
    await api(`/streams/${room.id}/end`, { method: "POST", body: { summary: summary || t("default_summary"), auto_generate_highlights: true } });
    room.status = "ended";
    renderFigures(); renderGoLive();
    notice(t("show_ended"));
  } catch (err) { fail(err); }
}

export function rerender() { if (room.id) { renderFigures(); renderProducts(); renderGoLive(); deals.render(); chat.render(); games.form(); games.render(); } }

export function resume() { const id = localStorage.getItem(OPEN); if (id) open(id); }

export function init() { $("#end-form").addEventListener("submit", end); deals.init(); chat.init(); games.init(); }
