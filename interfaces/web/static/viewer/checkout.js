// Checkout: one dialog for every way to buy (the live cart, a product at the show's price, a flash-sale hold, an
// auction won, a group-buy hold) → POST /checkout/instant; then the order's status until it is paid.
import { api, newKey } from '/static/common/core.js';
import { h, fill } from '/static/common/core.js';
import { t, taka, errorText } from '/static/common/core.js';

const METHODS = ['bkash', 'nagad', 'rocket', 'card', 'cod'];
const PHONE = /^(?:\+?88)?01[3-9]\d{8}$/;
const ADDRESS_KEY = 'lc.address';
const DEVICE_KEY = 'lc.device';

/** This browser's stable id (random, kept in localStorage): sent with each order as a fraud signal. */
export function deviceId() {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id || !/^[A-Za-z0-9._:-]{8,128}$/.test(id)) {
    id = `web-${crypto.randomUUID ? crypto.randomUUID() : Math.random().toString(36).slice(2) + Date.now().toString(36)}`;
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

export class Checkout {
  constructor({ streamId, onOrder }) {
    this.streamId = streamId;
    this.onOrder = onOrder;
    this.dialog = h('dialog', { class: 'sheet', id: 'checkout', 'aria-labelledby': 'checkout-h' });
    document.body.append(this.dialog);
  }

  /** Open for `items` (null: the live cart), showing `summary` (a line of text) and `total` (taka). */
  open({ items = null, summary, total }) {
    const saved = JSON.parse(localStorage.getItem(ADDRESS_KEY) || '{}');
    const field = (name, label, attrs = {}) => [
      h('label', { for: `co-${name}` }, t(label)),
      h('input', { id: `co-${name}`, name, value: saved[name] || '', ...attrs }),
    ];
    const methods = h('fieldset', { class: 'methods' }, h('legend', {}, t('checkout.method')),
      METHODS.map((m, i) => h('label', { class: 'method' },
        h('input', { type: 'radio', name: 'method', value: m, checked: i === 0 }), ' ', t(`pay.${m}`))));
    const error = h('p', { class: 'error', role: 'alert', id: 'checkout-error' });
    const submit = h('button', { type: 'submit', class: 'primary', id: 'checkout-submit' }, t('checkout.place'));
    const form = h('form', { method: 'dialog', onsubmit: (e) => this.place(e, items, error, submit) },
      h('h2', { id: 'checkout-h' }, t('checkout.title')),
      h('p', { class: 'summary' }, summary, total != null ? h('b', { class: 'total' }, ' · ' + taka(total)) : null),
      ...field('name', 'checkout.name', { required: true, autocomplete: 'name', maxlength: 80 }),
      ...field('phone', 'checkout.phone', { required: true, autocomplete: 'tel', inputmode: 'tel', maxlength: 14 }),
      ...field('address', 'checkout.address', { required: true, autocomplete: 'street-address', maxlength: 200 }),
      ...field('city', 'checkout.city', { required: true, autocomplete: 'address-level2', maxlength: 60 }),
      methods, error,
      h('div', { class: 'sheet-actions' },
        h('button', { type: 'button', onclick: () => this.dialog.close() }, t('common.cancel')), submit));
    fill(this.dialog, form);
    this.dialog.showModal();
  }

  async place(e, items, error, submit) {
    e.preventDefault();
    const f = new FormData(e.target);
    const address = { name: f.get('name').trim(), phone: f.get('phone').trim(), address: f.get('address').trim(),
      city: f.get('city').trim() };
    const method = f.get('method');
    if (!PHONE.test(address.phone.replace(/[\s-]/g, ''))) {
      error.textContent = t('checkout.bad_phone');
      return;
    }
    localStorage.setItem(ADDRESS_KEY, JSON.stringify(address));
    const body = { stream_id: this.streamId, payment_method: method, shipping_address: address,
      phone: address.phone.replace(/[\s-]/g, ''), device_id: deviceId() };
    if (items) body.cart_items = items;
    submit.disabled = true;
    try {
      const order = await api('/checkout/instant', { method: 'POST', body, key: newKey() });
      this.dialog.close();
      this.onOrder(order);
    } catch (err) {
      error.textContent = errorText(err);
    } finally {
      submit.disabled = false;
    }
  }
}

/** The order after checkout: a link to pay (bKash/Nagad/Rocket/card) and its status until it settles. */
export class OrderStatus {
  constructor(root) {
    this.root = root;
    this.timer = null;
  }

  async show(order) {
    clearTimeout(this.timer);
    this.order = order;
    this.render(order, null);
    this.poll(order.version);
  }

  async poll(version) {
    try {
      const o = await api(`/orders/${this.order.order_id}`, { query: { min_version: version } });
      this.render(this.order, o);
      if (['paid', 'payment_failed', 'cancelled', 'refunded'].includes(o.status) || o.payment_method === 'cod') return;
    } catch (err) {
      if (err.code !== 'read_model_behind') {
        this.render(this.order, null, errorText(err));
      }
    }
    this.timer = setTimeout(() => this.poll(version), 2000);
  }

  render(placed, current, problem) {
    const status = current ? current.status : placed.order_status;
    const payment = current ? current.payment_status : placed.payment_status;
    const paid = status === 'paid' || payment === 'completed' || payment === 'paid';
    const cod = placed.payment_method === 'cod';
    const fulfilment = current && current.fulfilment && current.fulfilment.status;
    this.root.hidden = false;
    fill(this.root,
      h('h2', {}, t('order.title')),
      h('p', { id: 'order-status', dataset: { status: status || '' } },
        t(cod ? 'order.cod_placed' : paid ? 'order.paid' : status === 'payment_failed' ? 'order.failed' : 'order.awaiting'),
        ' · ', taka(placed.total)),
      fulfilment ? h('p', { class: 'muted' }, t(`fulfilment.${fulfilment}`)) : null,
      !paid && !cod && placed.payment_url && status !== 'payment_failed'
        ? h('a', { class: 'button primary', id: 'pay-link', href: placed.payment_url, target: '_blank', rel: 'noopener' },
          t('order.pay_with', { method: t(`pay.${placed.payment_method}`) }))
        : null,
      problem ? h('p', { class: 'error' }, problem) : null);
  }
}
