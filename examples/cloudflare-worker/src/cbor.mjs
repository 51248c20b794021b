// The CBOR subset of the module's wire types (agent/wire): integers, float64 out and float32/64 in,
// text and byte strings, arrays, maps with small integer keys, booleans and null. A wire struct is an
// object keyed by its CBOR keys ({1: now, 3: [...]}); integer-like keys enumerate in ascending order,
// the order Go writes. An integral number is written as an integer: the module's decoder takes an
// integer wherever a float holds it exactly.

const utf8 = new TextEncoder();
const utf8Out = new TextDecoder('utf-8', { fatal: true });

/** Encodes v; object properties that are undefined or null are omitted (Go's omitempty). */
export function encode(v) {
  const out = [];
  const head = (major, n) => {
    major <<= 5;
    if (n < 24) out.push(major | n);
    else if (n < 0x100) out.push(major | 24, n);
    else if (n < 0x10000) out.push(major | 25, n >> 8, n & 255);
    else if (n < 0x100000000) out.push(major | 26, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
    else {
      const hi = Math.floor(n / 0x100000000);
      const lo = n >>> 0;
      out.push(major | 27, hi >>> 24, (hi >>> 16) & 255, (hi >>> 8) & 255, hi & 255,
        lo >>> 24, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255);
    }
  };
  const push = (b) => {
    for (let i = 0; i < b.length; i++) out.push(b[i]);
  };
  const item = (v) => {
    if (typeof v == 'number') {
      if (Number.isSafeInteger(v)) head(v < 0 ? 1 : 0, v < 0 ? -1 - v : v);
      else {
        const b = new Uint8Array(9);
        b[0] = 0xfb;
        new DataView(b.buffer).setFloat64(1, v);
        push(b);
      }
    } else if (typeof v == 'string') {
      const b = utf8.encode(v);
      head(3, b.length);
      push(b);
    } else if (typeof v == 'boolean') out.push(v ? 0xf5 : 0xf4);
    else if (v instanceof Uint8Array) {
      head(2, v.length);
      push(v);
    } else if (Array.isArray(v)) {
      head(4, v.length);
      v.forEach(item);
    } else if (v == null) out.push(0xf6);
    else {
      const keys = Object.keys(v).filter((k) => v[k] != null);
      head(5, keys.length);
      for (const k of keys) {
        head(0, Number(k));
        item(v[k]);
      }
    }
  };
  item(v);
  return Uint8Array.from(out);
}

/** Decodes one CBOR value; maps become objects keyed by their integer keys. Throws on what it does not read. */
export function decode(b) {
  const d = new Decoder(b);
  const v = d.value();
  if (d.pos !== b.length) throw new Error('cbor: trailing bytes');
  return v;
}

/** Returns the raw bytes of field key of the top-level map in b (e.g. Reply.Batch), or null. */
export function rawField(b, key) {
  const d = new Decoder(b);
  const n = d.head(5);
  for (let i = 0; i < n; i++) {
    const k = d.value();
    const start = d.pos;
    d.value();
    if (k === key) return b.subarray(start, d.pos);
  }
  return null;
}

class Decoder {
  constructor(b) {
    this.b = b;
    this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.pos = 0;
  }
  arg(info) {
    const v = this.v;
    let n;
    if (info < 24) return info;
    if (info === 24) n = v.getUint8(this.pos), this.pos += 1;
    else if (info === 25) n = v.getUint16(this.pos), this.pos += 2;
    else if (info === 26) n = v.getUint32(this.pos), this.pos += 4;
    else if (info === 27) n = v.getUint32(this.pos) * 0x100000000 + v.getUint32(this.pos + 4), this.pos += 8;
    else throw new Error('cbor: indefinite length or reserved');
    return n;
  }
  head(major) {
    const ib = this.v.getUint8(this.pos++);
    if (ib >> 5 !== major) throw new Error(`cbor: major type ${ib >> 5}, want ${major}`);
    return this.arg(ib & 31);
  }
  value() {
    const ib = this.v.getUint8(this.pos++);
    const major = ib >> 5;
    const info = ib & 31;
    switch (major) {
      case 0: return this.arg(info);
      case 1: return -1 - this.arg(info);
      case 2: {
        const n = this.arg(info);
        const s = this.b.subarray(this.pos, this.pos + n);
        this.pos += n;
        return s;
      }
      case 3: {
        const n = this.arg(info);
        const s = utf8Out.decode(this.b.subarray(this.pos, this.pos + n));
        this.pos += n;
        return s;
      }
      case 4: {
        const n = this.arg(info);
        const a = [];
        for (let i = 0; i < n; i++) a.push(this.value());
        return a;
      }
      case 5: {
        const n = this.arg(info);
        const o = {};
        for (let i = 0; i < n; i++) {
          const k = this.value();
          o[k] = this.value();
        }
        return o;
      }
      case 7: {
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22 || info === 23) return null;
        if (info === 26) {
          const f = this.v.getFloat32(this.pos);
          this.pos += 4;
          return f;
        }
        if (info === 27) {
          const f = this.v.getFloat64(this.pos);
          this.pos += 8;
          return f;
        }
      }
    }
    throw new Error(`cbor: unsupported initial byte 0x${ib.toString(16)}`);
  }
}
