// The entry point of presage.mjs, for bundlers and <script type="module">:
//
//   import { create } from './presage.mjs';
//   const presage = create({ site: 'shop-1', wasm: '/presage.wasm', endpoint: '/' });
//
// It also exports the layers under the tag: open (the module through the WASI shim) and the CBOR
// codec, which jsbridge's browser tests drive directly (conformance corpus, codec differential).

export { create } from './presage.js';
export { open } from './module.js';
export { encode, decode } from './cbor.js';
