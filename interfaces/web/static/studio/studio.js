// The host studio (GET /studio): profile and application, shows, the live control room, the dashboard.
// Everything comes from the documented HTTP API and the /live-stream Socket.IO namespace (docs/api.md).
import { startPage } from "/static/common/page.js";
import { $, ApiError, api, claims, el, fail, formData, notice, roles, t, num, when } from "./kit.js";
import * as shows from "./shows.js";
import * as live from "./live.js";
import * as insights from "./insights.js";

const APP_KEY = "lc_studio_application";  // {user: profile id} of applications sent from a viewer account
export const state = { profile: null, dashboard: null };
let pollTimer = null;

function showTab(name) {
  for (const b of document.querySelectorAll("[data-tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
  for (const p of document.querySelectorAll("[data-panel]")) p.hidden = p.dataset.panel !== name;
  location.hash = name;
  if (name === "insights") insights.load().catch(fail);
  if (name === "shows") shows.load().catch(fail);
}
export const go = showTab;

function statusOf(p) {
  if (!p) return "none";
  if (p.verification_status === "verified" && p.is_active === false) return "suspended";
  return p.verification_status;
}

function renderProfile() {
  const box = $("#profile-status");
  const p = state.profile;
  const status = statusOf(p);
  $("#apply-form").hidden = !(status === "none" || status === "rejected");
  if (!p) {
    box.replaceChildren(el("p", {}, t("no_profile")));
    return;
  }
  const rows = [
    [t("host_name"), p.host_name],
    [t("commission"), `${num(p.commission_rate, 2)}%`],
    [t("followers"), num(p.followers_count)],
    [t("rating"), p.rating_count ? `${num(p.rating, 1)} (${num(p.rating_count)})` : "—"],
    [t("applied_at"), when(p.created_at)],
  ];
  if (p.rejection_reason && status === "rejected") rows.push([t("rejection_reason"), p.rejection_reason]);
  if (p.suspension_reason && status === "suspended") rows.push([t("suspension_reason"), p.suspension_reason]);
  box.replaceChildren(
    el("p", {}, el("span", { class: `badge ${status}`, id: "host-status", dataset: { status } }, t(`status_${status}`))),
    el("p", { class: "muted" }, t(`status_${status}_help`)),
    el("dl", { class: "facts" }, rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "—")])),
  );
}

export async function loadProfile() {
  const me = claims();
  if (!me) return;
  const r = roles();
  try {
    if (r.has("host")) {
      state.dashboard = await api("/hosts/dashboard");
      state.profile = state.dashboard.host_info;
    } else {
      const id = JSON.parse(localStorage.getItem(APP_KEY) || "{}")[me.sub];
      state.profile = id ? await api(`/hosts/applications/${id}`) : null;
    }
  } catch (err) {
    if (!(err instanceof ApiError && err.code === "host_not_found")) throw err;
    state.profile = null;
    state.dashboard = null;
  }
  renderProfile();
  clearTimeout(pollTimer);
  if (statusOf(state.profile) === "pending") pollTimer = setTimeout(() => loadProfile().catch(fail), 3000);
}

async function apply(ev) {
  ev.preventDefault();
  const f = formData(ev.target);
  const body = {
    host_name: f.host_name.trim(), experience_level: f.experience_level,
    languages: [].concat(f.languages || []),
    specializations: (f.specializations || "").split(",").map((s) => s.trim()).filter(Boolean),
  };
  if (f.bio) body.bio = f.bio;
  if (f.bio_bn) body.bio_bn = f.bio_bn;
  if (f.portfolio_links) body.portfolio_links = [f.portfolio_links];
  if (!body.languages.length) return notice(t("pick_a_language"), "error");
  try {
    const res = await api("/hosts/apply", { method: "POST", body });
    const saved = JSON.parse(localStorage.getItem(APP_KEY) || "{}");
    saved[claims().sub] = res.id;
    localStorage.setItem(APP_KEY, JSON.stringify(saved));
    state.profile = await api(`/hosts/applications/${res.id}`, { query: { min_version: res.version } });
    renderProfile();
    window.scrollTo(0, 0);
    notice(t("application_sent"));
    loadProfile().catch(fail);
  } catch (err) { fail(err); }
}

function renderWho() {
  const c = claims();
  $("#who").textContent = c ? `${c.name || c.sub.slice(0, 8)} · ${[...roles()].filter((r) => r !== "viewer").map((r) => t(`role.${r}`)).join(", ") || t("role.viewer")}` : "";
  document.title = t("studio_title");
}

function rerender() {
  renderWho();
  renderProfile();
  live.rerender();
  if (!$("[data-panel=insights]").hidden) insights.load().catch(() => {});
}

async function main() {
  await startPage({ extraMessages: ["/static/studio/i18n"], rerender });
  renderWho();
  for (const b of document.querySelectorAll("[data-tab]")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("#apply-form").addEventListener("submit", apply);
  shows.init();
  live.init();
  insights.init();
  const start = (location.hash || "#profile").slice(1);
  showTab(["profile", "shows", "live", "insights"].includes(start) ? start : "profile");
  if (!claims()) {
    $("#profile-status").replaceChildren(el("p", {}, t("sign_in_first")),
                                         el("a", { class: "button primary", href: "/signin?next=/studio" }, t("sign_in")));
    return;
  }
  await loadProfile().catch(fail);
  if (!$("[data-panel=shows]").hidden) shows.load().catch(fail);  // my shows need the host's profile id
  live.resume();
}

main().catch(fail);
