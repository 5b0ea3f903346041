// Polls, quizzes and the leaderboard on the watch page (docs/api.md: live polls, quizzes, leaderboards).
// Polls: opened by the host (room `poll_started`, or `stream_state.polls` on joining), voted with the socket's
// `poll_vote` ack, percentages from `poll_results_update`, closed by `poll_ended`. Quizzes: `quiz_question`,
// answered with `quiz_answer`, the right answer from `quiz_question_result`, the winners from `quiz_ended`.
// Leaderboard: GET /streams/:id/leaderboard?board=…, then `leaderboard_update`; a server without that route
// (404) hides the panel.
import { api } from '/static/common/core.js';
import { h, fill, toast } from '/static/common/core.js';
import { t, lang, num, clock, errorText } from '/static/common/core.js';
import { toApiError } from '/static/viewer/chat.js';

const text = (o, key = 'text') => (lang === 'bn' && o[key + '_bn']) || o[key];
const pct = (p) => num(Math.round(Number(p) || 0)) + '%';
const ticking = (root) => setInterval(() => {
  for (const el of root.querySelectorAll('[data-ends]')) el.textContent = clock((Date.parse(el.dataset.ends) - Date.now()) / 1000);
}, 1000);

export class Polls {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.polls = new Map();
    this.mine = {};
    ticking(root);
  }

  started(p) {
    const before = this.polls.get(p.poll_id) || {};
    this.polls.set(p.poll_id, { ...before, ...p, status: p.status || 'open' });
    this.render();
  }

  state(list) {
    for (const p of list || []) this.started(p);
  }

  results(b) {
    const p = this.polls.get(b.poll_id);
    if (!p) return;
    const counts = new Map((b.options || []).map((o) => [o.option_id, o]));
    p.options = p.options.map((o) => ({ ...o, ...(counts.get(o.option_id) || {}) }));
    p.total_votes = b.total_votes;
    if (b.status) p.status = b.status;
    this.render();
  }

  ended(b) {
    this.results({ ...b, status: 'closed' });
  }

  async vote(p, option) {
    if (!this.ctx.requireSignIn()) return;
    const ack = await this.ctx.live.call('poll_vote', { poll_id: p.poll_id, option_id: option.option_id });
    if (ack && ack.ok) {
      this.mine[p.poll_id] = option.option_id;
      if (ack.options) this.results({ poll_id: p.poll_id, options: ack.options, total_votes: ack.total_votes });
      else this.render();
    } else {
      toast(errorText(toApiError(ack && ack.error)), 'error');
    }
  }

  render() {
    const list = [...this.polls.values()].slice(-2);
    this.root.hidden = !list.length;
    // Patched in place when the poll is already shown: a vote or a new count never replaces the buttons under
    // the viewer's finger (or keyboard focus).
    const cards = list.map((p) => {
      const card = this.root.querySelector(`[data-poll-id="${p.poll_id}"]`);
      return card ? this.patch(card, p) : this.card(p);
    });
    for (const el of [...this.root.children]) if (!cards.includes(el)) el.remove();
    for (const card of cards) if (card.parentNode !== this.root) this.root.append(card);
  }

  card(p) {
    return this.patch(h('article', { class: 'game poll', dataset: { pollId: p.poll_id } },
      h('p', { class: 'flash-head' }, '📊 ', t('poll.title'), ' ', h('span', { class: 'poll-clock' })),
      h('h3', { class: 'flash-name poll-question' }, text(p, 'question')),
      h('ul', { class: 'options' }, p.options.map((o) => h('li', {},
        h('button', { type: 'button', class: 'option', dataset: { option: o.option_id }, onclick: () => this.vote(p, o) },
          h('span', { class: 'bar' }), h('span', { class: 'label' }, text(o)), h('span', { class: 'percent' }))))),
      h('p', { class: 'muted poll-total' })), p);
  }

  patch(card, p) {
    const open = p.status === 'open';
    const voted = this.mine[p.poll_id];
    const showCounts = !open || !!voted || p.total_votes > 0;
    card.dataset.status = p.status;
    const head = card.querySelector('.poll-clock');
    if (open && p.closes_at) {
      head.className = 'poll-clock countdown';
      head.dataset.ends = p.closes_at;
      head.textContent = clock((Date.parse(p.closes_at) - Date.now()) / 1000);
    } else {
      head.className = 'poll-clock';
      delete head.dataset.ends;
      head.textContent = open ? '' : t('poll.closed');
    }
    card.querySelector('.poll-question').textContent = text(p, 'question');
    for (const o of p.options) {
      const b = card.querySelector(`button[data-option="${o.option_id}"]`);
      if (!b) continue;
      b.disabled = !open || (!!voted && !p.allow_change);
      b.classList.toggle('chosen', voted === o.option_id);
      b.setAttribute('aria-pressed', voted === o.option_id ? 'true' : 'false');
      b.querySelector('.bar').style.width = `${showCounts ? Math.round(o.percent || 0) : 0}%`;
      b.querySelector('.label').textContent = text(o);
      b.querySelector('.percent').textContent = showCounts ? pct(o.percent) : '';
    }
    card.querySelector('.poll-total').textContent = t('poll.votes', { n: p.total_votes || 0 });
    return card;
  }
}

export class Quiz {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.q = null;
    this.answered = null;
    this.result = null;
    this.top = null;
    ticking(root);
  }

  question(q) {
    this.q = q;
    this.answered = null;
    this.result = null;
    this.top = null;
    this.render();
  }

  closed(r) {
    if (this.q && r.question_id === this.q.question_id) this.result = r;
    this.render();
  }

  ended(b) {
    this.top = b;
    this.render();
  }

  async answer(option) {
    if (!this.ctx.requireSignIn() || this.answered !== null) return;
    const q = this.q;
    const ack = await this.ctx.live.call('quiz_answer', { quiz_id: q.quiz_id, question_id: q.question_id, option_id: option.option_id });
    if (ack && ack.ok) {
      this.answered = option.option_id;
      this.render();
    } else {
      toast(errorText(toApiError(ack && ack.error)), 'error');
    }
  }

  render() {
    const q = this.q;
    this.root.hidden = !q && !this.top;
    if (this.top && (!q || this.result)) {
      fill(this.root, h('article', { class: 'game quiz', dataset: { quizId: this.top.quiz_id, status: 'ended' } },
        h('p', { class: 'flash-head' }, '🏆 ', t('quiz.ended')),
        h('ol', { class: 'board' }, (this.top.top || []).map((e) =>
          h('li', {}, h('span', { class: 'rank' }, num(e.rank)), h('span', { class: 'who' }, e.display_name || '—'),
            h('b', {}, num(e.score))))),
        h('p', { class: 'muted' }, t('quiz.players', { n: this.top.participants || 0 }))));
      return;
    }
    if (!q) return;
    const r = this.result;
    const status = r ? (this.answered === r.correct_option ? 'right' : this.answered === null ? 'missed' : 'wrong') : null;
    fill(this.root, h('article', { class: 'game quiz', dataset: { quizId: q.quiz_id, questionId: q.question_id, status: status || 'open' } },
      h('p', { class: 'flash-head' }, '❓ ', t('quiz.title', { n: (q.index || 0) + 1 }), ' ',
        r ? h('span', {}, '') : h('span', { class: 'countdown', dataset: { ends: q.closes_at } }, clock((Date.parse(q.closes_at) - Date.now()) / 1000))),
      h('h3', { class: 'flash-name quiz-question' }, text(q, 'question')),
      h('ul', { class: 'options' }, q.options.map((o) => h('li', {},
        h('button', { type: 'button', dataset: { option: o.option_id }, disabled: !!r || this.answered !== null,
          class: 'option' + (this.answered === o.option_id ? ' chosen' : '') + (r && r.correct_option === o.option_id ? ' correct' : ''),
          onclick: () => this.answer(o) }, h('span', { class: 'label' }, text(o)),
          h('span', { class: 'percent' }, r ? num(((r.counts || []).find((c) => c.option_id === o.option_id) || {}).answers || 0) : ''))))),
      h('p', { class: 'quiz-status', role: 'status' },
        status ? t('quiz.' + status) : this.answered !== null ? t('quiz.answered') : t('quiz.points', { n: q.points }))));
  }
}

export class Leaderboard {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.board = 'gifts';
    this.entries = null;
  }

  async load(board = this.board) {
    this.board = board;
    try {
      const res = await api(`/streams/${this.ctx.streamId}/leaderboard`, { query: { board, limit: 10 } });
      this.entries = res.entries || [];
    } catch (err) {
      if (err.status === 404 || err.status === 0) {
        this.entries = null; // no leaderboards on this server (or this show): no panel
        this.root.hidden = true;
        return;
      }
      this.entries = [];
    }
    this.render();
  }

  update(b) {
    if (b.board !== this.board) return;
    this.entries = b.entries || [];
    this.render();
  }

  render() {
    if (this.entries === null) return;
    this.root.hidden = false;
    fill(this.root, h('div', { class: 'board-tabs', role: 'tablist' }, ['gifts', 'quiz', 'buyers'].map((b) =>
      h('button', { type: 'button', role: 'tab', class: 'chip', 'aria-pressed': String(b === this.board),
        dataset: { board: b }, onclick: () => this.load(b) }, t('board.' + b)))),
    this.entries.length
      ? h('ol', { class: 'board' }, this.entries.map((e) => h('li', {},
        h('span', { class: 'rank' }, num(e.rank)), h('span', { class: 'who' }, e.name || '—'), h('b', {}, num(e.score)))))
      : h('p', { class: 'muted' }, t('board.empty')));
  }
}
