// Loading the Presage module (a Go wasip1 reactor) and calling its byte ABI.
//
// The module imports exactly these ten WASI preview 1 functions, every Go wasip1 reactor's floor
// (`presage inspect dist/presage.wasm`; conformance's TestModuleImports keeps the list from
// growing): sched_yield, proc_exit, args_get, args_sizes_get, clock_time_get, environ_get,
// environ_sizes_get, fd_write, random_get, poll_oneoff. The shim below implements those and no
// other: the agent reads no file, argument or environment variable, and its answers do not depend on
// the clock or randomness WASI gives the Go runtime (time and seeds travel in the requests), so a
// few lines suffice where a general WASI library would cost the script tag kilobytes.
//
// Lessons of ../shared/wasm-notes.md §3 applied: the monotonic clock starts at 1 s because Go dies
// of a zero nanotime; random_get is chunked to getRandomValues' 64 KiB; poll_oneoff reports every
// subscription as fired (a synchronous host cannot sleep, and the agent never does); proc_exit
// throws, after which the instance is dropped; memory views are made afresh on every use, because
// Go growing its memory detaches the old buffer.

/** ABI is the version of the exports this file drives (presage_abi). */
const ABI = 1;

/**
 * Instantiates the module from src (a URL, bytes or a WebAssembly.Module) and
 * runs its _initialize. With cache, the name of a Cache Storage cache, a URL's module is compiled
 * from the decoded bytes kept there under that URL when there are (presage.js keeps them), else
 * fetched. The result's call(op, input) runs one operation of the ABI and returns a
 * copy of the CBOR reply; it throws only when the instance failed (a trap or an exit), and then the
 * instance must be dropped. log() is what the module wrote to stdout and stderr (the Go runtime's
 * trace when it dies), kept short, for the one failure report.
 * @param {string|URL|BufferSource|WebAssembly.Module} src
 * @param {string} [cache]
 */
export async function open(src, cache) {
  let memory;
  let log = '';
  const view = () => new DataView(memory.buffer);
  const bytes = (at, n) => new Uint8Array(memory.buffer, at, n);
  const zeros = (a, b) => {
    view().setUint32(a, 0, true);
    view().setUint32(b, 0, true);
    return 0;
  };
  const wasi = {
    args_get: () => 0,
    environ_get: () => 0,
    args_sizes_get: zeros,
    environ_sizes_get: zeros,
    sched_yield: () => 0,
    proc_exit: (code) => {
      throw Error('presage: module exited with code ' + code);
    },
    clock_time_get: (id, precision, at) => {
      // Realtime (0) or monotonic (1), in nanoseconds: a double loses the last bits, which no
      // answer depends on.
      const ns = (id ? performance.now() + 1e3 : Date.now()) * 1e6;
      view().setUint32(at, ns % 4294967296, true);
      view().setUint32(at + 4, ns / 4294967296, true);
      return 0;
    },
    random_get: (at, n) => {
      for (let k = 0; k < n; k += 65536) crypto.getRandomValues(bytes(at + k, Math.min(65536, n - k)));
      return 0;
    },
    fd_write: (fd, iovs, count, written) => {
      let total = 0;
      for (let k = 0; k < count; k++) {
        const len = view().getUint32(iovs + 8 * k + 4, true);
        log = (log + new TextDecoder().decode(bytes(view().getUint32(iovs + 8 * k, true), len))).slice(-2e3);
        total += len;
      }
      view().setUint32(written, total, true);
      return 0;
    },
    poll_oneoff: (subs, events, count, done) => {
      // Subscriptions are 48 bytes (userdata u64, tag u8 at 8), events 32 (userdata, errno u16 at 8,
      // type u8 at 10).
      const u8 = bytes(0);
      for (let k = 0; k < count; k++) {
        const s = subs + 48 * k;
        const e = events + 32 * k;
        u8.copyWithin(e, s, s + 8);
        u8.fill(0, e + 8, e + 32);
        u8[e + 10] = u8[s + 8];
      }
      view().setUint32(done, count, true);
      return 0;
    },
  };
  const imports = { wasi_snapshot_preview1: wasi };
  let inst;
  if (typeof src == 'string' || src instanceof URL) {
    // Streaming compilation overlaps download and compilation, and lets the browser cache the
    // compiled code with the HTTP response; a server that does not say application/wasm only loses
    // that. No cookie goes with the request: the module is the same for everyone.
    //
    // Cache Storage first: the HTTP cache keeps the module as it came (brotli), and decoding its
    // 3 MB again on every page doubled the time its bytes took to arrive (Chromium 156: a median 43
    // ms against 21 not encoded, jsbridge's TestLoadPaths); Cache Storage keeps them decoded and
    // hands them over in a few large chunks. Anything wrong with it (no Cache Storage, an entry that
    // does not compile) falls back on the network, and drops the cache.
    const get = () => fetch(src, { credentials: 'omit' });
    const kept = cache && self.caches && caches.match(src, { cacheName: cache }).catch(() => {});
    inst = await Promise.resolve(kept)
      .then((r) => (r && performance.mark('presage:cached'), WebAssembly.instantiateStreaming(r || get(), imports)))
      .catch(() => {
        if (kept) caches.delete(cache).catch(() => {});
        return get()
          .then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(Error('HTTP ' + r.status + ' for ' + src))))
          .then((b) => WebAssembly.instantiate(b, imports));
      });
  } else inst = await WebAssembly.instantiate(src, imports);
  const x = (inst.instance || inst).exports;
  memory = x.memory;
  performance.mark('presage:instantiated'); // then the Go runtime starts: together, the module's cost
  x._initialize();
  if (x.presage_abi() != ABI) throw Error('presage: module ABI ' + x.presage_abi() + ', want ' + ABI);
  return {
    log: () => log,
    memory,
    call(op, input) {
      const n = input.length;
      const at = x.presage_input(n);
      if (!at) throw Error('presage: input of ' + n + ' bytes refused');
      bytes(at, n).set(input);
      const len = x.presage_call(op, n);
      return bytes(x.presage_output(), len).slice();
    },
  };
}
