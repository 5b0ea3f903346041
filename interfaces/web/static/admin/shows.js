// Every live show with its health (viewers, bitrate, alerts), refreshed while the tab is open; featuring shows.
import { $, api, el, fail, lang, notice, num, t, when } from "../studio/kit.js";

let timer = null, list = "live";

function title(s) { return (lang() === "bn" && s.title_bn) || s.title; }

function level(h) {
  if (!h) return "unknown";
  if (h.alerts.some((a) => a.level === "critical")) return "critical";
  if (h.alerts.length) return "warning";
  return "ok";
}

async function system() {
  let h;
  try { h = await fetch("/health").then((r) => r.json()); } catch { h = null; }
  const box = $("#system-health");
  if (!h) { box.replaceChildren(el("span", { class: "badge critical" }, t("health_unknown"))); return; }
  const lag = h.log && h.log.relay ? h.log.relay.lag : null;
  box.replaceChildren(el("span", { class: `badge ${h.status === "ok" ? "ok" : "critical"}`, id: "system-status" }, t(h.status === "ok" ? "system_ok" : "system_failing")),
    h.failing && h.failing.length ? el("span", {}, `${t("failing")}: ${h.failing.join(", ")}`) : null,
    lag !== null ? el("span", { class: "muted" }, `${t("log_lag")}: ${num(lag)}`) : null,
    h.log && h.log.dead_letters ? el("span", { class: "muted" }, `${t("dead_letters")}: ${num(h.log.dead_letters.open)}`) : null);
}

async function live() {
  const r = await api("/streams", { query: { status: "live", limit: 100 } });
  const healths = await Promise.all(r.streams.map((s) => api(`/streams/${s.id}/health`).catch(() => null)));
  $("#live-empty").hidden = r.streams.length > 0;
  $("#live-rows").replaceChildren(...r.streams.map((s, i) => {
    const h = healths[i], q = h && h.latest_sample ? h.latest_sample.quality_metrics : null, lv = level(h);
    return el("tr", { dataset: { stream: s.id, health: lv } },
      el("td", {}, el("a", { href: `/watch/${s.id}` }, title(s)), s.is_featured ? el("span", { class: "badge live small" }, "★") : null),
      el("td", {}, (s.host && s.host.name) || "—"),
      el("td", { class: "num" }, num(s.current_viewers)),
      el("td", { class: "num" }, q ? `${num(q.bitrate)} kbps` : "—"),
      el("td", {}, el("span", { class: `badge ${lv}` }, t(`health_${lv}`)),
        h && h.alerts.length ? el("div", { class: "muted small" }, h.alerts.map((a) => t(`alert_${a.code}`)).join(", ")) : null),
      el("td", {}, when(s.started_at)));
  }));
}

function featureRow(s, featured) {
  const toggle = async () => {
    try {
      await api(`/streams/${s.id}/feature`, { method: featured ? "DELETE" : "POST" });
      notice(t(featured ? "unfeatured" : "featured_done", { title: title(s) }));
      await loadFeatured();
    } catch (err) { fail(err); }
  };
  return el("li", { class: "show-row", dataset: { stream: s.id } },
    el("div", { class: "grow" }, el("strong", {}, title(s)), " ", el("span", { class: `badge ${s.status}` }, t(`stream_${s.status}`)),
      el("div", { class: "muted" }, `${(s.host && s.host.name) || "—"} · ${when(s.started_at || s.scheduled_start_time)}`)),
    el("button", { type: "button", class: featured ? "ghost danger" : "", onclick: toggle }, t(featured ? "unfeature" : "feature")));
}

export async function loadFeatured() {
  const r = await api("/streams", { query: { status: list, limit: 50 } });
  const ids = new Set(r.featured_streams.map((s) => s.id));
  $("#featured").replaceChildren(...(r.featured_streams.length ? r.featured_streams.map((s) => featureRow(s, true)) :
    [el("li", { class: "muted" }, t("none_featured"))]));
  const rest = r.streams.filter((s) => !ids.has(s.id));
  $("#candidates").replaceChildren(...(rest.length ? rest.map((s) => featureRow(s, false)) : [el("li", { class: "muted" }, t("none_here"))]));
}

export function active(tab) {
  clearInterval(timer);
  if (tab === "shows") {
    const tick = () => Promise.all([live(), system()]).catch(fail);
    tick();
    timer = setInterval(tick, 5000);
  }
  if (tab === "featured") loadFeatured().catch(fail);
}

export function init() {
  for (const b of document.querySelectorAll("[data-list]")) b.addEventListener("click", () => {
    list = b.dataset.list;
    for (const x of document.querySelectorAll("[data-list]")) x.setAttribute("aria-pressed", String(x === b));
    loadFeatured().catch(fail);
  });
}
