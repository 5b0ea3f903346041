// GET /watch/:stream_id — one show: video, chat, reactions, viewer count, the featured product, flash sales,
// auctions, group buys, checkout and the order's status; a replay of the recording once the show ended.
// Everything from docs/api.md and the /live-stream namespace; Socket.IO reconnects and resumes without a reload.
import { startPage } from '/static/common/core.js';
import { api } from '/static/common/core.js';
import { t, lang, num, taka, errorText } from '/static/common/core.js';
import { h, fill, toast } from '/static/common/core.js';
import { getToken, signInUrl, embedded } from '/static/common/core.js';
import { Chat, toApiError } from '/static/viewer/chat.js';
import { Catalogue, Featured, Cart, FlashSales } from '/static/viewer/commerce.js';

// What the page needs right after it is usable (the socket, checkout, auctions and group buys, polls, quizzes,
// gifts) is imported once the page's own requests are on their way: on HTTP/1.1 a browser opens six
// connections to a server, and every file on the critical path waits for one (ADR 0026, performance).
const later = () => Promise.all(['/static/common/socket.js', '/static/viewer/checkout.js', '/static/viewer/deals.js',
  '/static/viewer/games.js', '/static/viewer/gifts.js'].map((m) => import(m)));

const $ = (id) => document.getElementById(id);
const streamId = location.pathname.split('/')[2];
const params = new URLSearchParams(location.search);
const REACTIONS = [['heart', '❤️'], ['like', '👍'], ['fire', '🔥'], ['clap', '👏'], ['wow', '😮'], ['haha', '😂']];

const ctx = {
  streamId,
  stream: null,
  products: new Map(),
  catalogue: null, // below: with the catalogue's answers the page's HTML carried
  live: null,
  requireSignIn() {
    if (getToken()) return true;
    location.assign(signInUrl());
    return false;
  },
};

function showHead() {
  const s = ctx.stream;
  if (!s) return;
  const title = (lang === 'bn' && s.title_bn) || s.title;
  $('show-title').textContent = title;
  document.title = title + ' · ' + t('app.name');
  $('host-name').textContent = (s.host && s.host.name) || '';
  $('follow').hidden = !(s.host && s.host.profile_id);
  $('live-badge').hidden = s.status !== 'live';
}

function viewers(n) {
  ctx.viewers = n;
  $('viewer-count-n').textContent = num(n);
  $('viewer-count').setAttribute('aria-label', t('show.viewers_label', { n }));
}

function videoState(state) {
  const box = $('video-state');
  box.hidden = state === 'playing';
  const key = { waiting: ctx.stream && ctx.stream.status === 'scheduled' ? 'watch.not_started' : 'watch.waiting',
    buffering: 'watch.buffering', tap_to_play: 'watch.tap_to_play', unsupported: 'watch.unsupported',
    ended: 'watch.ended' }[state];
  if (key) box.textContent = t(key);
  document.body.dataset.video = state;
}

function burst(counts) {
  const box = $('bursts');
  for (const [type, n] of Object.entries(counts || {})) {
    const emoji = (REACTIONS.find(([k]) => k === type) || [null, '❤️'])[1];
    const el = h('span', { class: 'burst' }, emoji + (n > 1 ? ' ' + num(n) : ''));
    box.append(el);
    setTimeout(() => el.remove(), 2000);
  }
}

async function follow(button) {
  if (!ctx.requireSignIn()) return;
  button.disabled = true;
  try {
    await api(`/hosts/${ctx.stream.host.profile_id}/follow`, { method: 'POST' });
    button.textContent = t('watch.following');
  } catch (err) {
    button.disabled = false;
    toast(errorText(err), 'error');
  }
}

// The show and its deals as GET /streams/:id and GET /streams/:id/deals answered when the server made this page
// (it puts them in the HTML: on a 3G round trip of half a second that is one wait less). Missing, for another
// show, or older than a minute (a page kept open or restored, or a clock far off): asked at once, in parallel.
const initial = (() => {
  const data = embedded('lc-initial');
  if (!data || data.stream_id !== streamId) return {};
  const age = Date.now() - Date.parse(data.generated_at);
  return Number.isFinite(age) && Math.abs(age) < 60_000 ? data : {};
})();
ctx.catalogue = new Catalogue(initial.products);
const streamAsked = initial.stream ? Promise.resolve(initial.stream) : api(`/streams/${streamId}`);
const dealsAsked = initial.deals ? Promise.resolve(initial.deals) : api(`/streams/${streamId}/deals`).catch(() => null);
streamAsked.catch(() => {});

async function load(featured) {
  ctx.stream = await streamAsked;
  for (const p of ctx.stream.featured_products || []) ctx.products.set(p.product_id, p);
  // Names and pictures fill in when they come; their room is reserved, so nothing moves.
  ctx.catalogue.load([...ctx.products.keys()].slice(0, 30)).then(() => featured.render());
  showHead();
  viewers(ctx.stream.current_viewers || 0);
}

function wire(featured, flash, auctions, groups, chat, games) {
  const on = (event, fn) => ctx.live.on(event, (body) => {
    if (!body || (body.stream_id && body.stream_id !== streamId)) return;
    fn(body);
  });
  on('stream_state', (screen) => {
    chat.state(screen);
    games.polls.state(screen.polls);
    if (screen.viewer_count != null) viewers(screen.viewer_count);
    if (screen.featured_product) featured.set(screen.featured_product);
    if (screen.status && ctx.stream) {
      ctx.stream.status = screen.status;
      showHead();
    }
  });
  on('viewer_count_update', (b) => viewers(b.count));
  on('new_message', (m) => chat.add(m));
  on('new_messages', (b) => b.messages.forEach((m) => chat.add(m)));
  on('message_deleted', (b) => chat.remove(b.message_id));
  on('message_pinned', (b) => chat.pin(b.message));
  on('moderation', (b) => chat.notice(b));
  on('reaction_burst', (b) => burst(b.counts));
  on('product_featured', (b) => featured.set(b.product));
  on('flash_sale_started', (b) => flash.started(b));
  on('flash_sale_ended', (b) => flash.ended(b));
  on('stock_update', (b) => (b.sale_id ? flash.stock(b) : featured.stock(b)));
  for (const e of ['new_bid', 'auction_extended', 'auction_closed']) on(e, (b) => auctions.update(b));
  on('poll_started', (b) => games.polls.started(b));
  on('poll_results_update', (b) => games.polls.results(b));
  on('poll_ended', (b) => games.polls.ended(b));
  on('quiz_question', (b) => games.quiz.question(b));
  on('quiz_question_result', (b) => games.quiz.closed(b));
  on('quiz_ended', (b) => games.quiz.ended(b));
  on('gift_received', (b) => games.gifts.received(b));
  on('leaderboard_update', (b) => games.board.update(b));
  on('stream_status', (b) => {
    ctx.stream.status = b.status;
    showHead();
    if (b.status !== 'live') videoState('ended');
  });
  ctx.live.on('error', (err) => {
    if (err && err.event === 'send_message') chat.showError(toApiError(err));
  });
}

async function main() {
  const games = {};
  let auctions = null;
  let groups = null;
  const started = startPage({ rerender: () => { showHead(); featured.render(); flash.render(); auctions?.render(); groups?.render();
    for (const g of Object.values(games)) if (g.entries !== null) g.render(); } });
  const modules = later();
  await started;
  const featured = new Featured($('featured'), ctx);
  const flash = new FlashSales($('flash-sales'), ctx);
  ctx.cart = new Cart($('cart-button'), ctx);
  // Bound at once; they reach the socket and the checkout sheet when those modules are in (a moment later).
  let socketReady;
  const socketIn = new Promise((resolve) => { socketReady = resolve; });
  ctx.live = { call: async (event, body) => (await socketIn).call(event, body) };
  let checkoutReady;
  const checkoutIn = new Promise((resolve) => { checkoutReady = resolve; });
  ctx.checkout = { open: async (...args) => (await checkoutIn).open(...args) };
  featured.render();
  fill($('reactions'), REACTIONS.map(([type, emoji]) => h('button', { type: 'button', class: 'react', dataset: { reaction: type },
    'aria-label': t(`reaction.${type}`), onclick: () => react(type) }, emoji)));
  $('follow').addEventListener('click', (e) => follow(e.currentTarget));
  $('unmute').addEventListener('click', (e) => {
    const v = $('video');
    v.muted = false;
    v.play().catch(() => {});
    e.currentTarget.hidden = true;
  });
  try {
    await load(featured);
  } catch (err) {
    videoState('unsupported');
    $('video-state').textContent = errorText(err);
    document.body.dataset.ready = 'error';
    return;
  }
  const ended = ['ended', 'cancelled'].includes(ctx.stream.status);
  if (ended) {
    document.body.dataset.ended = 'true'; // no chat nor reactions after the show: the replay takes the page
    const [{ Replay }, { play }] = await Promise.all([import('/static/viewer/replay.js'), import('/static/viewer/player.js')]);
    const replay = new Replay($('replay'), $('video'), ctx, featured);
    games.replay = replay;
    const url = await replay.load().catch(() => null);
    if (url) play($('video'), url, { onState: videoState, live: false });
    else videoState('ended');
    const { Checkout, OrderStatus } = (await modules)[1];
    const order = new OrderStatus($('order'));
    checkoutReady(new Checkout({ streamId, onOrder: (o) => { order.show(o); ctx.cart.load(); } }));
    document.body.dataset.ready = 'true';
    return;
  }
  const chat = new Chat($('chat'), { streamId, live: ctx.live, canWrite: !!getToken(),
    onSignIn: () => !getToken() && ctx.requireSignIn() });
  const featuredId = ctx.stream.featured_product_id;
  if (featuredId && ctx.products.has(featuredId)) featured.set(ctx.products.get(featuredId));
  await flash.load(dealsAsked).catch(() => {});
  if (getToken()) ctx.cart.load();
  document.body.dataset.ready = 'true';
  performance.mark('lc-interactive');

  const [{ live: connect }, { Checkout, OrderStatus }, { Auctions, GroupBuys }, { Polls, Quiz, Leaderboard }, { Gifts }] =
    await modules;
  const order = new OrderStatus($('order'));
  checkoutReady(new Checkout({ streamId, onOrder: (o) => { order.show(o); ctx.cart.load(); } }));
  auctions = new Auctions($('auctions'), ctx);
  groups = new GroupBuys($('group-buys'), ctx);
  const socket = connect({
    streamId,
    onStatus: (s) => {
      $('conn-state').textContent = s === 'connected' ? '' : t('watch.reconnecting');
      document.body.dataset.socket = s;
    },
    onResync: () => { flash.load().catch(() => {}); groups.refresh(); },
  });
  ctx.live = socket;
  socketReady(socket);
  games.polls = new Polls($('polls'), ctx);
  games.quiz = new Quiz($('quiz'), ctx);
  games.gifts = new Gifts($('gifts'), $('gift-feed'), ctx);
  games.board = new Leaderboard($('leaderboard'), ctx);
  wire(featured, flash, auctions, groups, chat, games);
  games.gifts.load();
  games.board.load();
  if (params.get('auction')) auctions.add(params.get('auction'));
  if (params.get('group_buy')) groups.add(params.get('group_buy'));
  performance.mark('lc-complete');
  // The player's module (and hls.js after it) load once the page is usable.
  const url = ctx.stream.stream_url || `/hls/${streamId}/master.m3u8`;
  const { play } = await import('/static/viewer/player.js');
  play($('video'), url, { onState: videoState });
  setInterval(() => groups.refresh(), 5000);
}

// Layout shifts not caused by the user (what CLS counts), summed for the tests and the bench.
window.__cls = 0;
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
  }).observe({ type: 'layout-shift', buffered: true });
} catch {
  /* not in this browser */
}

function react(type) {
  if (!ctx.requireSignIn()) return;
  ctx.live.call('react', { stream_id: streamId, reaction_type: type }).then((ack) => {
    if (ack && !ack.ok) toast(errorText(toApiError(ack.error)), 'error');
  });
  burst({ [type]: 1 });
}

main();
