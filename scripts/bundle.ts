// Bundles the compiled CLI (dist/agent/main.js, from tsc) into dist/cli/: parity's own modules
// and the plain-JavaScript packages every command loads at start go into a few files, and
// each module loaded only when needed (a system type, the daemon, the report writers) into a
// file of its own. A 2-row compare then loads about 70 module files instead of about 320
// (resolving and reading them was most of what it cost). Packages that are native, large and
// loaded only when needed, or that find files of their own at run time (pino's worker
// transports, sqlite3's binary, exceljs, sequelize), stay in node_modules and load from there.
// `npm run build` (and so `npm ci`) runs it: `tsx scripts/bundle.ts`.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** Pure JavaScript that reads no files of its own at run time: safe to inline. */
const BUNDLED = new Set(['big.js', 'commander', 'csv-parse', 'jsep', 'p-limit', 'xxhash-wasm', 'yaml', 'yocto-queue', 'zod']);

/** The package a bare import names: `zod/v4` is zod, `@scope/pkg/x` is @scope/pkg. */
const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** Bundles `entry` (a compiled agent/main.js) into `outdir`, which is emptied first. The
 *  packages left out are found from `outdir` as from the entry: keep it inside the project. */
export async function bundleCli(entry: string, outdir: string): Promise<void> {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    // A CSV side is read in a worker thread from csv-worker.js, found beside the chunk that
    // starts it (see src/systems/csv/in-worker.ts).
    entryPoints: { main: entry, 'csv-worker': path.join(path.dirname(entry), '../systems/csv/csv-worker.js') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    // commander, bundled, is CommonJS: it require()s Node's own modules.
    banner: { js: "import { createRequire as parityCreateRequire } from 'node:module'; const require = parityCreateRequire(import.meta.url);" },
    plugins: [
      {
        name: 'only-listed-packages',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) => (BUNDLED.has(packageOf(args.path)) ? undefined : { path: args.path, external: true }));
        },
      },
    ],
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
  await bundleCli(path.join(root, 'dist/agent/main.js'), path.join(root, 'dist/cli'));
}
