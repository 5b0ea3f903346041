// After the show: the host's dashboard (spec §4.4) and analytics (§4.5), drawn as charts.
import { $, api, el, fail, lang, num, pct, t, taka, when } from "./kit.js";
import { barChart, lineChart } from "./charts.js";
import { state } from "./studio.js";
import { mine } from "./shows.js";

function figure(value, label) {
  return el("div", { class: "figure" }, el("span", { class: "value" }, value), el("span", { class: "label" }, label));
}

function growth(x) {
  if (x === null || x === undefined) return "—";
  return `${x >= 0 ? "▲" : "▼"} ${pct(Math.abs(x))}`;
}

export async function load() {
  if (!state.profile || !state.dashboard) {
    $("#dash-figures").replaceChildren(el("p", { class: "muted" }, t("dashboard_needs_host")));
    return;
  }
  const d = await api("/hosts/dashboard");
  state.dashboard = d;
  const p = d.performance_summary, e = d.earnings_summary;
  $("#dash-figures").replaceChildren(
    figure(num(p.total_streams), t("total_streams")), figure(num(p.total_viewers), t("total_viewers")),
    figure(num(p.total_purchases), t("sales")), figure(taka(p.total_sales), t("revenue")),
    figure(pct(p.conversion_rate), t("conversion")), figure(num(p.average_rating, 1), t("rating")));
  barChart($("#earnings-chart"), [
    { label: t("last_month"), value: e.last_month }, { label: t("this_month"), value: e.this_month },
    { label: t("total"), value: e.total_earnings }], { format: taka, label: t("earnings") });
  const a = await api(`/hosts/${d.host_info.id}/analytics`, { query: { period: $("#period").value } });
  const g = a.growth_metrics;
  $("#growth").replaceChildren(el("dl", { class: "facts" },
    el("dt", {}, t("followers")), el("dd", {}, `${num(g.followers)} (${growth(g.follower_growth)})`),
    el("dt", {}, t("viewership")), el("dd", {}, growth(g.viewership_growth)),
    el("dt", {}, t("revenue")), el("dd", {}, growth(g.revenue_growth)),
    el("dt", {}, t("engagement_rate")), el("dd", {}, pct(a.performance_metrics.engagement_rate)),
    el("dt", {}, t("watch_time")), el("dd", {}, `${num(a.performance_metrics.total_watch_time)} ${t("minutes")}`)));
  barChart($("#top-streams-chart"), a.top_performing_streams.map((s) => ({ label: s.title, value: s.revenue })),
           { format: taka, label: t("top_streams") });
  $("#suggestions").replaceChildren(...(a.improvement_suggestions.length ?
    a.improvement_suggestions.map((s) => el("li", { lang: "en" }, s)) : [el("li", { class: "muted" }, t("no_suggestions"))]));
  const choices = new Map(a.top_performing_streams.map((s) => [s.id, s.title]));
  for (const s of d.upcoming_streams) choices.set(s.id, s.title);
  for (const s of mine) if (!choices.has(s.id)) choices.set(s.id, s.title);
  const sel = $("#analytics-show");
  const was = sel.value;
  sel.replaceChildren(...[...choices].map(([id, title]) => el("option", { value: id }, title)));
  if (was) sel.value = was;
}

export async function show(id) {
  const a = await api(`/streams/${id}/analytics`);
  const o = a.overview, s = a.sales_analytics;
  $("#show-analytics").hidden = false;
  $("#sa-figures").replaceChildren(
    figure(num(o.total_viewers), t("total_viewers")), figure(num(o.peak_concurrent), t("peak_viewers")),
    figure(`${num(o.average_watch_time, 1)} ${t("min_short")}`, t("average_watch")),
    figure(num(o.total_engagement), t("engagement")), figure(num(o.total_purchases), t("sales")),
    figure(taka(o.revenue), t("revenue")), figure(pct(s.conversion_rate), t("conversion")),
    figure(taka(s.average_order_value), t("average_order")));
  const tl = a.engagement_timeline.map((r) => [Date.parse(r.timestamp), r]);
  const clock = (x) => new Date(x).toLocaleTimeString(lang() === "bn" ? "bn-BD" : "en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Dhaka" });
  lineChart($("#timeline-chart"), [
    { name: t("viewers"), points: tl.map(([x, r]) => [x, r.viewers]) },
    { name: t("interactions"), points: tl.map(([x, r]) => [x, r.interactions]) }], { format: (v) => num(v), xFormat: clock, label: t("engagement_timeline") });
  const f = s.conversion_funnel || {};
  barChart($("#funnel-chart"), Object.entries(f).map(([k, v]) => ({ label: t(`funnel_${k}`), value: v })), { format: (v) => num(v), label: t("funnel") });
  const names = await Promise.all(s.revenue_by_product.map((p) => api(`/catalog/products/${p.product_id}`).catch(() => null)));
  barChart($("#rbp-chart"), s.revenue_by_product.map((p, i) => ({
    label: names[i] ? ((lang() === "bn" && names[i].name_bn) || names[i].name) : p.product_id.slice(0, 8), value: p.revenue ?? p.units })),
    { format: s.revenue_by_product.some((p) => p.revenue !== null) ? taka : (v) => num(v), label: t("revenue_by_product") });
  barChart($("#loc-chart"), Object.entries(a.viewer_demographics.by_location || {}).map(([k, v]) => ({ label: k, value: v })),
           { format: (v) => num(v), label: t("by_location") });
  barChart($("#dev-chart"), Object.entries(a.viewer_demographics.by_device || {}).map(([k, v]) => ({ label: t(`device_${k}`), value: v })),
           { format: pct, label: t("by_device") });
}

export function init() {
  $("#period").addEventListener("change", () => load().catch(fail));
  $("#analytics-form").addEventListener("submit", (e) => { e.preventDefault(); show($("#analytics-show").value).catch(fail); });
}
export { when };
