// The demo shop's own script: the cart (in localStorage, as many shops keep it), the checkout, and
// the "on this device" panel. It runs before presage.js (synchronously, in the head) so that a
// purchase is in the dataLayer when the tag starts, as a tag manager's confirmation page does, and so
// that its presage.on subscriptions are queued for the tag to replay.
(function () {
  'use strict';
  var KEY = 'shop:cart';
  var euro = function (v) { return '€' + (+v).toFixed(2); };
  var load = function () { try { return JSON.parse(localStorage.getItem(KEY)) || []; } catch (e) { return []; } };
  var store = function (c) { try { localStorage.setItem(KEY, JSON.stringify(c)); } catch (e) {} };
  var total = function (c) { return c.reduce(function (s, l) { return s + l.price * l.qty; }, 0); };

  // A purchase placed on the checkout page reaches presage.js here, as a GA4 ecommerce event.
  window.dataLayer = window.dataLayer || [];
  var order = null;
  if (location.pathname === '/thanks') {
    try { order = JSON.parse(sessionStorage.getItem('shop:order')); sessionStorage.removeItem('shop:order'); } catch (e) {}
    if (order) {
      window.dataLayer.push({ event: 'purchase', ecommerce: { transaction_id: order.id, value: order.value, currency: 'EUR',
        items: order.lines.map(function (l) { return { item_id: l.id, item_category: l.category, price: l.price, quantity: l.qty }; }) } });
    }
  }

  // What the agent decides about this visitor, shown in the footer panel.
  var state = { decisions: {} };
  var show = function (k, v) {
    var el = document.querySelector('[data-show="' + k + '"]');
    if (el) el.textContent = v || '—';
  };
  var refresh = function () {
    if (document.readyState === 'loading') return;
    // The last answer has the stage and segments even when no event announced a change.
    var last = window.presage && window.presage.state;
    if (last && last.stage != null) state.stage = last.stage;
    if (last && last.segments) state.segments = last.segments;
    show('stage', state.stage);
    show('segments', (state.segments || []).join(', '));
    show('scores', Object.keys(state.scores || {}).map(function (m) { return m + ' ' + (+state.scores[m]).toFixed(3); }).join(' · '));
    show('decisions', Object.keys(state.decisions).map(function (s) { return s + ': ' + state.decisions[s]; }).join(' · '));
  };
  window.presage = window.presage || [];
  if (Array.isArray(window.presage)) {
    window.presage.push(
      ['on', 'lifecycle', function (e) { state.stage = e.stage; refresh(); }],
      ['on', 'segment', function (e) { state.segments = e.segments; refresh(); }],
      ['on', 'scores', function (e) { state.scores = e; refresh(); }],
      ['on', 'decision', function (d) { state.decisions[d.slot] = d.campaign ? d.campaign + '/' + (d.holdout ? 'holdout' : d.variant) : 'none'; refresh(); }]);
  }
  var api = function (m) {
    var p = window.presage;
    return p && typeof p[m] === 'function' ? p[m].apply(p, [].slice.call(arguments, 1)) : Promise.resolve();
  };

  var names = null;
  var fill = function (root) {
    // presage.js renders recommendations with their ids; the shop adds names and prices.
    var tiles = root.querySelectorAll('[data-sku]:not([data-named])');
    if (!tiles.length) return;
    (names = names || fetch('/catalogue.json').then(function (r) { return r.json(); })).then(function (cat) {
      tiles.forEach(function (t) {
        var p = cat[t.getAttribute('data-sku')];
        t.setAttribute('data-named', '');
        if (!p) return;
        t.style.setProperty('--h', p.hue);
        t.querySelector('.nm').textContent = p.name;
        t.querySelector('.pr').textContent = euro(p.price);
      });
    }).catch(function () {});
  };

  var render = function () {
    var cart = load();
    document.querySelectorAll('[data-cart-count]').forEach(function (el) {
      el.textContent = cart.reduce(function (s, l) { return s + l.qty; }, 0);
    });
    document.querySelectorAll('[data-cart-total]').forEach(function (el) { el.textContent = euro(total(cart)); });
    document.querySelectorAll('[data-cart-lines]').forEach(function (box) {
      if (!cart.length) { box.innerHTML = '<p>Your cart is empty.</p>'; return; }
      box.textContent = '';
      cart.forEach(function (l) {
        var row = document.createElement('div');
        row.className = 'line';
        row.setAttribute('data-presage-product', l.id);
        row.setAttribute('data-presage-category', l.category);
        row.setAttribute('data-presage-price', l.price);
        var name = document.createElement('span');
        name.textContent = l.name + ' × ' + l.qty;
        var price = document.createElement('b');
        price.textContent = euro(l.price * l.qty);
        row.append(name, price);
        if (!box.hasAttribute('data-readonly')) {
          var rm = document.createElement('button');
          rm.textContent = 'Remove';
          rm.setAttribute('data-presage-track', 'remove_from_cart');
          rm.setAttribute('data-presage-quantity', l.qty);
          rm.setAttribute('data-cart-remove', l.id);
          row.append(rm);
        }
        box.append(row);
      });
    });
  };

  document.addEventListener('click', function (e) {
    var t = e.target.closest ? e.target : e.target.parentElement;
    var add = t.closest('[data-cart-add]');
    if (add) {
      var cart = load();
      var id = add.getAttribute('data-cart-add');
      var line = cart.filter(function (l) { return l.id === id; })[0];
      if (line) line.qty++;
      else cart.push({ id: id, name: add.getAttribute('data-name'), price: +add.getAttribute('data-price'), category: add.getAttribute('data-category'), qty: 1 });
      store(cart);
      render();
      var done = document.querySelector('.added');
      if (done) done.hidden = false;
    }
    var rm = t.closest('[data-cart-remove]');
    if (rm) {
      store(load().filter(function (l) { return l.id !== rm.getAttribute('data-cart-remove'); }));
      render();
    }
    if (t.closest('[data-pay]')) {
      var c = load();
      if (!c.length) return;
      var o = { id: 'o-' + Math.random().toString(36).slice(2, 10), value: Math.round(total(c) * 100) / 100, lines: c };
      try { sessionStorage.setItem('shop:order', JSON.stringify(o)); } catch (err) {}
      store([]);
      location.href = '/thanks';
    }
    if (t.closest('[data-close]')) {
      var pop = t.closest('.popin');
      if (pop) pop.remove();
    }
    var level = t.getAttribute && t.getAttribute('data-consent');
    if (level && t.tagName === 'BUTTON') api('consent', level);
    if (t.id === 'forget') api('forget').then(function () { state = { decisions: {} }; refresh(); });
    if (t.id === 'explain') {
      api('explain').then(function (x) {
        var pre = document.getElementById('why');
        pre.hidden = false;
        pre.textContent = x ? JSON.stringify(x, null, 1) : 'Presage is not running (consent denied, or the module failed to load).';
      });
    }
  });

  document.addEventListener('DOMContentLoaded', function () {
    render();
    refresh();
    if (order) {
      var id = document.querySelector('[data-order-id]');
      if (id) id.textContent = order.id;
      var v = document.querySelector('[data-order-value]');
      if (v) v.textContent = euro(order.value);
    }
    document.querySelectorAll('[data-presage-items]').forEach(fill);
    new MutationObserver(function () { fill(document); }).observe(document.body, { childList: true, subtree: true });
  });
})();
