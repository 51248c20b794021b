// The Presage module in a Cloudflare Worker (module syntax): the visitor's profile in a first-party
// cookie, decisions sent to the origin as Presage-* request headers, slots (data-presage-slot) filled
// with HTMLRewriter, and the learning posted to the sync server after the response (waitUntil).
//
// Bindings (wrangler.toml [vars] / capnp bindings):
//   COOKIE_KEYS      hex HMAC keys, comma-separated, the signing key first (a secret: wrangler secret put)
//   SLOTS            the slots of the site's pages, comma-separated (default popin,banner,carousel)
//   ORIGIN           optional service binding to the origin; without it, fetch(request) goes to the
//                    zone's origin as usual
//   SYNC or SYNC_URL optional: a service binding, or the sync server's base URL, for POST /v1/batches
//   COOKIE_NAME      default "presage"; INSECURE_COOKIE=1 drops Secure (plain-HTTP development)
//   INLINE_JSON=1    also insert the decisions as <script type="application/json" id="presage-decisions">
//   HTML_CONTENT=1   insert a variant's content as HTML instead of text
//   INSTANCE         "reuse" (default) or "per-request" (a fresh instance each request, to measure)
//   DEBUG_HEADERS=1  add Presage-Debug to responses (visitor kind, instance reuse)
//
// workerd refuses WebAssembly.compile(bytes) at request time, so the module is imported as a wasm
// module binding (wrangler bundles "*.wasm" imports as such); it refuses random values at global
// scope, and Go's runtime asks for some as it starts, so the instance is created inside the first
// request, and every request seeds the agent with fresh random bits (crypto.getRandomValues).

import presageWasm from './presage.wasm';
import { Presage, Op } from './abi.mjs';
import { encode, decode, rawField } from './cbor.mjs';
import { CookieCodec } from './cookie.mjs';

// One instance per isolate, created lazily and reused by every request: instantiating costs
// milliseconds (the Go runtime starts), a call tens of microseconds. Requests of one isolate may
// run concurrently while they await I/O, but each request's module calls (load profile, handle,
// drain, save) run synchronously, back to back, so they never interleave on the instance.
let shared = null;
let codec = null;
let codecKeys = null;
const stats = { instances: 0 };

const STAGES = ['prospect', 'lead', 'new', 'loyal', 'at_risk', 'lapsed'];
const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);
const PREFIX = 'presage-';

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    for (const k of [...headers.keys()]) if (k.startsWith(PREFIX)) headers.delete(k); // no forged decisions
    if (!isPage(request)) return originFetch(env, new Request(request, { headers }));

    const name = env.COOKIE_NAME || 'presage';
    const c = cookieCodec(env, name);
    const cookie = readCookie(request.headers.get('cookie'), name);
    const profile = cookie ? await c.decode(cookie) : null;
    let kind = profile ? 'returning' : cookie ? 'bad-cookie' : 'new';

    let result;
    let reused = shared != null;
    try {
      const p = env.INSTANCE === 'per-request' ? newInstance() : (shared ??= newInstance());
      if (env.INSTANCE === 'per-request') reused = false;
      result = decide(p, env, request, url, profile, kind);
      if (result.badProfile) kind = 'bad-profile';
    } catch (err) {
      shared = null; // a trap or an exit: never reuse the instance
      console.error('presage: module failed, serving unpersonalised:', err);
      return originFetch(env, new Request(request, { headers }));
    }

    const ans = result.answer;
    for (const d of ans.decisions) {
      if (!d.campaign) continue;
      headers.set(`${PREFIX}decision-${headerSafe(d.slot)}`, d.holdout ? `${d.campaign}; holdout` : `${d.campaign}/${d.variant}`);
    }
    headers.set(`${PREFIX}stage`, ans.stage);
    if (ans.segments.length) headers.set(`${PREFIX}segments`, ans.segments.join(', '));

    if (result.batch && (env.SYNC || env.SYNC_URL)) ctx.waitUntil(postBatch(env, result.batch));
    const setCookie = await cookieHeader(c, env, name, result, cookie != null);

    const originResp = await originFetch(env, new Request(request, { headers }));
    const resp = new Response(originResp.body, originResp);
    if (setCookie) resp.headers.append('set-cookie', setCookie);
    resp.headers.set('cache-control', 'private, no-cache'); // never shared: the page is this visitor's
    resp.headers.append('vary', 'Cookie');
    if (env.DEBUG_HEADERS === '1') {
      resp.headers.set('presage-debug', `${kind}; instance=${reused ? 'reused' : 'new'}; instances=${stats.instances}`);
    }
    if (!/^(text\/html|application\/xhtml\+xml)/i.test(resp.headers.get('content-type') || '')) return resp;
    return rewrite(resp, ans, env);
  },
};

function newInstance() {
  stats.instances++;
  return new Presage(presageWasm);
}

function cookieCodec(env, name) {
  if (codec && codecKeys === env.COOKIE_KEYS) return codec;
  const keys = (env.COOKIE_KEYS || '').split(',').filter(Boolean).map(hexBytes);
  codec = new CookieCodec(name, keys, 4096);
  codecKeys = env.COOKIE_KEYS;
  return codec;
}

/** The module's work for one request, synchronous from start to end (see shared above). */
function decide(p, env, request, url, profile, kind) {
  const now = Date.now();
  const seeds = new Uint32Array(6);
  crypto.getRandomValues(seeds);
  const seed = (i) => (seeds[i] & 0x1fffff) * 0x100000000 + seeds[i + 1]; // 53 fresh bits
  let badProfile = false;
  const lp = decode(p.call(Op.loadProfile, encode({ 1: now, 2: seed(0), 5: profile ?? undefined })));
  if (lp[1]) {
    if (lp[1][1] !== 8) throw new Error(`load profile: ${lp[1][2]}`); // 8: bad profile, a new one was started
    badProfile = true;
  }
  const returning = kind === 'returning' && !badProfile;
  const slots = (env.SLOTS || 'popin,banner,carousel').split(',').map((s) => s.trim()).filter(Boolean);
  const reply = decode(p.call(Op.handle, encode({ 1: now, 2: seed(2), 3: requestEvents(request, url, now, returning), 4: slots })));
  if (reply[1]) throw new Error(`handle: ${reply[1][2]}`);
  const a = reply[3];
  const answer = {
    stage: STAGES[a[1]] ?? 'unknown',
    segments: a[4] ?? [],
    decisions: (a[7] ?? []).map((d) => ({ slot: d[1], campaign: d[2] ?? '', variant: d[3] ?? '', content: d[4] ?? '', holdout: !!d[5] })),
  };
  const drain = () => {
    const r = p.call(Op.drain, encode({ 1: now, 2: seed(4) }));
    const b = decode(r)[5];
    return b && ((b[5] && b[5].length) || b[6]) ? rawField(r, 5).slice() : null;
  };
  const sync = !!(env.SYNC || env.SYNC_URL);
  const batch = sync ? drain() : null;
  const save = () => {
    const s = decode(p.call(Op.saveProfile, new Uint8Array(0)));
    if (s[1]) throw new Error(`save profile: ${s[1][2]}`);
    return s[4] ? s[4].slice() : null; // no profile: consent denied
  };
  let saved = save();
  if (!sync && saved && Math.ceil(((saved.length + 17) * 4) / 3) > 4096) {
    // It would not fit plain: without a sync server the learning in it can never leave, so it goes
    // first (synchronously, while the instance is still this visitor's), then the cookie is tried
    // compressed by the caller.
    drain();
    saved = save();
  }
  return { answer, batch, badProfile, profile: saved };
}

async function cookieHeader(c, env, name, result, hadCookie) {
  const attrs = `; Path=/; HttpOnly; SameSite=Lax${env.INSECURE_COOKIE === '1' ? '' : '; Secure'}`;
  if (result.profile == null) return hadCookie ? `${name}=${attrs}; Max-Age=0` : null;
  const enc = await c.encode(result.profile);
  if (!enc) {
    console.warn('presage: profile does not fit the cookie even compressed: not stored');
    return null;
  }
  return `${name}=${enc.value}${attrs}; Max-Age=${400 * 24 * 3600}`;
}

function rewrite(resp, ans, env) {
  const bySlot = new Map(ans.decisions.filter((d) => d.campaign).map((d) => [d.slot, d]));
  let rw = new HTMLRewriter().on('[data-presage-slot]', {
    element(el) {
      const d = bySlot.get(el.getAttribute('data-presage-slot'));
      if (!d) return;
      el.setAttribute('data-presage-campaign', d.campaign);
      if (d.holdout) {
        el.setAttribute('data-presage-holdout', '');
        return;
      }
      el.setAttribute('data-presage-variant', d.variant);
      if (!VOID.has(el.tagName) && !el.selfClosing) el.setInnerContent(d.content, { html: env.HTML_CONTENT === '1' });
    },
  });
  if (env.INLINE_JSON === '1') {
    const json = JSON.stringify({ stage: ans.stage, segments: ans.segments.length ? ans.segments : undefined, decisions: ans.decisions })
      .replaceAll('<', '\\u003c').replaceAll('>', '\\u003e').replaceAll('&', '\\u0026');
    rw = rw.on('head', {
      element(el) {
        el.append(`<script type="application/json" id="presage-decisions">${json}</script>`, { html: true });
      },
    });
  }
  return rw.transform(resp);
}

async function postBatch(env, batch) {
  const init = { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: batch };
  try {
    const r = env.SYNC ? await env.SYNC.fetch('http://sync/v1/batches', init) : await fetch(env.SYNC_URL.replace(/\/+$/, '') + '/v1/batches', init);
    if (!r.ok) console.error(`presage: sync refused a batch: ${r.status}`);
  } catch (err) {
    console.error('presage: sync unreachable, batch lost:', err); // counted in the Worker's logs
  }
}

function originFetch(env, req) {
  return env.ORIGIN ? env.ORIGIN.fetch(req) : fetch(req);
}

function isPage(r) {
  if (r.method !== 'GET' && r.method !== 'HEAD') return false;
  const dest = r.headers.get('sec-fetch-dest');
  if (dest) return dest === 'document';
  return (r.headers.get('accept') || '').includes('text/html');
}

function readCookie(header, name) {
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

/** What a request alone tells, as runtime/edge's RequestEvents does. */
function requestEvents(r, url, now, returning) {
  const evs = [];
  if (r.headers.get('sec-gpc') === '1') evs.push({ 1: 11, 2: now, 12: 2 }); // consent: local
  let ref = '';
  try {
    const u = new URL(r.headers.get('referer') || '');
    if (u.hostname.toLowerCase() !== url.hostname.toLowerCase()) ref = u.hostname.toLowerCase();
  } catch {}
  const q = url.search.includes('utm_') ? url.searchParams : null;
  let arrival = !returning || q != null;
  const site = r.headers.get('sec-fetch-site');
  if (site === 'cross-site' || site === 'none') arrival = true;
  else if (site !== 'same-origin' && site !== 'same-site') arrival ||= ref !== '';
  if (arrival) {
    const ev = { 1: 10, 2: now, 11: device(r.headers.get('user-agent') || ''), 14: ref || undefined };
    if (q) Object.assign(ev, { 15: q.get('utm_source') || undefined, 16: q.get('utm_medium') || undefined, 17: q.get('utm_term') || undefined });
    if (!ev[14] && !ev[15] && !ev[16]) ev[10] = 1; // direct
    evs.push(ev);
  }
  evs.push({ 1: 1, 2: now, 3: pageType(url.pathname) });
  for (const e of evs) for (const k of Object.keys(e)) if (e[k] === 0 || e[k] === undefined) delete e[k];
  return evs;
}

function pageType(path) {
  if (path === '' || path === '/') return 1;
  let seg = path.replace(/^\//, '').toLowerCase().split('/')[0].replace(/\.html$/, '');
  const t = {
    product: 3, products: 3, p: 3, item: 3, items: 3, category: 2, categories: 2, c: 2, collections: 2, shop: 2,
    search: 4, cart: 5, basket: 5, bag: 5, checkout: 6, account: 8, login: 8, profile: 8, blog: 7, content: 7, pages: 7, about: 7,
  };
  return t[seg] ?? 0;
}

function device(ua) {
  if (!ua) return 0;
  if (ua.includes('iPad') || ua.includes('Tablet')) return 3;
  if (ua.includes('Mobi') || ua.includes('Android')) return 2;
  return 1;
}

function headerSafe(s) {
  return s.replace(/[^A-Za-z0-9!#$%&'*+.^_`|~-]/g, '-') || '-';
}

function hexBytes(h) {
  h = h.trim();
  const b = new Uint8Array(h.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(h.substr(2 * i, 2), 16);
  return b;
}
