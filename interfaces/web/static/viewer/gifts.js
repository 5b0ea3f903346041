// Coins and gifts on the watch page (docs/api.md: coins and virtual gifts). The catalogue from GET /gifts, the
// viewer's coins from GET /wallet, buying coins with POST /wallet/top-ups (paid at the provider's payment_url;
// the balance follows once the provider confirms), sending with POST /streams/:id/gifts under an
// Idempotency-Key (a retry of the same tap spends nothing twice); the room sees `gift_received`.
import { api, newKey } from '/static/common/core.js';
import { h, fill, toast } from '/static/common/core.js';
import { t, lang, num, taka, errorText } from '/static/common/core.js';
import { getToken } from '/static/common/core.js';

const EMOJI = { rose: '🌹', heart: '💖', car_zoom: '🏎️', car: '🏎️', crown: '👑', star: '⭐', rocket: '🚀' };
const TOP_UPS = [100, 500, 1000];

export class Gifts {
  constructor(root, feed, ctx) {
    this.root = root;
    this.feed = feed;
    this.ctx = ctx;
    this.gifts = [];
    this.coinPrice = 1;
    this.balance = null;
    this.pending = null; // {top_up_id, payment_url, coins}
    this.key = null; // the Idempotency-Key of the send being tried
  }

  async load() {
    try {
      const res = await api('/gifts');
      this.gifts = res.gifts || [];
      this.coinPrice = res.coin_price || 1;
    } catch {
      this.gifts = [];
    }
    if (getToken()) await this.wallet();
    this.render();
  }

  async wallet() {
    try {
      this.balance = (await api('/wallet', { query: { limit: 1 } })).balance;
    } catch {
      this.balance = null;
    }
  }

  async topUp(coins, method) {
    if (!this.ctx.requireSignIn()) return;
    try {
      const res = await api('/wallet/top-ups', { method: 'POST', body: { coins, payment_method: method }, key: newKey() });
      this.pending = { top_up_id: res.top_up_id, payment_url: res.payment_url, coins, from: this.balance || 0 };
      this.render();
      this.waitForCoins();
    } catch (err) {
      toast(errorText(err), 'error');
    }
  }

  waitForCoins() {
    clearInterval(this.timer);
    const until = Date.now() + 10 * 60 * 1000;
    this.timer = setInterval(async () => {
      await this.wallet();
      if ((this.pending && this.balance >= this.pending.from + this.pending.coins) || Date.now() > until) {
        clearInterval(this.timer);
        this.pending = null;
      }
      this.render();
    }, 1500);
  }

  async send(gift) {
    if (!this.ctx.requireSignIn()) return;
    this.key = this.key || newKey();
    try {
      const res = await api(`/streams/${this.ctx.streamId}/gifts`, { method: 'POST', key: this.key,
        body: { gift_id: gift.id, quantity: 1 } });
      this.balance = res.balance;
      this.key = null;
      toast(t('gift.sent', { gift: this.name(gift) }));
    } catch (err) {
      if (err.code !== 'network_error') this.key = null; // a refusal is final; a lost answer is retried as is
      toast(errorText(err), 'error');
    }
    this.render();
  }

  name(gift) {
    return (lang === 'bn' && gift.name_bn) || gift.name;
  }

  received(b) {
    const gift = this.gifts.find((g) => g.id === b.gift_id) || { name: b.gift_id };
    const line = h('li', { class: 'gift-line', dataset: { sendId: b.send_id } },
      h('span', { class: 'gift-emoji' }, EMOJI[gift.animation_key] || '🎁'), ' ',
      t('gift.received', { who: b.from || '—', gift: this.name(gift), n: b.quantity || 1 }),
      b.message ? h('span', { class: 'muted' }, ' · ' + b.message) : null);
    this.feed.hidden = false;
    this.feed.prepend(line);
    while (this.feed.children.length > 4) this.feed.lastChild.remove();
  }

  render() {
    if (!this.gifts.length) {
      this.root.hidden = true;
      return;
    }
    this.root.hidden = false;
    const signedIn = !!getToken();
    fill(this.root,
      h('p', { class: 'flash-head' }, '🎁 ', t('gift.title'), ' ',
        signedIn ? h('span', { class: 'coins', id: 'coin-balance' }, t('gift.balance', { n: this.balance ?? 0 })) : null),
      h('ul', { class: 'gift-grid' }, this.gifts.map((g) => h('li', {},
        h('button', { type: 'button', class: 'gift', dataset: { gift: g.id }, onclick: () => this.send(g),
          'aria-label': t('gift.send', { gift: this.name(g), n: g.coins }) },
        h('span', { class: 'gift-emoji' }, EMOJI[g.animation_key] || '🎁'), h('span', {}, this.name(g)),
        h('span', { class: 'muted' }, t('gift.coins', { n: g.coins })))))),
      this.pending
        ? h('p', { class: 'top-up-pending' }, t('gift.pay_to_get', { n: this.pending.coins }), ' ',
          h('a', { class: 'button', id: 'top-up-pay', href: this.pending.payment_url, target: '_blank', rel: 'noopener' }, t('gift.pay_now')))
        : h('div', { class: 'top-ups' }, h('span', { class: 'muted' }, t('gift.buy')),
          TOP_UPS.map((n) => h('button', { type: 'button', class: 'top-up', dataset: { coins: n },
            onclick: () => this.topUp(n, 'bkash') }, t('gift.buy_n', { n, amount: taka(n * this.coinPrice) })))));
  }
}

