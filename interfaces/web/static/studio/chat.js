// The show's chat for its host: read, answer, and moderate (delete, pin, mute, ban, slow mode) over the
// /live-stream socket's `moderate` event. Refusals come back as the ack's error, in English and Bangla.
import { $, ackError, el, lang, notice, t, when } from "./kit.js";

const MAX = 200;
let conn = null, streamId = null, messages = [], pinned = null, restricted = new Map(), slow = 0;

function text(m) { return (lang() === "bn" && m.message_bn) || m.message; }

async function moderate(action, extra) {
  if (!conn) return;
  const ack = await conn.call("moderate", { stream_id: streamId, action, ...extra });
  if (!ack.ok) notice(ackError(ack), "error");
  else notice(t(`done_${action}`));
  return ack;
}

function item(m) {
  const staff = m.system || m.from_moderator;
  const tools = m.system ? [] : [
    el("button", { type: "button", class: "tool", "aria-label": t("pin"), title: t("pin"), onclick: () => moderate("pin", { message_id: m.id }) }, "📌"),
    el("button", { type: "button", class: "tool", "aria-label": t("delete"), title: t("delete"), onclick: () => moderate("delete", { message_id: m.id }) }, "🗑"),
    m.from_moderator ? null : el("button", { type: "button", class: "tool", "aria-label": t("mute_user", { name: m.username }), title: t("mute"),
                                             onclick: () => moderate("mute", { user_id: m.user_id, duration_s: 600 }) }, "🔇"),
    m.from_moderator ? null : el("button", { type: "button", class: "tool", "aria-label": t("ban_user", { name: m.username }), title: t("ban"),
                                             onclick: () => moderate("ban", { user_id: m.user_id }) }, "⛔"),
  ];
  return el("li", { class: `msg${m.system ? " system" : ""}${staff ? " staff" : ""}`, dataset: { id: m.id, user: m.user_id || "" } },
    el("span", { class: "who" }, m.username), " ", el("span", { class: "text" }, text(m)),
    el("span", { class: "tools" }, tools));
}

export function render() {
  const list = $("#chat");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...messages.map(item));
  if (atBottom) list.scrollTop = list.scrollHeight;
  const box = $("#pinned");
  box.hidden = !pinned;
  if (pinned) box.replaceChildren(el("span", {}, "📌 ", el("strong", {}, pinned.username), " ", text(pinned)),
    el("button", { type: "button", class: "ghost small", onclick: () => moderate("unpin", {}) }, t("unpin")));
  $("#slow-mode").value = String(slow);
  $("#restricted").replaceChildren(...[...restricted.values()].map((r) => el("li", { class: "restricted-user" },
    el("span", { class: "grow" }, `${r.name || r.user_id.slice(0, 8)} · ${t(r.action === "ban" ? "banned" : "muted")}` +
      (r.until ? ` ${t("until")} ${when(new Date(r.until * 1000).toISOString())}` : "")),
    el("button", { type: "button", class: "ghost small", onclick: () => moderate(r.action === "ban" ? "unban" : "unmute", { user_id: r.user_id }) },
      t(r.action === "ban" ? "unban" : "unmute")))));
}

function add(m) {
  if (m.stream_id !== streamId || messages.some((x) => x.id === m.id)) return;
  messages.push(m);
  if (messages.length > MAX) messages.shift();
  render();
}

export function first(s) {
  messages = [...(s.recent_messages || [])];
  pinned = s.pinned_message || null;
  slow = s.slow_mode || 0;
  render();
}

export function attach(live) {
  conn = live;
  const sock = live.socket;
  sock.on("new_message", add);
  sock.on("new_messages", (b) => { for (const m of b.messages || []) add(m); });
  sock.on("message_deleted", (e) => { if (e.stream_id === streamId) { messages = messages.filter((m) => m.id !== e.message_id); render(); } });
  sock.on("message_pinned", (e) => { if (e.stream_id === streamId) { pinned = e.message; render(); } });
  sock.on("moderation", (e) => {
    if (e.stream_id !== streamId) return;
    const name = (messages.find((m) => m.user_id === e.user_id) || {}).username;
    if (e.action === "mute" || e.action === "ban") restricted.set(`${e.action}:${e.user_id}`, { ...e, name });
    if (e.action === "unmute") restricted.delete(`mute:${e.user_id}`);
    if (e.action === "unban") restricted.delete(`ban:${e.user_id}`);
    if (e.action === "slow_mode") slow = e.seconds;
    render();
  });
}

export function reset(id) { streamId = id; messages = []; pinned = null; restricted = new Map(); slow = 0; render(); }

export function init() {
  $("#slow-mode").addEventListener("change", (e) => moderate("slow_mode", { seconds: Number(e.target.value) }));
  $("#chat-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = e.target.message;
    const message = input.value.trim();
    if (!message || !conn) return;
    const ack = await conn.call("send_message", { stream_id: streamId, message, message_type: "text" });
    if (ack.ok) input.value = "";
    else notice(ackError(ack), "error");
  });
}
