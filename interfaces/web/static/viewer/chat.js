// Live chat: the room's messages (one by one, or in batches), pins, deletions, moderation notices; sending
// with the refusals shown as the server words them (muted, slow mode, a banned word, a link…).
import { h, fill } from '/static/common/core.js';
import { t, lang, errorText, clock } from '/static/common/core.js';

const MAX_SHOWN = 200;

export class Chat {
  constructor(root, { streamId, live, canWrite, onSignIn }) {
    this.streamId = streamId;
    this.live = live;
    this.seen = new Set();
    this.list = h('ol', { class: 'chat-list', id: 'chat-list', 'aria-live': 'polite', 'aria-relevant': 'additions' });
    this.pinned = h('div', { class: 'chat-pinned', id: 'chat-pinned', hidden: true });
    this.error = h('p', { class: 'chat-error error', id: 'chat-error', role: 'alert' });
    this.input = h('input', { id: 'chat-input', name: 'message', maxlength: 500, autocomplete: 'off',
      'aria-label': t('chat.input_label'), placeholder: t(canWrite ? 'chat.placeholder' : 'chat.sign_in_to_chat'),
      disabled: !canWrite });
    this.send = h('button', { type: 'submit', class: 'primary', id: 'chat-send', disabled: !canWrite }, t('chat.send'));
    const form = h('form', { class: 'chat-form', onsubmit: (e) => this.submit(e) }, this.input, this.send);
    if (!canWrite) form.addEventListener('click', onSignIn);
    fill(root, h('h2', { class: 'visually-hidden' }, t('chat.title')), this.pinned, this.list, this.error, form);
  }

  /** The first screen after a (re)join: recent messages and the pin. */
  state(screen) {
    for (const m of screen.recent_messages || []) this.add(m);
    this.pin(screen.pinned_message);
    this.slowMode = screen.slow_mode || 0;
  }

  add(m) {
    if (!m || !m.id || this.seen.has(m.id)) return;
    this.seen.add(m.id);
    const stick = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    const text = m.system && lang === 'bn' && m.message_bn ? m.message_bn : m.message;
    const li = h('li', { class: 'chat-msg' + (m.system ? ' system' : '') + (m.from_moderator ? ' staff' : ''),
      dataset: { id: m.id } },
      m.system ? null : h('b', { class: 'who' }, m.username || '…'), ' ', h('span', { class: 'text' }, text));
    this.list.append(li);
    while (this.list.children.length > MAX_SHOWN) this.list.firstElementChild.remove();
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }

  remove(messageId) {
    const li = this.list.querySelector(`[data-id="${CSS.escape(messageId)}"]`);
    if (li) li.remove();
  }

  pin(message) {
    this.pinned.hidden = !message;
    if (message) fill(this.pinned, h('span', { class: 'pin-label' }, '📌 '), h('b', {}, message.username || ''), ' ',
      message.message);
  }

  notice(body) {
    if (body && body.action === 'slow_mode') this.slowMode = body.seconds || 0;
  }

  showError(err) {
    this.error.textContent = errorText(err);
    if (err && err.code === 'slow_mode' && err.details && err.details.retry_after) {
      this.error.textContent += ' (' + clock(err.details.retry_after) + ')';
    }
  }

  async submit(e) {
    e.preventDefault();
    const message = this.input.value.trim();
    if (!message) return;
    this.send.disabled = true;
    const ack = await this.live.call('send_message', { stream_id: this.streamId, message });
    this.send.disabled = false;
    if (ack && ack.ok) {
      this.input.value = '';
      this.error.textContent = '';
    } else {
      this.showError(toApiError(ack && ack.error));
    }
    this.input.focus();
  }
}

/** A Socket.IO refusal {code, message, message_bn, details} in the ApiError shape errorText reads. */
export function toApiError(e) {
  e = e || {};
  return { code: e.code, message: e.message || e.code, messageBn: e.message_bn, details: e.details || {} };
}
