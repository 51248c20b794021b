// Builds presage.js (the classic script tag, an IIFE) and presage.mjs (an ES module) from src/,
// minified for ES2019 browsers. Both are committed: Go embeds them (jsbridge.go), and a site needs no
// build step. Run `npm ci && node build.mjs` after changing src/; `node build.mjs DIR` writes
// elsewhere (the Go test TestBuiltFilesUpToDate rebuilds into a temporary directory and compares).
import { build } from 'esbuild';

const outdir = process.argv[2] || '.';
const common = { bundle: true, minify: true, target: 'es2019', charset: 'utf8', legalComments: 'none', logLevel: 'warning' };
await build({ ...common, entryPoints: ['src/tag.js'], format: 'iife', outfile: outdir + '/presage.js' });
await build({ ...common, entryPoints: ['src/esm.js'], format: 'esm', outfile: outdir + '/presage.mjs' });
