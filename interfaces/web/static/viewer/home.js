// GET /: live shows, trending, coming up (with reminders: following the host), replays; category filter.
import { startPage } from '/static/common/core.js';
import { api } from '/static/common/core.js';
import { t, errorText } from '/static/common/core.js';
import { h, fill, toast } from '/static/common/core.js';
import { getToken, signInUrl } from '/static/common/core.js';
import { showCard } from '/static/viewer/cards.js';

const state = { category: null, live: null, upcoming: null, ended: null, categories: new Set() };

async function load() {
  const q = (status, limit) => api('/streams', { query: { status, limit, category: state.category } });
  const [live, upcoming, ended] = await Promise.all([q('live', 24), q('scheduled', 24), q('ended', 6)]);
  Object.assign(state, { live, upcoming, ended });
  for (const s of [...live.streams, ...upcoming.streams, ...ended.streams, ...live.trending_streams]) {
    if (s.category) state.categories.add(s.category);
  }
}

async function remind(show, button) {
  if (!getToken()) {
    location.assign(signInUrl());
    return;
  }
  button.disabled = true;
  try {
    await api(`/hosts/${show.host.profile_id}/follow`, { method: 'POST' });
    button.textContent = t('show.reminder_set');
    toast(t('show.reminder_set_long', { host: show.host.name || '' }));
  } catch (err) {
    button.disabled = false;
    toast(errorText(err), 'error');
  }
}

function list(el, shows, empty) {
  el.setAttribute('aria-busy', 'false');
  fill(el, shows.length ? shows.map((s) => showCard(s, { onRemind: remind })) : h('li', { class: 'empty muted' }, t(empty)));
}

function render() {
  const chips = [null, ...[...state.categories].sort()].map((c) =>
    h('button', {
      type: 'button', class: 'chip', 'aria-pressed': String(state.category === c),
      onclick: async () => {
        state.category = c;
        await refresh();
      },
    }, c === null ? t('home.all') : c));
  fill(document.getElementById('categories'), chips);
  if (!state.live) return;
  list(document.getElementById('live-list'), state.live.streams, 'home.none_live');
  list(document.getElementById('upcoming-list'), state.upcoming.streams, 'home.none_upcoming');
  const trending = state.live.trending_streams.filter((s) => !state.category || s.category === state.category);
  document.getElementById('trending-section').hidden = !trending.length;
  list(document.getElementById('trending-list'), trending, 'home.none_live');
  document.getElementById('replay-section').hidden = !state.ended.streams.length;
  list(document.getElementById('replay-list'), state.ended.streams, 'home.none_live');
}

async function refresh() {
  try {
    await load();
  } catch (err) {
    toast(errorText(err), 'error');
  }
  render();
  document.body.dataset.ready = 'true';
}

await startPage({ rerender: render });
render();
await refresh();
setInterval(() => document.visibilityState === 'visible' && refresh(), 30000);
