// Refunds: look an order up, refund part or all of it (Idempotency-Key: one per intended refund, so a retry
// after a lost answer is the same refund), and settle refunds left in manual review from the provider's portal.
import { $, api, el, fail, notice, t, taka, uuid, when } from "../studio/kit.js";

let key = null;

function render(o) {
  const box = $("#order");
  box.hidden = false;
  const left = Math.max(0, Math.round((o.total - o.refunded) * 100) / 100);
  const amount = el("input", { name: "amount", type: "number", min: "0.01", step: "0.01", max: left, class: "narrow", placeholder: taka(left) });
  const reason = el("textarea", { name: "reason", required: true, rows: 2, maxlength: 1000 });
  const form = el("form", { class: "form", id: "refund-form" },
    el("h3", {}, t("refund")),
    el("label", {}, el("span", {}, t("amount_optional", { left: taka(left) })), amount),
    el("label", {}, el("span", {}, t("reason")), reason),
    el("button", { type: "submit", class: "danger", disabled: left <= 0 }, t("refund")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { reason: reason.value.trim() };
    if (amount.value) body.amount = Number(amount.value);
    try {
      const r = await api(`/orders/${o.order_id}/refunds`, { method: "POST", body, idempotencyKey: key });
      key = uuid();
      notice(t("refund_recorded", { amount: taka(r.amount), status: t(`refund_${r.status}`) }));
      await lookUp(o.order_id);
    } catch (err) { fail(err); }
  });
  const resolve = (r, outcome) => async () => {
    try {
      await api(`/orders/${o.order_id}/refunds/${r.refund_id}/resolve`, { method: "POST", body: { outcome } });
      await lookUp(o.order_id);
    } catch (err) { fail(err); }
  };
  box.replaceChildren(
    el("dl", { class: "facts" },
      el("dt", {}, t("order_id")), el("dd", { class: "mono" }, o.order_id),
      el("dt", {}, t("status")), el("dd", {}, `${o.status} · ${o.payment_status} · ${o.payment_method || "—"}`),
      el("dt", {}, t("total")), el("dd", { id: "order-total" }, taka(o.total)),
      el("dt", {}, t("refunded")), el("dd", { id: "order-refunded" }, taka(o.refunded)),
      el("dt", {}, t("placed")), el("dd", {}, when(o.created_at))),
    el("h3", {}, t("refunds_heading")),
    el("ul", { class: "list", id: "refund-list" }, o.refunds.length ? o.refunds.map((r) => el("li", { dataset: { refund: r.refund_id, status: r.status } },
      el("div", { class: "grow" }, `${taka(r.amount)} · ${r.reason}`, el("div", { class: "muted" }, `${when(r.requested_at)}${r.failure ? " · " + r.failure : ""}`)),
      el("span", { class: `badge ${r.status}` }, t(`refund_${r.status}`)),
      r.status === "manual_review" ? el("span", { class: "row" },
        el("button", { type: "button", class: "ghost", onclick: resolve(r, "completed") }, t("mark_completed")),
        el("button", { type: "button", class: "ghost danger", onclick: resolve(r, "failed") }, t("mark_failed"))) : null)) :
      [el("li", { class: "muted" }, t("no_refunds"))]),
    form);
}

async function lookUp(id) {
  render(await api(`/orders/${id}`));
}

export function init() {
  $("#order-form").addEventListener("submit", (e) => {
    e.preventDefault();
    key = uuid();
    lookUp(e.target.order_id.value.trim()).catch(fail);
  });
}
