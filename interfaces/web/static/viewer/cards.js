// A show as a card in a list (home page): thumbnail, live badge and viewers, title, host, category, time.
import { h } from '/static/common/core.js';
import { t, lang, num, dateTime } from '/static/common/core.js';

export function title(s) {
  return (lang === 'bn' && s.title_bn) || s.title;
}

export function showCard(s, { onRemind } = {}) {
  const live = s.status === 'live';
  const href = `/watch/${s.id}`;
  const thumb = h('div', { class: 'thumb' },
    s.thumbnail_url ? h('img', { src: s.thumbnail_url, alt: '', loading: 'lazy', width: 320, height: 180 }) : null,
    live ? h('span', { class: 'badge live' }, t('show.live')) : null,
    live ? h('span', { class: 'viewers', 'aria-label': t('show.viewers_label', { n: s.current_viewers }) },
      '👁 ' + num(s.current_viewers)) : null);
  const meta = [];
  if (s.host && s.host.name) meta.push(s.host.name);
  if (s.category) meta.push(s.category);
  if (s.language) meta.push(s.language === 'bn' ? 'বাংলা' : s.language === 'en' ? 'English' : s.language);
  const when = !live && s.scheduled_start_time && s.status === 'scheduled'
    ? h('p', { class: 'when' }, t('show.starts', { time: dateTime(s.scheduled_start_time) })) : null;
  const remind = onRemind && s.status === 'scheduled' && s.host && s.host.profile_id
    ? h('button', { type: 'button', class: 'remind', onclick: (e) => onRemind(s, e.currentTarget) }, t('show.remind'))
    : null;
  return h('li', { class: 'card', dataset: { streamId: s.id } },
    h('a', { href, class: 'card-link' }, thumb, h('h3', { class: 'card-title' }, title(s))),
    h('p', { class: 'meta muted' }, meta.join(' · ')),
    when, remind);
}
