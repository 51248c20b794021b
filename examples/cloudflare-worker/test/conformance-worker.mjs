// A test-only Worker that replays conformance vectors (testdata/vectors, see conformance/doc.go) in
// workerd: POST a vector's JSON, get {"replies": [hex…]} from a fresh instance of the generic module
// (no bundle inside: every vector loads its own), or {"error": …, "replies": […]} when the instance
// failed. The Go test compares the replies with the vector's, byte for byte.
//
// GET /bench?n=N times N visits of one returning visitor on one reused instance of the module with
// the demo bundle inside (load profile, handle an arrival and a page view, save profile: what the
// Worker does per page), and answers {"n", "ms"}: the module's cost per request inside workerd.
import generic from './presage-generic.wasm';
import demo from './presage.wasm';
import { Presage, Op } from './abi.mjs';
import { encode, decode } from './cbor.mjs';

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

let benchInstance = null;

function bench(n) {
  const p = (benchInstance ??= new Presage(demo));
  let profile;
  const seed = new Uint32Array(2);
  const start = Date.now();
  for (let i = 0; i < n; i++) {
    const now = Date.now();
    crypto.getRandomValues(seed);
    p.call(Op.loadProfile, encode({ 1: now, 2: seed[0], 5: profile }));
    const events = [{ 1: 10, 2: now, 10: 1 }, { 1: 1, 2: now, 3: 1 }];
    const r = decode(p.call(Op.handle, encode({ 1: now, 2: seed[1] + 1, 3: events, 4: ['popin', 'banner', 'carousel'] })));
    if (r[1]) throw new Error(r[1][2]);
    profile = decode(p.call(Op.saveProfile, new Uint8Array(0)))[4]?.slice();
  }
  return { n, ms: Date.now() - start, profileBytes: profile?.length ?? 0 };
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/__ready') return new Response(null, { status: 204 });
    if (url.pathname === '/bench') return Response.json(bench(Number(url.searchParams.get('n') || 100)));
    const v = await request.json();
    const replies = [];
    const lines = [];
    try {
      const p = new Presage(generic, { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) });
      for (const c of v.calls) replies.push(hex(p.call(c.op >>> 0, unhex(c.request_hex))));
      return Response.json({ replies });
    } catch (err) {
      return Response.json({ replies, error: String(err), output: lines });
    }
  },
};
