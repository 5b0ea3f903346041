// What is for sale on screen: the featured product (price in ৳, stock, add to cart, buy now) and the show's flash
// sales (countdown, live stock, buy now → a hold → checkout). Stock moves with the room's stock_update events.
import { api, newKey } from '/static/common/core.js';
import { h, fill, toast } from '/static/common/core.js';
import { t, lang, taka, clock, errorText } from '/static/common/core.js';

export class Catalogue {
  /** Product names and pictures from the catalogue (GET /catalog/products/:id), asked once per product;
   * `given`: answers the page's HTML carried ({id: answer, or null for a product the catalogue lacks}). */
  constructor(given = {}) {
    this.known = new Map(Object.entries(given || {}));
  }

  async load(ids) {
    await Promise.all([...new Set(ids)].filter((id) => !this.known.has(id)).map(async (id) => {
      this.known.set(id, null);
      try {
        this.known.set(id, await api(`/catalog/products/${id}`));
      } catch {
        /* not in the catalogue: shown as "Product" */
      }
    }));
  }

  name(id, fallback) {
    const p = this.known.get(id);
    if (!p) return fallback || t('product.unnamed');
    return (lang === 'bn' && p.name_bn) || p.name;
  }

  image(id) {
    const p = this.known.get(id);
    const images = p && Array.isArray(p.images) ? p.images : [];
    return typeof images[0] === 'string' ? images[0] : images[0] && images[0].url;
  }
}

export class Featured {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.product = null;
  }

  set(product) {
    this.product = product && product.product_id ? { ...this.ctx.products.get(product.product_id), ...product } : null;
    this.render();
  }

  stock(update) {
    if (this.product && update.product_id === this.product.product_id && !update.sale_id) {
      this.product.sold_quantity = update.sold;
      this.product.available = update.available;
      this.render();
    }
  }

  left() {
    const p = this.product;
    if (!p) return null;
    if (typeof p.available === 'number') return p.available;
    return p.limited_quantity == null ? null : Math.max(0, p.limited_quantity - (p.sold_quantity || 0));
  }

  render() {
    const p = this.product;
    this.root.classList.toggle('empty', !p);
    if (!p) {
      fill(this.root, h('p', { class: 'muted placeholder' }, t('product.none_featured')));
      return;
    }
    const { catalogue, live } = this.ctx;
    const left = this.left();
    const img = catalogue.image(p.product_id);
    const soldOut = left === 0;
    const unpriced = p.special_price == null; // a replay's product the catalogue does not price: shown, not sold
    fill(this.root,
      h('div', { class: 'product-img' }, img ? h('img', { src: img, alt: '', width: 72, height: 72 }) : null),
      h('div', { class: 'product-info' },
        h('p', { class: 'eyebrow' }, t('product.featured')),
        h('h2', { class: 'product-name', id: 'featured-name' }, catalogue.name(p.product_id)),
        h('p', { class: 'price' }, h('b', { id: 'featured-price' }, unpriced ? '' : taka(p.special_price)),
          p.discount_percentage ? h('span', { class: 'off' }, ' ' + t('product.off', { n: p.discount_percentage })) : null),
        h('p', { class: 'stock muted', id: 'featured-stock' },
          left === null ? '' : soldOut ? t('product.sold_out') : t('product.left', { n: left }))),
      h('div', { class: 'product-actions' },
        h('button', { type: 'button', id: 'add-to-cart', disabled: soldOut || unpriced, onclick: () => this.addToCart() },
          t('product.add_to_cart')),
        h('button', { type: 'button', class: 'primary', id: 'buy-now', disabled: soldOut || unpriced, onclick: () => this.buyNow() },
          t('product.buy_now'))));
  }

  intent() {
    const { live, streamId } = this.ctx;
    if (live) live.call('purchase_intent', { stream_id: streamId, product_id: this.product.product_id, quantity: 1 });
  }

  async addToCart() {
    if (!this.ctx.requireSignIn()) return;
    const p = this.product;
    this.intent();
    try {
      const cart = await api('/cart/add', { method: 'POST', body: { stream_id: this.ctx.streamId,
        product_id: p.product_id, quantity: 1, special_price: p.special_price } });
      this.ctx.cart.set(cart);
      toast(t('cart.added', { name: this.ctx.catalogue.name(p.product_id) }));
    } catch (err) {
      toast(errorText(err), 'error');
    }
  }

  buyNow() {
    if (!this.ctx.requireSignIn()) return;
    const p = this.product;
    this.intent();
    this.ctx.checkout.open({ items: [{ product_id: p.product_id, quantity: 1, price: p.special_price }],
      summary: this.ctx.catalogue.name(p.product_id), total: p.special_price });
  }
}

export class Cart {
  constructor(button, ctx) {
    this.button = button;
    this.ctx = ctx;
    this.cart = null;
    button.addEventListener('click', () => this.checkout());
  }

  async load() {
    try {
      this.set(await api('/cart', { query: { stream_id: this.ctx.streamId } }));
    } catch {
      this.set(null);
    }
  }

  set(cart) {
    this.cart = cart;
    const count = cart && cart.items ? cart.items.reduce((n, i) => n + i.quantity, 0) : 0;
    this.button.hidden = !count;
    fill(this.button, '🛒 ', t('cart.checkout', { n: count }), count ? ' · ' + taka(cart.total) : '');
  }

  checkout() {
    if (!this.cart || !this.cart.items.length) return;
    this.ctx.checkout.open({ items: null, summary: t('cart.summary', { n: this.cart.items.length }), total: this.cart.total });
  }

  emptied() {
    this.set(null);
  }
}

/** The show's running flash sales: countdown to the end, units left (live), buy now. */
export class FlashSales {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.sales = new Map();
    setInterval(() => this.tick(), 1000);
  }

  /** The running sales from GET /streams/:id/deals (`asked`: that request, already on its way), then their live
   * stock (GET /flash-sales/:id) without holding the page up. */
  async load(asked = null) {
    const deals = (await asked) || (await api(`/streams/${this.ctx.streamId}/deals`));
    for (const d of deals.active_deals) {
      this.sales.set(d.flash_sale_id, { ...this.sales.get(d.flash_sale_id), sale_id: d.flash_sale_id,
        product_id: d.product_id, sale_name: d.sale_name, flash_price: d.live_price, original_price: d.original_price,
        discount_percentage: d.discount_percentage, available: d.available_quantity, end_time: d.sale_end_time,
        status: 'active', product_name: d.product_name, product_name_bn: d.product_name_bn });
    }
    this.render();
    for (const d of deals.active_deals) {
      api(`/flash-sales/${d.flash_sale_id}`).then((sale) => {
        const s = this.sales.get(d.flash_sale_id);
        if (s && sale.live && typeof sale.live.remaining_quantity === 'number' && !s.pushed) {
          s.available = sale.live.remaining_quantity;
          this.render();
        }
      }).catch(() => {});
    }
  }

  started(body) {
    this.ctx.catalogue.load([body.product_id]).then(() => this.render());
    this.sales.set(body.sale_id, { ...this.sales.get(body.sale_id), ...body, pushed: true });
    this.render();
  }

  ended(body) {
    this.sales.delete(body.sale_id);
    this.render();
  }

  stock(body) {
    const sale = body.sale_id && this.sales.get(body.sale_id);
    if (!sale) return;
    Object.assign(sale, body, { pushed: true });
    this.render();
  }

  tick() {
    for (const el of this.root.querySelectorAll('[data-ends]')) {
      el.textContent = clock((Date.parse(el.dataset.ends) - Date.now()) / 1000);
    }
  }

  name(s) {
    if (lang === 'bn' && s.product_name_bn) return s.product_name_bn;
    return s.product_name || this.ctx.catalogue.name(s.product_id, s.sale_name);
  }

  render() {
    const sales = [...this.sales.values()].filter((s) => s.status !== 'ended' && Date.parse(s.end_time) > Date.now() - 1000);
    this.root.hidden = !sales.length;
    fill(this.root, sales.map((s) => h('article', { class: 'flash', dataset: { saleId: s.sale_id } },
      h('p', { class: 'flash-head' }, h('span', { class: 'bolt', 'aria-hidden': 'true' }, '⚡'), t('flash.title'), ' ',
        h('span', { class: 'countdown', dataset: { ends: s.end_time }, 'aria-label': t('flash.ends_in') },
          clock((Date.parse(s.end_time) - Date.now()) / 1000))),
      h('h3', { class: 'flash-name' }, this.name(s)),
      h('p', { class: 'price' }, h('b', { class: 'flash-price' }, taka(s.flash_price)), ' ',
        h('s', { class: 'muted' }, taka(s.original_price)),
        s.discount_percentage ? h('span', { class: 'off' }, ' ' + t('product.off', { n: s.discount_percentage })) : null),
      h('p', { class: 'flash-stock', dataset: { available: s.available } },
        s.available > 0 ? t('flash.left', { n: s.available }) : t('product.sold_out')),
      h('button', { type: 'button', class: 'primary flash-buy', disabled: !(s.available > 0),
        onclick: (e) => this.buy(s, e.currentTarget) }, t('flash.buy')))));
    this.tick();
  }

  async buy(sale, button) {
    if (!this.ctx.requireSignIn()) return;
    button.disabled = true;
    try {
      const hold = await api(`/flash-sales/${sale.sale_id}/purchase`, { method: 'POST', body: { quantity: 1 },
        key: newKey() });
      this.ctx.checkout.open({
        items: [{ product_id: sale.product_id, flash_sale_id: sale.sale_id, reservation_id: hold.reservation_id }],
        summary: t('flash.held', { name: this.name(sale), time: clock((Date.parse(hold.expires_at) - Date.now()) / 1000) }),
        total: hold.total });
    } catch (err) {
      toast(errorText(err), 'error');
    } finally {
      button.disabled = false;
    }
  }
}

