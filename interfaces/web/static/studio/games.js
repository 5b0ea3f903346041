// Polls and quizzes from the live room (docs/api.md: live polls, quizzes). A poll: POST /streams/:id/polls, its
// results from the room's poll_results_update / poll_ended, closed early with POST /polls/:id/close. A quiz of one
// or more questions: POST /streams/:id/quizzes, then POST /quizzes/:id/next reveals each question (and, after the
// last, ends it); the room's quiz_question_result and quiz_ended show how the audience did.
import { $, api, el, fail, formData, notice, num, t } from "./kit.js";
import { room } from "./live.js";

let kind = "poll", poll = null, quiz = null;
const pct = (p) => `${num(Math.round(Number(p) || 0))}%`;

export function init() {
  for (const b of document.querySelectorAll("[data-game]")) {
    b.addEventListener("click", () => { kind = b.dataset.game; renderForm(); });
  }
  $("#game-form").addEventListener("submit", submit);
  renderForm();
}

export function reset() { poll = null; quiz = null; renderForm(); render(); }
export { renderForm as form };

function renderForm() {
  for (const b of document.querySelectorAll("[data-game]")) b.setAttribute("aria-pressed", String(b.dataset.game === kind));
  const live = room.status === "live";
  const option = (i) => el("label", { class: "grow" }, el("span", {}, t("option_n", { n: num(i + 1) })),
    el("input", { name: `option_${i}`, maxlength: "100", required: i < 2 }));
  $("#game-form").replaceChildren(...[
    el("label", {}, el("span", {}, t("question")), el("input", { name: "question", maxlength: "200", required: true })),
    el("label", {}, el("span", {}, t("question_bn")), el("input", { name: "question_bn", maxlength: "200" })),
    el("div", { class: "row wrap" }, [0, 1, 2, 3].map(option)),
    kind === "quiz"
      ? el("label", {}, el("span", {}, t("correct_option")), el("select", { name: "correct_option" },
        [0, 1, 2, 3].map((i) => el("option", { value: String(i) }, t("option_n", { n: num(i + 1) })))))
      : null,
    el("label", {}, el("span", {}, t("seconds")), el("input", { name: "seconds", type: "number", min: "5", step: "1",
      class: "narrow", value: kind === "quiz" ? "20" : "60", required: true })),
    el("button", { type: "submit", id: `start-${kind}`, disabled: !live }, t(`start_${kind}`)),
    live ? null : el("p", { class: "muted small" }, t("deals_need_live"))].filter(Boolean));
}

async function submit(ev) {
  ev.preventDefault();
  const f = formData(ev.target);
  const options = [0, 1, 2, 3].map((i) => (f[`option_${i}`] || "").trim()).filter(Boolean);
  try {
    if (kind === "poll") {
      poll = await api(`/streams/${room.id}/polls`, { method: "POST", body: {
        question: f.question, question_bn: f.question_bn || f.question, duration_seconds: Number(f.seconds),
        allow_change: false, options: options.map((text) => ({ text, text_bn: text })) } });
      notice(t("poll_started"));
    } else {
      const made = await api(`/streams/${room.id}/quizzes`, { method: "POST", body: { title: f.question, questions: [{
        question: f.question, question_bn: f.question_bn || f.question, options, correct_option: Number(f.correct_option),
        points: 100, seconds: Number(f.seconds) }] } });
      quiz = { ...made, ...(await api(`/quizzes/${made.quiz_id}/next`, { method: "POST" })), result: null };
      notice(t("quiz_started"));
    }
    ev.target.reset();
    render();
  } catch (err) { fail(err); }
}

/** Room events for the open show (poll_results_update, poll_ended, quiz_question_result, quiz_ended). */
export function event(name, e) {
  if (poll && e.poll_id === poll.poll_id) {
    const byId = new Map((e.options || []).map((o) => [o.option_id, o]));
    poll.options = poll.options.map((o) => ({ ...o, ...(byId.get(o.option_id) || {}) }));
    poll.total_votes = e.total_votes;
    if (name === "poll_ended") poll.status = "closed";
  } else if (quiz && e.quiz_id === quiz.quiz_id) {
    if (name === "quiz_question_result") quiz.result = e;
    if (name === "quiz_ended") { quiz.status = "ended"; quiz.top = e.top; }
  } else return;
  render();
}

async function closePoll() {
  try { poll = { ...poll, ...(await api(`/polls/${poll.poll_id}/close`, { method: "POST" })) }; render(); } catch (err) { fail(err); }
}

async function nextQuestion() {
  try { quiz = { ...quiz, ...(await api(`/quizzes/${quiz.quiz_id}/next`, { method: "POST" })), result: null }; render(); } catch (err) { fail(err); }
}

export function render() {
  const box = $("#game-state");
  const parts = [];
  if (poll) {
    parts.push(el("div", { class: "game-poll", dataset: { pollId: poll.poll_id, status: poll.status } },
      el("strong", {}, poll.question), " ", el("span", { class: `badge ${poll.status === "open" ? "live" : "ended"}` },
        t(poll.status === "open" ? "poll_open" : "poll_closed")),
      el("ul", { class: "list" }, poll.options.map((o) => el("li", { dataset: { option: o.option_id } },
        el("span", { class: "grow" }, o.text), " ", el("b", { class: "poll-percent" }, pct(o.percent)),
        el("span", { class: "muted" }, ` (${num(o.votes || 0)})`)))),
      poll.status === "open" ? el("button", { type: "button", class: "ghost", id: "close-poll", onclick: closePoll }, t("close_poll")) : null));
  }
  if (quiz) {
    const q = quiz.question;
    parts.push(el("div", { class: "game-quiz", dataset: { quizId: quiz.quiz_id, status: quiz.status } },
      el("strong", {}, quiz.status === "ended" ? t("quiz_over") : q ? q.question : ""),
      quiz.result ? el("p", { class: "muted", id: "quiz-result" }, t("quiz_result", { n: num(quiz.result.correct_answers), of: num(quiz.result.answers) })) : null,
      quiz.top ? el("ol", {}, quiz.top.map((e) => el("li", {}, `${e.display_name || "—"} · ${num(e.score)}`))) : null,
      quiz.status !== "ended" ? el("button", { type: "button", class: "ghost", id: "quiz-next", onclick: nextQuestion }, t("quiz_next")) : null));
  }
  box.replaceChildren(...parts);
}
