// A CBOR (RFC 8949) subset for the module's wire types (agent/wire), and nothing more: unsigned and
// negative integers, float64 out, float32/float64 in, text and byte strings, arrays, maps with small
// integer keys, booleans and null. The module speaks CBOR with integer keys; a general codec would
// cost the script tag more than the rest of it.
//
// Values are plain JavaScript: a wire struct is an object whose keys are its CBOR keys ({1: now,
// 3: [...]}), a byte string a Uint8Array. Integer-like object keys enumerate in ascending order
// (ECMAScript's OrdinaryOwnPropertyKeys), which is the order Go's encoders write, so a struct
// encodes to the bytes Go writes for it, except that an integral float64 is written as an integer:
// JavaScript cannot tell 30 from 30.0, and the module's decoder accepts an integer wherever a float
// holds it exactly (internal/minicbor, Float64). jsbridge's browser tests check both directions
// against Go's codec on random wire values.

const utf8In = new TextEncoder();
const utf8Out = new TextDecoder();

/**
 * Encodes v. Object properties that are undefined or null are left out, as Go leaves out empty
 * fields tagged omitempty; integers up to 2^53 are exact, other numbers are float64.
 * @param {*} v
 * @returns {Uint8Array}
 */
export function encode(v) {
  const out = [];
  const head = (major, n) => {
    major <<= 5;
    if (n < 24) out.push(major | n);
    else if (n < 256) out.push(major | 24, n);
    else if (n < 65536) out.push(major | 25, n >> 8, n & 255);
    else if (n < 4294967296) out.push(major | 26, n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255);
    else {
      const hi = Math.floor(n / 4294967296);
      out.push(major | 27, hi >>> 24, (hi >> 16) & 255, (hi >> 8) & 255, hi & 255,
        n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255);
    }
  };
  const item = (v) => {
    if (typeof v == 'number') {
      if (Number.isSafeInteger(v)) head(v < 0 ? 1 : 0, v < 0 ? -1 - v : v);
      else {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setFloat64(0, v);
        out.push(0xfb, ...b);
      }
    } else if (typeof v == 'string') {
      const b = utf8In.encode(v);
      head(3, b.length);
      out.push(...b);
    } else if (typeof v == 'boolean') out.push(v ? 0xf5 : 0xf4);
    else if (v == null) out.push(0xf6);
    else if (v instanceof Uint8Array) {
      head(2, v.length);
      out.push(...v);
    } else if (Array.isArray(v)) {
      head(4, v.length);
      v.forEach(item);
    } else {
      const keys = Object.keys(v).filter((k) => v[k] != null);
      head(5, keys.length);
      keys.forEach((k) => {
        head(0, +k);
        item(v[k]);
      });
    }
  };
  item(v);
  return new Uint8Array(out);
}

/**
 * Decodes one CBOR item that fills b. It throws on anything outside the subset (tags, indefinite
 * lengths, half floats, simple values) and on truncated or trailing bytes, and never allocates more
 * than the input could hold: a bundle fetched from the network passes through it before its
 * signature is checked.
 * @param {Uint8Array} b
 * @returns {*}
 */
export function decode(b) {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let i = 0;
  const take = (n) => {
    if (n > b.length - i) throw Error('cbor: truncated');
    i += n;
    return i - n;
  };
  const item = (depth) => {
    if (depth > 32) throw Error('cbor: too deep');
    const ib = b[take(1)];
    const major = ib >> 5;
    const ai = ib & 31;
    if (ib == 0xfa) return dv.getFloat32(take(4));
    if (ib == 0xfb) return dv.getFloat64(take(8));
    if (ib > 0xf3 && ib < 0xf7) return [false, true, null][ib - 0xf4];
    if (major > 5 || ai > 27) throw Error('cbor: unsupported 0x' + ib.toString(16));
    let n = ai;
    if (ai == 24) n = b[take(1)];
    else if (ai == 25) n = dv.getUint16(take(2));
    else if (ai == 26) n = dv.getUint32(take(4));
    else if (ai == 27) n = dv.getUint32(take(8)) * 4294967296 + dv.getUint32(i - 4);
    if (major < 2) return major ? -1 - n : n;
    if (major == 2) return b.slice(take(n), i);
    if (major == 3) return utf8Out.decode(b.subarray(take(n), i));
    if (n > b.length - i) throw Error('cbor: truncated');
    if (major == 4) {
      const a = [];
      while (n--) a.push(item(depth + 1));
      return a;
    }
    const o = {};
    while (n--) {
      const k = item(depth + 1);
      if (typeof k != 'number' || k in o) throw Error('cbor: bad key');
      o[k] = item(depth + 1);
    }
    return o;
  };
  const v = item(0);
  if (i != b.length) throw Error('cbor: trailing bytes');
  return v;
}
