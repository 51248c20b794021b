// Replays the conformance vectors in Node, with Node's built-in WASI (node:wasi) or with this
// example's own shim (src/wasi.mjs), one fresh instance per vector, and prints
// {"imports": [...], "shim": [...], "vectors": [{"file", "replies": [hex…], "error"?}]} for the Go
// test to compare byte for byte.
//
//   node test/node-conformance.mjs <generic presage.wasm> <vector.json>... [--shim]
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import { Presage } from '../src/abi.mjs';
import { provided } from '../src/wasi.mjs';

const args = process.argv.slice(2);
const useShim = args.includes('--shim');
const [wasmPath, ...files] = args.filter((a) => a !== '--shim');
const module = new WebAssembly.Module(readFileSync(wasmPath));
const hex = (b) => Buffer.from(b).toString('hex');

/** An instance under node:wasi, driven through the same ABI wrapper as the Worker's. */
function nodeWASI() {
  const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: false });
  const instance = new WebAssembly.Instance(module, wasi.getImportObject());
  wasi.initialize(instance); // runs _initialize
  const p = Object.create(Presage.prototype);
  p.instance = instance;
  p.exports = instance.exports;
  return p;
}

const vectors = [];
for (const file of files) {
  const v = JSON.parse(readFileSync(file, 'utf8'));
  const replies = [];
  try {
    const p = useShim ? new Presage(module) : nodeWASI();
    for (const c of v.calls) replies.push(hex(p.call(c.op >>> 0, Buffer.from(c.request_hex, 'hex'))));
    vectors.push({ file, replies });
  } catch (err) {
    vectors.push({ file, replies, error: String(err && err.stack || err) });
  }
}
const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`);
process.stdout.write(JSON.stringify({ imports, shim: provided.map((n) => `wasi_snapshot_preview1.${n}`), vectors }));
