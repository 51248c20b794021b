// Exercises src/cookie.mjs in Node (same WebCrypto and CompressionStream as workerd) and prints
// {"checks": {name: bool}, "compressed": value} for the Go test: round trips plain and compressed,
// tampering, unknown keys, rotation, and a compressed value for the Go edge to read.
//
//   node test/cookie-check.mjs <hex key>
import { CookieCodec, fromBase64url } from '../src/cookie.mjs';

const hex = (h) => Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16));
const key = hex(process.argv[2]);
const oldKey = new Uint8Array(32).fill(1);
const codec = new CookieCodec('presage', [key, oldKey]);
const oldCodec = new CookieCodec('presage', [oldKey]);
const stranger = new CookieCodec('presage', [new Uint8Array(32).fill(9)]);
const otherName = new CookieCodec('other', [key]);

const small = Uint8Array.from([0xa2, 1, 2, 3, 4]);
const big = new TextEncoder().encode('campaign-with-a-long-id/variant;'.repeat(120)); // 3,840 B
const random = crypto.getRandomValues(new Uint8Array(3500));
const same = (a, b) => a != null && a.length === b.length && a.every((x, i) => x === b[i]);

const plain = await codec.encode(small);
const packed = await codec.encode(big);
const raw = fromBase64url(plain.value);
raw[1] ^= 1;
const tampered = btoa(String.fromCharCode(...raw)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
const checks = {
  plainRoundTrip: !plain.compressed && same(await codec.decode(plain.value), small),
  compressedRoundTrip: packed.compressed && packed.value.length <= 4096 && same(await codec.decode(packed.value), big),
  tamperedRejected: (await codec.decode(tampered)) === null,
  unknownKeyRejected: (await codec.decode((await stranger.encode(small)).value)) === null,
  otherNameRejected: (await codec.decode((await otherName.encode(small)).value)) === null,
  oldKeyAccepted: same(await codec.decode((await oldCodec.encode(small)).value), small),
  incompressibleRefused: (await codec.encode(random)) === null,
  garbageRejected: (await codec.decode('%%%')) === null && (await codec.decode('')) === null,
};
process.stdout.write(JSON.stringify({ checks, compressed: packed.value }));
