// Auctions (current price, your maximum bid, time left, anti-snipe extensions, paying once won) and group
// buys (progress to the minimum, join, pay once unlocked). An auction appears with its first bid in the room or
// a link with ?auction=ID; a group buy with a link ?group_buy=ID (the way group buys are shared).
import { api, newKey } from '/static/common/core.js';
import { h, fill, toast } from '/static/common/core.js';
import { t, taka, clock, errorText } from '/static/common/core.js';
import { user } from '/static/common/core.js';

export class Auctions {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.auctions = new Map();
    this.myMax = JSON.parse(sessionStorage.getItem('lc.maxbids') || '{}');
    setInterval(() => this.tick(), 1000);
  }

  async add(id) {
    try {
      this.update(await api(`/auctions/${id}`));
    } catch {
      /* an auction we cannot see: nothing shown */
    }
  }

  update(body) {
    const id = body.auction_id;
    const before = this.auctions.get(id) || {};
    const a = { ...before, ...body };
    a.extended = before.ends_at && body.ends_at && Date.parse(body.ends_at) > Date.parse(before.ends_at);
    this.auctions.set(id, a);
    if (!before.product_id && a.product_id) this.ctx.catalogue.load([a.product_id]).then(() => this.render());
    this.render();
  }

  tick() {
    for (const el of this.root.querySelectorAll('[data-ends]')) {
      el.textContent = clock((Date.parse(el.dataset.ends) - Date.now()) / 1000);
    }
  }

  render() {
    const me = user();
    const list = [...this.auctions.values()];
    this.root.hidden = !list.length;
    fill(this.root, list.map((a) => {
      const open = a.status === 'open';
      const won = a.status === 'awarded' && me && a.winner_id === me.id;
      const leading = me && a.leader_id === me.id;
      return h('article', { class: 'auction', dataset: { auctionId: a.auction_id } },
        h('p', { class: 'flash-head' }, '🔨 ', t('auction.title'), ' ',
          open ? h('span', { class: 'countdown', dataset: { ends: a.ends_at } }, clock((Date.parse(a.ends_at) - Date.now()) / 1000))
            : h('span', {}, t('auction.closed'))),
        h('h3', { class: 'flash-name' }, this.ctx.catalogue.name(a.product_id)),
        h('p', { class: 'price' }, t('auction.current'), ' ', h('b', { class: 'auction-price' }, taka(a.current_price)),
          ' · ', t('auction.bids', { n: a.bid_count || 0 })),
        a.extended ? h('p', { class: 'muted' }, t('auction.extended')) : null,
        leading && open ? h('p', { class: 'ok' }, t('auction.you_lead')) : null,
        this.myMax[a.auction_id] ? h('p', { class: 'muted' }, t('auction.your_max', { amount: taka(this.myMax[a.auction_id]) })) : null,
        open ? h('form', { class: 'bid-form', onsubmit: (e) => this.bid(e, a) },
          h('label', { for: `bid-${a.auction_id}`, class: 'visually-hidden' }, t('auction.max_bid')),
          h('input', { id: `bid-${a.auction_id}`, name: 'max', type: 'number', min: 1, step: 1, inputmode: 'numeric',
            placeholder: t('auction.max_bid'), required: true }),
          h('button', { type: 'submit', class: 'primary' }, t('auction.bid'))) : null,
        won ? h('button', { type: 'button', class: 'primary', onclick: () => this.ctx.checkout.open({
          items: [{ auction_id: a.auction_id }], summary: t('auction.won'), total: a.winning_price || a.current_price }) },
        t('auction.pay')) : null);
    }));
    this.tick();
  }

  async bid(e, a) {
    e.preventDefault();
    if (!this.ctx.requireSignIn()) return;
    const max = Number(new FormData(e.target).get('max'));
    try {
      const standing = await api(`/auctions/${a.auction_id}/bids`, { method: 'POST', body: { max_amount: max }, key: newKey() });
      this.myMax[a.auction_id] = max;
      sessionStorage.setItem('lc.maxbids', JSON.stringify(this.myMax));
      this.update({ auction_id: a.auction_id, ...standing });
      toast(standing.you_lead ? t('auction.you_lead') : t('auction.outbid', { amount: taka(standing.current_price) }));
    } catch (err) {
      toast(errorText(err), 'error');
    }
  }
}

export class GroupBuys {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.groups = new Map();
    this.holds = JSON.parse(localStorage.getItem('lc.holds') || '{}');
  }

  async add(id) {
    try {
      this.groups.set(id, await api(`/group-buys/${id}`));
    } catch {
      return;
    }
    this.render();
  }

  async refresh() {
    for (const id of this.groups.keys()) await this.add(id);
  }

  render() {
    const list = [...this.groups.values()];
    this.root.hidden = !list.length;
    fill(this.root, list.map((g) => {
      const hold = this.holds[g.group_buy_id];
      const pct = Math.min(100, Math.round((100 * g.buyers) / Math.max(1, g.min_buyers)));
      return h('article', { class: 'group', dataset: { groupBuyId: g.group_buy_id } },
        h('p', { class: 'flash-head' }, '👥 ', t('group.title'), ' · ', h('span', {}, t(`group.${g.status}`))),
        h('p', { class: 'price' }, h('b', {}, taka(g.group_price)), ' ', h('s', { class: 'muted' }, taka(g.regular_price))),
        h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': g.min_buyers,
          'aria-valuenow': g.buyers, 'aria-label': t('group.progress', { n: g.buyers, min: g.min_buyers }) },
          h('span', { style: `width:${pct}%` })),
        h('p', { class: 'muted' }, t('group.progress', { n: g.buyers, min: g.min_buyers })),
        g.status === 'open' && !hold ? h('button', { type: 'button', class: 'primary', onclick: () => this.join(g) }, t('group.join')) : null,
        g.status === 'unlocked' && hold ? h('button', { type: 'button', class: 'primary', onclick: () => this.ctx.checkout.open({
          items: [{ group_buy_id: g.group_buy_id, hold_id: hold }], summary: t('group.title'), total: g.group_price }) },
        t('group.pay')) : null,
        hold && g.status === 'open' ? h('p', { class: 'ok' }, t('group.joined')) : null);
    }));
  }

  async join(g) {
    if (!this.ctx.requireSignIn()) return;
    try {
      const joined = await api(`/group-buys/${g.group_buy_id}/join`, { method: 'POST', key: newKey() });
      this.holds[g.group_buy_id] = joined.hold_id;
      localStorage.setItem('lc.holds', JSON.stringify(this.holds));
      this.groups.set(g.group_buy_id, { ...g, ...joined });
      this.render();
    } catch (err) {
      toast(errorText(err), 'error');
    }
  }
}

