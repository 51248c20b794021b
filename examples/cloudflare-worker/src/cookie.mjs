// The profile cookie, in the format of runtime/edge (Go), so that a Worker and a Go edge proxy read
// each other's cookies: base64url (no padding) of format (1 byte: 1 plain, 2 raw DEFLATE) | payload
// | HMAC-SHA256(key, name | 0x00 | format | payload) truncated to 16 bytes. Keys: the first signs,
// any verifies (rotation without logging anyone out).

const TAG = 16;
const PLAIN = 1;
const DEFLATE = 2;
const MAX_INFLATED = 64 << 10;
const utf8 = new TextEncoder();

export class CookieCodec {
  /**
   * @param {string} name the cookie's name (bound into the tag)
   * @param {Uint8Array[]} keys HMAC keys, the signing key first; each at least 16 bytes
   * @param {number} maxLen the largest value, in characters (4096)
   */
  constructor(name, keys, maxLen = 4096) {
    if (!keys.length || keys.some((k) => k.length < 16)) throw new Error('presage: cookie keys must be at least 16 bytes');
    this.name = name;
    this.maxLen = maxLen;
    this.keys = Promise.all(keys.map((k) => crypto.subtle.importKey('raw', k, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])));
  }

  async tag(key, body) {
    const msg = new Uint8Array(this.name.length + 1 + body.length);
    msg.set(utf8.encode(this.name));
    msg.set(body, this.name.length + 1);
    return new Uint8Array(await crypto.subtle.sign('HMAC', key, msg)).subarray(0, TAG);
  }

  /** Returns the profile in value, or null when the value is not one of ours. */
  async decode(value) {
    if (!value || value.length > this.maxLen * 2) return null;
    let raw;
    try {
      raw = fromBase64url(value);
    } catch {
      return null;
    }
    if (raw.length < 1 + TAG) return null;
    const body = raw.subarray(0, raw.length - TAG);
    const tag = raw.subarray(raw.length - TAG);
    let ok = false;
    for (const k of await this.keys) {
      if (equal(await this.tag(k, body), tag)) {
        ok = true;
        break;
      }
    }
    if (!ok) return null;
    if (body[0] === PLAIN) return body.slice(1);
    if (body[0] === DEFLATE) {
      try {
        return await inflate(body.subarray(1));
      } catch {
        return null;
      }
    }
    return null;
  }

  /** Returns {value, compressed}, or null when the profile does not fit even compressed. */
  async encode(profile) {
    let v = await this.seal(PLAIN, profile);
    if (v) return { value: v, compressed: false };
    v = await this.seal(DEFLATE, await deflate(profile));
    return v ? { value: v, compressed: true } : null;
  }

  async seal(format, payload) {
    const n = 1 + payload.length + TAG;
    if (Math.ceil((n * 4) / 3) > this.maxLen) return null;
    const body = new Uint8Array(n);
    body[0] = format;
    body.set(payload, 1);
    const [k] = await this.keys;
    body.set(await this.tag(k, body.subarray(0, n - TAG)), n - TAG);
    return toBase64url(body);
  }
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export function toBase64url(b) {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function fromBase64url(s) {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new Error('not base64url');
  const bin = atob(s.replaceAll('-', '+').replaceAll('_', '/'));
  const b = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
  return b;
}

async function pipe(bytes, stream, limit) {
  const out = [];
  let n = 0;
  const reader = new Blob([bytes]).stream().pipeThrough(stream).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > limit) {
      reader.cancel();
      throw new Error('inflates too far');
    }
    out.push(value);
  }
  const b = new Uint8Array(n);
  let off = 0;
  for (const c of out) b.set(c, off), (off += c.length);
  return b;
}

const deflate = (b) => pipe(b, new CompressionStream('deflate-raw'), Infinity);
const inflate = (b) => pipe(b, new DecompressionStream('deflate-raw'), MAX_INFLATED);
