// A minimal WASI preview 1 for the Presage module: exactly the ten functions a Go wasip1 reactor
// imports (the module links no "os", so no file system call is imported; the Go tests check that this
// list equals the module's imports). It uses only what workerd, Node and browsers all have:
// crypto.getRandomValues, performance.now, Date.now, TextDecoder and console.
//
// workerd's rules shape it (see shared/wasm-notes.md §3):
//  - random values are refused at global scope, and Go's _initialize asks for some, so the module
//    is instantiated inside a request, never when the script loads;
//  - the monotonic clock may read 0 (Go then dies with "nanotime returning zero"): +1 s offset;
//  - poll_oneoff cannot sleep in a synchronous host: every subscription fires at once (the agent
//    has no timers; a Go timer would busy-wait);
//  - proc_exit must throw, and the instance is dropped afterwards.

const ESUCCESS = 0;
const EBADF = 8;
const ENOSYS = 52;

/** ProcExit is thrown by proc_exit: the instance is dead and must be dropped. */
export class ProcExit extends Error {
  constructor(code) {
    super(`presage: module exited with code ${code}`);
    this.code = code;
  }
}

/**
 * Returns the import object of a module instance and a function to give it its memory once
 * instantiated.
 * @param {{stdout?: (line: string) => void, stderr?: (line: string) => void}} [io]
 */
export function wasi(io = {}) {
  let memory = null;
  const view = () => new DataView(memory.buffer); // recreated: memory.buffer detaches when it grows
  const bytes = () => new Uint8Array(memory.buffer);
  const out = { 1: io.stdout ?? ((l) => console.log(l)), 2: io.stderr ?? ((l) => console.error(l)) };
  const pending = { 1: '', 2: '' };
  const decoder = new TextDecoder();
  const t0 = typeof performance != 'undefined' ? performance.now() : 0;

  const imports = {
    args_sizes_get(argc, bufSize) {
      view().setUint32(argc, 0, true);
      view().setUint32(bufSize, 0, true);
      return ESUCCESS;
    },
    args_get() {
      return ESUCCESS;
    },
    environ_sizes_get(count, bufSize) {
      view().setUint32(count, 0, true);
      view().setUint32(bufSize, 0, true);
      return ESUCCESS;
    },
    environ_get() {
      return ESUCCESS;
    },
    clock_time_get(id, _precision, result) {
      let ns;
      if (id === 0) {
        ns = BigInt(Date.now()) * 1000000n; // realtime
      } else {
        const ms = (typeof performance != 'undefined' ? performance.now() - t0 : 0) + 1000;
        ns = BigInt(Math.round(ms * 1e6)); // monotonic, never 0
      }
      view().setBigUint64(result, ns, true);
      return ESUCCESS;
    },
    random_get(buf, len) {
      const b = bytes();
      for (let off = 0; off < len; off += 65536) { // getRandomValues takes 64 KiB at most
        crypto.getRandomValues(b.subarray(buf + off, buf + Math.min(len, off + 65536)));
      }
      return ESUCCESS;
    },
    fd_write(fd, iovs, iovsLen, nwritten) {
      if (fd !== 1 && fd !== 2) return EBADF;
      const v = view();
      let n = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = v.getUint32(iovs + 8 * i, true);
        const len = v.getUint32(iovs + 8 * i + 4, true);
        pending[fd] += decoder.decode(bytes().subarray(ptr, ptr + len), { stream: true });
        n += len;
      }
      const lines = pending[fd].split('\n');
      pending[fd] = lines.pop();
      lines.forEach((l) => out[fd](l));
      view().setUint32(nwritten, n, true);
      return ESUCCESS;
    },
    poll_oneoff(inPtr, outPtr, nsubs, nevents) {
      // Every subscription fires now: 32-byte events {userdata u64, error u16, type u8, ...}.
      const v = view();
      for (let i = 0; i < nsubs; i++) {
        const sub = inPtr + 48 * i;
        const ev = outPtr + 32 * i;
        v.setBigUint64(ev, v.getBigUint64(sub, true), true);
        v.setUint16(ev + 8, ESUCCESS, true);
        v.setUint8(ev + 10, v.getUint8(sub + 8));
        for (let j = 11; j < 32; j++) v.setUint8(ev + j, 0);
      }
      v.setUint32(nevents, nsubs, true);
      return ESUCCESS;
    },
    sched_yield() {
      return ESUCCESS;
    },
    proc_exit(code) {
      throw new ProcExit(code);
    },
  };
  return {
    imports: { wasi_snapshot_preview1: imports },
    setMemory(m) {
      memory = m;
    },
    ENOSYS,
  };
}

/** The names this shim provides, for the tests that compare them with the module's imports. */
export const provided = [
  'args_get', 'args_sizes_get', 'clock_time_get', 'environ_get', 'environ_sizes_get',
  'fd_write', 'poll_oneoff', 'proc_exit', 'random_get', 'sched_yield',
];
