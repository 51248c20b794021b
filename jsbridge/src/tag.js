// The entry point of presage.js, the classic script tag:
//
//   <script src="https://sync.example/presage.js" data-site="shop-1" async></script>
//
// Options come from the tag's data-* attributes (see create in presage.js); the module defaults to
// the script's own directory and the sync endpoint to the server's base (the directory above v1/
// when the script is the server's v1/presage.js), since the sync server serves all three. Calls made
// before the script ran can be queued in an array, window.presage = [['consent', 'local'], …],
// and are replayed in order. The API is window.presage.

import { create } from './presage.js';

(() => {
  const q = window.presage;
  if (q && q.track) return; // loaded twice
  const s = document.currentScript;
  const a = (n) => s && s.getAttribute('data-' + n);
  const base = (s && s.src) || location.href;
  let endpoint = a('endpoint');
  // The sync server serves the tag as v1/presage.js: its base is the directory above v1/.
  endpoint = endpoint == null ? new URL(/\/v1\/presage\.js$/.test(new URL(base).pathname) ? '..' : '.', base).href : endpoint && new URL(endpoint, base).href.replace(/\/?$/, '/');
  const api = (window.presage = create({
    site: a('site'),
    wasm: new URL(a('wasm') || 'presage.wasm', base).href,
    endpoint,
    key: a('key'),
    consent: a('consent'),
    interval: +a('interval'),
    timeout: +a('timeout'),
    layer: a('layer'),
  }));
  if (Array.isArray(q)) q.forEach(([m, ...args]) => api[m] && api[m](...args));
})();
