// presage.js: the script tag. It collects first-party signals, hands them to the Presage module
// (agent/wire over the byte ABI, see module.js), renders the slots the module decides, keeps the
// visitor's profile in localStorage and sends aggregated learning home. Everything about the visitor
// stays on the device: the only bytes that leave it are the module's learning batches (counts per
// campaign, variant and segment, as the agent aggregates them), and only with full consent.
//
// Size is a feature (≤ 6 KB brotli, checked by jsbridge's Go tests): named constants below are
// inlined by the build (esbuild), and the code prefers a few generic helpers to per-type mappings.
//
// Isolation: the page never depends on this script. Slots show their default template when the
// module is late, fails or is not allowed to run; any failure disables the tag with one console
// report; listeners of the site that throw are re-thrown asynchronously, outside our stack.

import { encode, decode } from './cbor.js';
import { open } from './module.js';

// Operations (agent/wire Op).
const OP_INFO = 1;
const OP_LOAD_BUNDLE = 2;
const OP_LOAD_PROFILE = 3;
const OP_SAVE_PROFILE = 4;
const OP_HANDLE = 5;
const OP_DRAIN = 6;
const OP_EXPLAIN = 7;
const OP_FORGET = 8;

// Error codes of wire.Error that are part of normal operation.
const CODE_STALE_BUNDLE = 5;

// Event types (wire.EventType) by the names track() and the dataLayer use: GA4's where it has one.
const EVENTS = ['page_view', 'view_item', 'view_category', 'search', 'add_to_cart', 'remove_from_cart',
  'begin_checkout', 'purchase', 'sign_up', 'arrival', 'consent', 'click'];
const PAGE_VIEW = 1;
const CATEGORY_VIEW = 3;
const SEARCH = 4;
const PURCHASE = 8;
const ARRIVAL = 10;
const CONSENT = 11;

// wire.PageType names, from 1 (0 is "other"); wire.Stage names; wire.Consent levels from 1;
// wire.CheckKind names from 1.
const PAGES = ['home', 'category', 'product', 'search', 'cart', 'checkout', 'content', 'account'];
const STAGES = ['prospect', 'lead', 'new', 'loyal', 'at_risk', 'lapsed'];
// Key moments (wire.MomentKind) and the channels to act on them through (wire.Channel; direct = the site).
const MOMENTS = [, 'welcome', 'first_purchase', 'second_purchase', 'lapsing', 'churn_risk'];
const CHANNELS = [, 'site', , , 'email', 'social', 'paid'];
const LEVELS = ['denied', 'local', 'full'];
const DENIED = 1;
const LOCAL = 2;
const CHECKS = ' feature score stage appetence segment schedule cap pressure bucket holdout priority page'.split(' ');

// A visit that shows no referrer starts anew after this much silence (the agent's session timeout).
const VISIT_GAP_MS = 30 * 60e3;

const SIGNED_PREFIX = 'presage-bundle-v1\0'; // models.SignedPrefix

// The Cache Storage cache that keeps the module's decoded bytes (module.js, keep below).
const CACHE = 'presage';

const W = window;
const D = document;

/** nm names the fields of a decoded wire struct: nm({1: 'a', 2: 3}, 'x y') is {x: 'a', y: 3}. */
const nm = (o, names) => {
  const r = {};
  if (o) names.split(' ').forEach((k, i) => o[i + 1] !== undefined && (r[k] = o[i + 1]));
  return r;
};
/** pairs turns [{1: name, 2: value}] (Score, CategoryScore) into {name: value}. */
const pairs = (a) => {
  const r = {};
  (a || []).forEach((s) => (r[s[1]] = s[2]));
  return r;
};
const b64 = (b) => btoa(String.fromCharCode(...b));
const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
// Event text fields are capped by the agent at 256 bytes; 60 characters stay within it in UTF-8.
const str = (v) => (v == null || v === '' ? undefined : String(v).slice(0, 60));
// Amounts the agent refuses (negative, NaN, over 1e9) are dropped here rather than refused whole.
const num = (v) => ((v = +v) >= 0 && v <= 1e9 ? v : undefined);
const int = (v) => ((v = Math.round(v)) > 0 && v <= 1e4 ? v : undefined);
/** attrs reads an element's data-presage-* attributes: data-presage-price="9.5" is {price: '9.5'}. */
const attrs = (el) => {
  const p = {};
  if (el) for (const k in el.dataset) k.indexOf('presage') || (p[k.slice(7).toLowerCase()] = el.dataset[k]);
  return p;
};
const slotEls = () => [...D.querySelectorAll('[data-presage-slot]')];
const ready$ = (el) => el.hasAttribute('data-presage-ready');

/**
 * create starts Presage on this page with the options of the script tag (see tag.js):
 *   site      names the profile in storage ("presage:" + site);
 *   wasm      the module's URL;
 *   endpoint  the sync server's base URL ('' for none): learning goes to endpoint + 'v1/batches',
 *             newer bundles come from endpoint + 'v1/bundle?site=' + site;
 *   key       the base64 ed25519 public key that signs bundles (no key: no bundle refresh);
 *   consent   the initial level, 'denied', 'local' or 'full' (absent: the bundle's default);
 *   interval  ms between learning batches while the page stays open (default 120000);
 *   timeout   ms after which slots not yet decided show their default (default 1500);
 *   layer     the dataLayer's global name (default 'dataLayer').
 * @returns the presage API object.
 */
export function create(o) {
  const api = {};
  const handlers = {};
  const sticky = {};
  const key = 'presage:' + (o.site || '');
  // Global Privacy Control asks that nothing be sold or shared: the profile may stay on the device,
  // but no learning leaves it, whatever the consent given.
  const gpc = navigator.globalPrivacyControl === true;
  let level = LEVELS.indexOf(o.consent) + 1;
  let ready = null; // the module, once started: consent denied at start keeps the tag inert
  let agent = null;
  let dead = false;
  let forgotten = false;
  let memory = null; // what we would have stored when localStorage refuses
  let segments = null;
  let why = null; // the explanation of the page's decisions, kept once a later call replaces it
  let fresh = false; // the module's explanation is still that of the page's decisions
  let timer = 0;
  let visible = 0;
  let since = 0; // visible since navigation, unless hidden: then from its first showing
  const dom = new Promise((r) => (D.readyState == 'loading' ? D.addEventListener('DOMContentLoaded', r) : r()));
  const ua = navigator.userAgent;
  const device = /iPad|Tablet/.test(ua) || (/Android/.test(ua) && !/Mobi/.test(ua)) ? 3 : /Mobi|iPhone|Android/.test(ua) ? 2 : 1;

  const mark = (m) => performance.mark('presage:' + m);
  mark('start');

  // ---- isolation ----

  const fail = (e) => {
    if (dead) return;
    dead = true;
    clearInterval(timer);
    console.warn('presage: disabled, the page goes on without it:', e, agent ? agent.log() : '');
    dom.then(() => render());
  };
  const safe = (f) => (...a) => {
    try {
      return dead ? undefined : f(...a);
    } catch (e) {
      fail(e);
    }
  };
  /** run calls f once the module is ready; nothing when it never starts or has failed. */
  const run = (f) =>
    Promise.resolve()
      .then(() => ready)
      .then(() => (ready && !dead ? f() : undefined))
      .catch((e) => {
        if (!dead) throw e;
      });

  // ---- storage: one key, {p: base64 profile, t: last activity, d: dwell on the last page} ----

  const write = (v) => {
    memory = v;
    try {
      if (v != null) localStorage.setItem(key, v);
      else if (localStorage.getItem(key) != null) localStorage.removeItem(key);
    } catch (e) {
      // Over quota or storage disabled: keep the profile in memory for this page, and leave no
      // stale one behind for the next.
      try {
        localStorage.removeItem(key);
      } catch (e2) {}
    }
  };
  /** wipe erases what the tag stored: the profile, and the module kept in Cache Storage. */
  const wipe = () => {
    write(null);
    if (W.caches) caches.delete(CACHE).catch(() => {});
  };
  const stored = () => {
    try {
      return JSON.parse(localStorage.getItem(key) || memory) || {};
    } catch (e) {
      return JSON.parse(memory) || {};
    }
  };

  // ---- the module ----

  const raw = (op, input) => {
    try {
      return agent.call(op, input);
    } catch (e) {
      fail(e);
      throw e;
    }
  };
  const call = (op, req, soft) => {
    const r = decode(raw(op, req ? encode(req) : new Uint8Array(0)));
    const err = r[1];
    if (err && !soft) throw Error('presage: ' + (err[2] || 'error ' + err[1]));
    return r;
  };
  const seed = () => {
    const a = crypto.getRandomValues(new Uint32Array(2));
    return a[0] * 2097152 + (a[1] >>> 11); // 53 bits: exact in a double
  };
  const request = (f) => Object.assign({ 1: Date.now(), 2: seed(), 7: -new Date().getTimezoneOffset() || null }, f);
  const ev = (type, f) => Object.assign({ 1: type, 2: Date.now() }, f);
  const consentEvent = () => {
    const l = gpc && level != DENIED ? LOCAL : level;
    return l && ev(CONSENT, { 12: l });
  };

  /** save stores the profile the module hands back; none (consent denied) erases the stored one. */
  const save = (dwell) => {
    if (forgotten) return;
    const p = call(OP_SAVE_PROFILE)[4];
    write(p ? JSON.stringify({ p: b64(p), t: Date.now(), d: dwell }) : null);
  };

  /**
   * handle sends events (and slots wanting a decision) and publishes the answer. The module explains
   * only its last call, so the explanation of the page's decisions is taken before a later call
   * replaces it: presage.explain() answers for what the visitor sees.
   */
  const handle = (events, slots, recs) => {
    if (fresh) why = call(OP_EXPLAIN)[6];
    const ask = slots && slots.length;
    const a = call(OP_HANDLE, request({ 3: events.filter(Boolean), 4: ask ? slots : null, 6: Math.min(recs, 255) || null }))[3];
    fresh = ask;
    if (ask) why = null;
    save();
    const ans = nm(a, 'stage prev scores segments appetence recs decisions value session moments');
    ans.stage = STAGES[ans.stage];
    ans.prev = STAGES[ans.prev];
    ans.scores = pairs(ans.scores);
    ans.appetence = pairs(ans.appetence);
    ans.segments = ans.segments || [];
    ans.recs = (ans.recs || []).map((r) => nm(r, 'item score'));
    ans.decisions = (ans.decisions || []).map((d) => nm(d, 'slot campaign variant content holdout'));
    ans.value = ans.value && nm(ans.value, 'alive purchases spend value');
    if (slots) render(ans.decisions, ans.recs);
    api.state = ans;
    emit('scores', ans.scores);
    const was = segments;
    segments = ans.segments;
    if (!was || was.join() != segments.join())
      emit('segment', {
        segments,
        entered: was ? segments.filter((s) => !was.includes(s)) : [],
        left: was ? was.filter((s) => !segments.includes(s)) : [],
      });
    if (ans.stage != ans.prev) emit('lifecycle', { stage: ans.stage, prev: ans.prev });
    ans.decisions.forEach((d) => emit('decision', d));
    // A key moment goes to the site's listeners and to its dataLayer, for its tag manager or CRM.
    ans.moments = (ans.moments || []).map((m) => ({ moment: MOMENTS[m[1]], channel: CHANNELS[m[2] || 1] || 'site' }));
    ans.moments.forEach((m) => {
      emit('moment', m);
      (W[o.layer || 'dataLayer'] = W[o.layer || 'dataLayer'] || []).push(Object.assign({ event: 'presage_moment' }, m));
    });
    return ans;
  };

  /** toEvent maps track()'s and the dataLayer's properties (flat or GA4 ecommerce) to a wire.Event. */
  const toEvent = (name, p) => {
    const type = EVENTS.indexOf(name) + 1;
    if (type < 1 || type == ARRIVAL || type == CONSENT) throw Error('presage: unknown event ' + name);
    const ec = p.ecommerce || p;
    const lines = (ec.items || []).map((i) => ({
      1: str(i.item_id || i.item || i.id),
      2: str(i.item_category || i.category),
      3: num(i.price),
      4: int(i.quantity),
    })).filter((l) => l[1]);
    const first = lines[0] || {};
    return ev(type, {
      3: PAGES.indexOf(p.page) + 1 || null,
      4: str(p.item || p.product || p.item_id) || first[1],
      5: str(p.category || p.item_category) || first[2],
      6: num(type == PURCHASE ? ec.value : p.price || first[3] || ec.value),
      7: int(p.quantity) || first[4],
      8: type == PURCHASE && lines.length ? lines.slice(0, 64) : null,
      9: str(p.query || p.search_term),
      18: str(p.campaign),
      19: str(p.variant),
    });
  };

  /** fromLayer reads a dataLayer entry, {event: 'purchase', ecommerce: {…}} or gtag's ['event', name, props]. */
  const fromLayer = (x) => {
    const [n, p] = x && x[0] == 'event' ? [x[1], x[2]] : [x && x.event, x];
    try {
      return toEvent(n, p || {});
    } catch (e) {} // not one of ours: gtm.js, gtm.dom, …
  };

  // ---- events of the page ----

  const pageEvents = (s) => {
    const now = Date.now();
    const url = new URL(location.href);
    const q = (k) => str(url.searchParams.get(k));
    let host = '';
    try {
      host = new URL(D.referrer).hostname;
    } catch (e) {}
    const internal = host == location.hostname;
    const m = attrs(D.querySelector('[data-presage-page]'));
    const page = PAGES.indexOf(m.page) + 1 || (url.pathname == '/' ? 1 : 0);
    const query = m.query || q('q') || q('query') || q('s');
    const utm = q('utm_source') || q('utm_medium') || q('utm_term');
    const events = [consentEvent()];
    if (utm || (!internal && (host || !s.t || now - s.t > VISIT_GAP_MS)))
      events.push(ev(ARRIVAL, { 11: device, 14: internal ? null : str(host), 15: q('utm_source'), 16: q('utm_medium'), 17: q('utm_term') }));
    events.push(ev(PAGE_VIEW, { 3: page || null, 11: device, 13: internal && s.d ? Math.min(s.d, 4e9) : null }));
    if (page == 3 && m.product) events.push(toEvent('view_item', m));
    if (page == 2 && m.category) events.push(ev(CATEGORY_VIEW, { 5: str(m.category) }));
    if (query && page == 4) events.push(ev(SEARCH, { 9: query }));
    return events;
  };

  // ---- slots ----

  const emit = (type, d) => {
    (type == 'decision' ? (sticky[type] = sticky[type] || []) : (sticky[type] = [])).push(d);
    (handlers[type] || []).forEach((f) => deliver(f, d));
  };
  const deliver = (f, d) => {
    try {
      f(d);
    } catch (e) {
      setTimeout(() => {
        throw e;
      });
    }
  };

  /** fill clones a template and replaces {name} in its text and attributes, never parsing HTML. */
  const fill = (t, d) => {
    const f = t.content.cloneNode(true);
    const sub = (s) => s.replace(/\{(\w+)\}/g, (m, k) => (d[k] != null ? d[k] : m));
    const w = D.createTreeWalker(f, 5); // elements and text
    for (let n; (n = w.nextNode()); ) {
      if (n.nodeType == 3) n.data = sub(n.data);
      else for (const a of n.attributes) a.value = sub(a.value);
    }
    return f;
  };
  const items = (el, box, recs) => {
    const t = el.querySelector(':scope>template[data-presage-item]');
    const n = +el.getAttribute('data-presage-recs') || 4;
    if (t && recs) box.append(...recs.slice(0, n).map((r, k) => fill(t, { item: r.item, score: r.score, rank: k + 1 })));
  };

  /**
   * render shows, in every slot not shown yet, the template of its decision: the first child
   * template whose data-presage-variant or data-presage-campaign matches, or a plain one; with no
   * decision (nothing eligible, the holdout group, a failure, a timeout), data-presage-default.
   * Templates are inert until then, so nothing is replaced under the visitor's eyes, and a slot is
   * rendered once per page: a late answer never changes what was already seen.
   */
  const render = (decisions, recs) => {
    slotEls().forEach((el) => {
      if (ready$(el)) return;
      const slot = el.getAttribute('data-presage-slot');
      const d = decisions && decisions.find((x) => x.slot == slot);
      if (decisions && !d) return;
      const live = d && d.campaign && !d.holdout ? d : null;
      const t = [...el.children].find((t) => {
        const a = t.dataset;
        if (t.tagName != 'TEMPLATE' || 'presageItem' in a) return false;
        if (!live) return 'presageDefault' in a;
        return a.presageVariant == live.variant || a.presageCampaign == live.campaign ||
          !('presageVariant' in a || 'presageCampaign' in a || 'presageDefault' in a);
      });
      const f = t ? fill(t, live || { slot }) : D.createDocumentFragment();
      if (el.hasAttribute('data-presage-recs')) items(el, f.querySelector('[data-presage-items]') || f, recs);
      el.append(f);
      if (live) {
        el.dataset.presageCampaign = live.campaign;
        el.dataset.presageVariant = live.variant;
      }
      el.setAttribute('data-presage-ready', '');
    });
  };

  // ---- learning and bundles ----

  const send = (body) => {
    const url = o.endpoint + 'v1/batches';
    try {
      // keepalive outlives the page like sendBeacon, but unlike it sends no cookie and no
      // referrer: the batch is all the server learns.
      fetch(url, { method: 'POST', body, keepalive: true, credentials: 'omit', referrerPolicy: 'no-referrer' }).catch(() => {});
    } catch (e) {
      navigator.sendBeacon(url, body);
    }
  };
  const flush = safe(() => {
    if (!agent || gpc || level == DENIED || forgotten || !o.endpoint) return;
    const r = raw(OP_DRAIN, encode(request()));
    const b = decode(r)[5];
    // The reply is {5: Batch} alone: its bytes after the two-byte head are the Batch as Go wrote it.
    // Sent when it holds cells (5), a count of lost learning (6) or federated updates (7).
    if (b && (b[5] || b[6] || b[7]) && r[1] == 5) {
      save();
      send(r.subarray(2));
    }
  });
  const refresh = async () => {
    if (!o.key || !o.endpoint || level == DENIED || !crypto.subtle) return;
    const r = await fetch(o.endpoint + 'v1/bundle' + (o.site ? '?site=' + encodeURIComponent(o.site) : ''), { credentials: 'omit' });
    if (!r.ok) return;
    const env = new Uint8Array(await r.arrayBuffer());
    const e = decode(env);
    const signed = new Uint8Array(SIGNED_PREFIX.length + e[1].length);
    signed.set(new TextEncoder().encode(SIGNED_PREFIX));
    signed.set(e[1], SIGNED_PREFIX.length);
    const k = await crypto.subtle.importKey('raw', unb64(o.key), 'Ed25519', false, ['verify']);
    if (!e[3] || !(await crypto.subtle.verify('Ed25519', k, e[3], signed))) throw Error('bad signature');
    await run(() => {
      const err = decode(raw(OP_LOAD_BUNDLE, env))[1];
      if (err && err[1] != CODE_STALE_BUNDLE) throw Error(err[2]);
    });
  };

  /**
   * keep stores the module's decoded bytes in Cache Storage, where the next page compiles them from
   * (module.js): only where the profile is stored in localStorage, so with the consent to store and
   * storage that works, and only a module whose ETag the page can read, so that a newer one replaces
   * it. After each page's first decision the module is fetched again through the HTTP cache, which
   * revalidates it as before (max-age, stale-while-revalidate): a new ETag is stored, the same one
   * costs the response's headers only.
   */
  const keep = async () => {
    const ok = () => W.caches && localStorage.getItem(key);
    if (!ok()) return;
    const c = await caches.open(CACHE);
    const [old, r] = await Promise.all([c.match(o.wasm), fetch(o.wasm, { credentials: 'omit' })]);
    const tag = r.ok && r.headers.get('etag');
    if (tag && ok() && (!old || old.headers.get('etag') != tag)) {
      // One module at a time: a new version, or a module at a new URL, replaces what was kept.
      await caches.delete(CACHE);
      return (await caches.open(CACHE)).put(o.wasm, r);
    }
    r.body && r.body.cancel();
    if (!tag) c.delete(o.wasm);
  };

  // ---- start ----

  const boot = (s) => {
    mark('module');
    call(OP_LOAD_PROFILE, request({ 5: s.p && unb64(s.p) }), true); // a bad profile starts a new one
    const els = slotEls().filter((el) => !ready$(el));
    const recs = Math.max(0, ...els.map((el) => +el.getAttribute('data-presage-recs') || 0));
    // What the dataLayer holds already (a purchase on a thank-you page) goes with the page view, so
    // that this page's decisions and recommendations know it.
    const name = o.layer || 'dataLayer';
    const layer = (W[name] = W[name] || []);
    const events = pageEvents(s).concat(layer.map(fromLayer)).filter(Boolean).slice(0, 64);
    handle(events, [...new Set(els.map((el) => el.getAttribute('data-presage-slot')))].slice(0, 16), recs);
    mark('decided');

    const push = layer.push;
    layer.push = function (...a) {
      a.map(fromLayer).forEach((e) => e && run(() => handle([e])).catch(() => {}));
      return push.apply(this, a);
    };
    D.addEventListener('click', safe((e) => {
      const el = e.target.closest && e.target.closest('[data-presage-track],[data-presage-campaign]');
      if (!el) return;
      const a = attrs(el);
      if (a.track) api.track(a.track, Object.assign(attrs(el.closest('[data-presage-product]')), a)).catch(() => {});
      else if (a.slot) api.track('click', a).catch(() => {});
    }), true);
    W.addEventListener('pagehide', safe(() => {
      flush();
      save(Math.round(visible + (D.hidden ? 0 : performance.now() - since)));
    }));
    D.addEventListener('visibilitychange', safe(() => {
      if (!D.hidden) return (since = performance.now());
      visible += performance.now() - since;
      flush();
    }));
    timer = setInterval(flush, o.interval || 12e4);
    setTimeout(() => {
      refresh().catch((e) => console.warn('presage: bundle not refreshed:', e));
      keep().catch(() => {});
    }, 50);
  };
  const start = () => {
    const m = open(o.wasm, CACHE);
    // The stored profile is read while the module loads: a page's first access to localStorage
    // waits on the browser.
    const s = stored();
    ready = Promise.all([m, dom])
      .then(([a]) => {
        agent = a;
        boot(s);
      })
      .catch(fail);
    setTimeout(() => dom.then(() => render()), o.timeout || 1500);
  };

  // ---- the API ----

  /** track records one event ('add_to_cart', {item, category, price, quantity}, …): the answer. */
  api.track = (name, props) => run(() => handle([toEvent(name, props || {})]));

  /** consent sets the visitor's level: 'denied' erases the stored profile at once. */
  api.consent = (l) => {
    const n = LEVELS.indexOf(l) + 1;
    if (!n) return Promise.reject(Error('presage: consent is one of ' + LEVELS));
    level = n;
    if (n == DENIED) {
      wipe();
      clearInterval(timer);
    } else if (!ready) start();
    return run(() => handle([consentEvent()]));
  };

  /** on subscribes to 'decision', 'segment', 'lifecycle', 'scores' or 'moment'; what already happened is replayed. */
  api.on = (type, f) => {
    (handlers[type] = handlers[type] || []).push(f);
    (sticky[type] || []).forEach((d) => deliver(f, d));
    return api;
  };

  /** recommend returns n recommendations; with a slot, they replace its [data-presage-items]. */
  api.recommend = (slot, n) =>
    run(() => {
      const recs = handle([], null, (n = n || 4)).recs.slice(0, n);
      slotEls().forEach((el) => {
        const box = el.getAttribute('data-presage-slot') == slot && el.querySelector('[data-presage-items]');
        if (box) {
          box.replaceChildren();
          items(el, box, recs);
        }
      });
      return recs;
    });

  /** explain says why each slot shows what it shows: every campaign considered and its checks. */
  api.explain = () =>
    run(() => {
      const e = nm(why || call(OP_EXPLAIN)[6], 'time slots drivers');
      e.slots = (e.slots || []).map((s) => {
        s = nm(s, 'slot campaign chosen checks');
        s.checks = (s.checks || []).map((c) => ((c = nm(c, 'kind name value lo hi pass')), (c.kind = CHECKS[c.kind]), c));
        return s;
      });
      e.drivers = (e.drivers || []).map((d) => nm(d, 'model feature contribution'));
      return e;
    });

  /** info describes the bundle serving (wire.BundleInfo). */
  api.info = () => run(() => nm(call(OP_INFO)[2], 'format version created expires site models segments campaigns items categories features'));

  /** forget erases the visitor: the stored profile now, the module's profile and learning next. */
  api.forget = () => {
    forgotten = true;
    wipe();
    return run(() => {
      call(OP_FORGET, request());
    });
  };

  // Started in a microtask, so that calls queued before the script loaded (consent first) apply.
  // Denied from the start: the tag stays inert (no download, no storage) and slots show defaults.
  Promise.resolve().then(() => (level == DENIED ? dom.then(() => render()) : ready || start()));
  return api;
}
