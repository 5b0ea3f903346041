// The replay of an ended show: its recording (GET /streams/:id/replay → recording.playlist_url) with the product
// timeline (the product card follows what was featured at the video's time), and its highlights
// (GET /streams/:id/highlights): tapping one seeks the replay to its start, plays it and shows its product.
// Shoppable: after the show its products sell at their catalogue list price (the show's own prices ended with it,
// ADR 0026), so the card offers `list_price`; a product the catalogue does not price is shown, not sold.
import { api } from '/static/common/core.js';
import { h, fill } from '/static/common/core.js';
import { t, lang, taka, clock } from '/static/common/core.js';

const name = (p) => (p && ((lang === 'bn' && p.name_bn) || p.name)) || t('product.unnamed');

export class Replay {
  constructor(root, video, ctx, featured) {
    this.root = root;
    this.video = video;
    this.ctx = ctx;
    this.featured = featured;
    this.data = null;
    this.clips = [];
    this.current = null;
    this.pinned = null; // a tapped highlight: its product stays on the card while the clip plays
  }

  async load() {
    const sid = this.ctx.streamId;
    const [data, clips] = await Promise.all([api(`/streams/${sid}/replay`),
      api(`/streams/${sid}/highlights`).catch(() => ({ highlights: [] }))]);
    this.data = data;
    this.clips = clips.highlights || [];
    this.video.addEventListener('timeupdate', () => this.follow());
    this.render();
    return data.recording ? data.recording.playlist_url : null;
  }

  /** The product on screen at the replay's current time. */
  follow() {
    const at = this.video.currentTime;
    const clip = this.pinned;
    if (clip && at >= clip.start_s - 1 && at <= clip.end_s) return; // a tapped highlight keeps its product
    this.pinned = null;
    const entry = (this.data.product_timeline || []).find((e) => at >= e.start_s && at < e.end_s);
    const pid = entry && entry.product_id;
    if (pid && pid !== this.current) this.show(pid);
  }

  listed(pid) {
    const d = this.data || {};
    return (d.products || []).find((x) => x.product_id === pid)
      || (d.product_timeline || []).find((x) => x.product_id === pid)
      || (this.clips.find((c) => c.product && c.product.product_id === pid) || {}).product;
  }

  show(pid) {
    this.current = pid;
    const listed = this.listed(pid);
    const p = this.ctx.products.get(pid) || listed;
    if (!p) return;
    const price = listed ? listed.list_price : null;
    this.featured.set({ ...p, product_id: pid, special_price: price ?? null, discount_percentage: null, replay: true });
  }

  play(clip) {
    this.pinned = clip.product ? clip : null;
    if (clip.product) this.show(clip.product.product_id);
    this.video.currentTime = clip.start_s;
    this.video.play().catch(() => {});
    for (const el of this.root.querySelectorAll('.highlight')) el.classList.toggle('playing', el.dataset.index === String(clip.index));
    this.root.dataset.playing = String(clip.index);
  }

  render() {
    const d = this.data;
    if (!d) return;
    this.root.hidden = false;
    fill(this.root,
      h('h2', {}, t('replay.title')),
      d.recording ? null : h('p', { class: 'muted', id: 'replay-pending' }, t('replay.pending')),
      this.clips.length ? h('h3', { class: 'sub' }, t('replay.highlights')) : null,
      h('ul', { class: 'highlights' }, this.clips.map((c) => h('li', {},
        h('button', { type: 'button', class: 'highlight', dataset: { index: c.index }, onclick: () => this.play(c),
          'aria-label': t('replay.play_clip', { from: clock(c.start_s), to: clock(c.end_s) }) },
        h('span', { class: 'clip-thumb' }, c.thumbnail_url ? h('img', { src: c.thumbnail_url, alt: '', width: 128, height: 72, loading: 'lazy' }) : null,
          h('span', { class: 'clip-time' }, `${clock(c.start_s)}–${clock(c.end_s)}`)),
        h('span', { class: 'clip-product' }, c.product ? name(c.product) : t('replay.moment')),
        c.product && c.product.list_price != null ? h('b', { class: 'clip-price' }, taka(c.product.list_price)) : null)))),
      (d.product_timeline || []).length ? h('h3', { class: 'sub' }, t('replay.timeline')) : null,
      h('ol', { class: 'timeline' }, (d.product_timeline || []).map((e) => h('li', { dataset: { product: e.product_id } },
        h('button', { type: 'button', class: 'link', onclick: () => { this.video.currentTime = e.start_s; this.video.play().catch(() => {}); } },
          clock(e.start_s)), ' ', name(e), ' · ', e.list_price != null ? taka(e.list_price) : ''))));
  }
}
