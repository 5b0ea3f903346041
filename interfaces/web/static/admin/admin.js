// The admin console (GET /admin): host applications, suspensions and commission; featured shows; refunds;
// every live show with its health. Only routes of docs/api.md, with an admin's bearer token.
import { startPage } from "/static/common/page.js";
import { $, api, claims, el, fail, lang, notice, num, roles, t, when } from "../studio/kit.js";
import * as shows from "./shows.js";
import * as refunds from "./refunds.js";

const PAGE = 10;
let status = "pending", page = 1, pollTimer = null;

function showTab(name) {
  for (const b of document.querySelectorAll("[data-tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
  for (const p of document.querySelectorAll("[data-panel]")) p.hidden = p.dataset.panel !== name;
  location.hash = name;
  shows.active(name);
  if (name === "hosts") loadHosts().catch(fail);
}

function facts(h) {
  const rows = [
    [t("experience_level"), t(`exp_${h.experience_level}`)],
    [t("languages"), (h.languages || []).join(", ")],
    [t("specializations"), (h.specializations || []).join(", ") || "—"],
    [t("applied_at"), when(h.created_at)],
    [t("commission"), `${num(h.commission_rate, 2)}%`],
    [t("followers"), num(h.followers_count)],
  ];
  if (h.rejection_reason) rows.push([t("rejection_reason"), h.rejection_reason]);
  if (h.suspension_reason && h.is_active === false) rows.push([t("suspension_reason"), h.suspension_reason]);
  return el("dl", { class: "facts" }, rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

/** A small inline form asking for a reason (reject, suspend) instead of a browser dialog. */
function reasonForm(h, action, label) {
  const form = el("form", { class: "form reason", dataset: { action } },
    el("label", {}, el("span", {}, t("reason")), el("textarea", { name: "reason", required: true, rows: 2, maxlength: 1000 })),
    el("div", { class: "row" }, el("button", { type: "submit", class: "danger" }, label),
       el("button", { type: "button", class: "ghost", onclick: () => form.remove() }, t("cancel"))));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(h, action, { reason: form.reason.value.trim() });
  });
  return form;
}

async function act(h, action, body) {
  const path = action === "commission" ? `/hosts/${h.id}/commission` : `/hosts/${h.id}/${action}`;
  try {
    const r = await api(path, { method: action === "commission" ? "PUT" : "POST", body });
    await api(`/hosts/applications/${h.id}`, { query: { min_version: r.version } }).catch(() => null);
    notice(t(`done_${action}`, { name: h.host_name }));
    await loadHosts();
  } catch (err) { fail(err); }
}

/** ``node.append`` that flattens arrays and leaves out null/undefined/false (the DOM's own writes "null"). */
function append(node, ...children) {
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

function card(h) {
  const suspended = h.verification_status === "verified" && h.is_active === false;
  const st = suspended ? "suspended" : h.verification_status;
  const li = el("li", { class: "card host", dataset: { host: h.id, status: st } });
  const actions = el("div", { class: "row wrap actions" });
  const ask = (action, label) => () => { li.querySelector("form.reason")?.remove(); li.append(reasonForm(h, action, label)); li.querySelector("textarea").focus(); };
  if (h.verification_status === "pending") {
    actions.append(el("button", { type: "button", class: "verify", onclick: () => act(h, "verify") }, t("verify")),
                   el("button", { type: "button", class: "ghost danger reject", onclick: ask("reject", t("reject")) }, t("reject")));
  }
  if (h.verification_status === "verified") {
    actions.append(suspended ?
      el("button", { type: "button", class: "reinstate", onclick: () => act(h, "reinstate") }, t("reinstate")) :
      el("button", { type: "button", class: "ghost danger suspend", onclick: ask("suspend", t("suspend")) }, t("suspend")));
    const rate = el("input", { type: "number", min: "0", max: "100", step: "0.01", value: h.commission_rate, class: "narrow",
                               "aria-label": t("commission_for", { name: h.host_name }) });
    actions.append(el("form", { class: "row commission", onsubmit: (e) => { e.preventDefault(); act(h, "commission", { commission_rate: Number(rate.value) }); } },
      el("label", {}, el("span", {}, t("commission_pct")), rate), el("button", { type: "submit", class: "ghost" }, t("save"))));
  }
  append(li, el("div", { class: "row" }, el("h3", { class: "grow" }, h.host_name),
                el("span", { class: `badge ${st}` }, t(`status_${st}`))),
            (lang() === "bn" && h.bio_bn) || h.bio ? el("p", {}, (lang() === "bn" && h.bio_bn) || h.bio) : null,
            facts(h),
            (h.portfolio_links || []).length ? el("p", {}, h.portfolio_links.map((u) => el("a", { href: u, rel: "noopener noreferrer", target: "_blank" }, u))) : null,
            actions);
  return li;
}

export async function loadHosts() {
  const r = await api("/hosts/applications", { query: { status, page, limit: PAGE } });
  $("#hosts-count").textContent = t("n_applications", { n: num(r.total_count) });
  $("#hosts").replaceChildren(...(r.applications.length ? r.applications.map(card) : [el("li", { class: "muted" }, t("none_here"))]));
  $("#hosts-prev").disabled = page <= 1;
  $("#hosts-next").disabled = page * PAGE >= r.total_count;
  clearTimeout(pollTimer);
  pollTimer = setTimeout(() => { if (!$("[data-panel=hosts]").hidden && !document.querySelector("#hosts form.reason")) loadHosts().catch(() => {}); }, 10_000);
}

function renderWho() {
  const c = claims();
  $("#who").textContent = c ? `${c.name || c.sub.slice(0, 8)} · ${[...roles()].filter((r) => r !== "viewer").map((r) => t(`role.${r}`)).join(", ") || t("role.viewer")}` : "";
  document.title = t("admin_title");
}

async function main() {
  await startPage({ extraMessages: ["/static/studio/i18n", "/static/admin/i18n"],
                    rerender: () => { renderWho(); if (roles().has("admin")) showTab(location.hash.slice(1) || "hosts"); } });
  renderWho();
  for (const b of document.querySelectorAll("[data-tab]")) b.addEventListener("click", () => showTab(b.dataset.tab));
  for (const b of document.querySelectorAll("[data-status]")) b.addEventListener("click", () => {
    status = b.dataset.status; page = 1;
    for (const x of document.querySelectorAll("[data-status]")) x.setAttribute("aria-pressed", String(x === b));
    loadHosts().catch(fail);
  });
  $("#hosts-prev").addEventListener("click", () => { page = Math.max(1, page - 1); loadHosts().catch(fail); });
  $("#hosts-next").addEventListener("click", () => { page += 1; loadHosts().catch(fail); });
  shows.init();
  refunds.init();
  if (!roles().has("admin")) {
    const gate = $("#gate");
    gate.hidden = false;
    gate.replaceChildren(el("span", {}, claims() ? t("admins_only") : t("sign_in_first")), " ",
                         el("a", { class: "button primary", href: "/signin?next=/admin" }, t("sign_in")));
    for (const p of document.querySelectorAll("[data-panel]")) p.hidden = true;
    return;
  }
  const start = location.hash.slice(1);
  showTab(["hosts", "shows", "featured", "refunds"].includes(start) ? start : "hosts");
}

main().catch(fail);
