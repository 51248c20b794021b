// The module's byte-level ABI (.plan/CONTRACTS.md): presage_input(n) gives a buffer, presage_call(op, n)
// runs an operation on it, presage_output() is where the reply of length n is. One Presage is one
// instance: single-threaded, so calls must not interleave (a Worker's calls are synchronous and
// never await between load, handle and save, which is what makes one instance per isolate safe).

import { wasi } from './wasi.mjs';

export const Op = { info: 1, loadBundle: 2, loadProfile: 3, saveProfile: 4, handle: 5, drain: 6, explain: 7, forget: 8 };

export class Presage {
  /**
   * Instantiates module (a WebAssembly.Module: workerd only allows modules bundled with the Worker,
   * never compiled from bytes at request time) and starts the Go runtime. Must run inside a request
   * in workerd: the Go runtime asks for random bytes as it starts.
   * @param {WebAssembly.Module} module
   * @param {object} [io] where the module's stdout and stderr lines go
   */
  constructor(module, io) {
    const w = wasi(io);
    this.instance = new WebAssembly.Instance(module, w.imports);
    this.exports = this.instance.exports;
    w.setMemory(this.exports.memory);
    this.exports._initialize();
    if (this.exports.presage_abi() !== 1) throw new Error('presage: module ABI is not 1');
  }

  /**
   * Runs op on the request bytes and returns a copy of the reply (a CBOR wire.Reply). Throws when
   * the instance failed (a trap, proc_exit): the caller must drop it.
   * @param {number} op
   * @param {Uint8Array} req
   * @returns {Uint8Array}
   */
  call(op, req) {
    const e = this.exports;
    const ptr = e.presage_input(req.length);
    if (ptr === 0 && req.length > 0) throw new Error(`presage: input of ${req.length} bytes refused`);
    new Uint8Array(e.memory.buffer, ptr, req.length).set(req);
    const n = e.presage_call(op | 0, req.length);
    const out = e.presage_output();
    return new Uint8Array(e.memory.buffer, out, n).slice(); // memory.buffer read again: it may have grown
  }
}
