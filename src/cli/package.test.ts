/**
 * The published package, as a user gets it: `npm pack` (after `npm run build`), the tarball
 * installed into a fresh project, every entry point imported from JavaScript (ESM) and from
 * strict NodeNext TypeScript compiled with the repo's tsc, the example of docs/library.md
 * run against a tracking server started from the installed package, whose UI answers 200.
 *
 * Offline by design (CI and this machine have no registry): the tarball is unpacked into
 * node_modules/kiln-ml exactly as npm lays it out, and only the dependencies its package.json
 * declares are linked in from the repo's install, so an import of an undeclared package, or of
 * a file the tarball leaves out, fails here as it would for a user.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { firstJsonLine } from './test-helpers.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NAME = 'kiln-ml';
const ENTRY_POINTS = [NAME, `${NAME}/tracking`, `${NAME}/tune`, `${NAME}/train`, `${NAME}/serve`];

interface PackedFile {
  path: string;
}

let project = '';
let packed: PackedFile[] = [];

/** Packs the repo and lays the tarball out in a fresh project as `npm install <tarball>` would. */
async function packAndInstall(): Promise<void> {
  project = mkdtempSync(join(tmpdir(), 'kiln-package-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  const [result] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: PackedFile[] }[];
  packed = result.files;
  const target = join(project, 'node_modules', NAME);
  mkdirSync(target, { recursive: true });
  await run('tar', ['-xzf', join(project, result.filename), '-C', target, '--strip-components=1']);
  const manifest = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  // What a consumer installs beside the package: its declared dependencies, and @types/node for TypeScript.
  for (const dependency of [...Object.keys(manifest.dependencies), '@types/node']) {
    const link = join(project, 'node_modules', dependency);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dependency), link, 'dir');
  }
  mkdirSync(join(project, 'node_modules', '.bin'));
  symlinkSync(join('..', NAME, 'bin', 'kiln.js'), join(project, 'node_modules', '.bin', 'kiln'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { [NAME]: `file:${result.filename}` } }));
}

const node = (args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> =>
  run(process.execPath, args, { cwd: project, env: { ...process.env, KILN_TRACKING_URI: '', MLFLOW_TRACKING_URI: '', KILN_HOME: join(project, 'kiln-data'), ...env } });

describe('the npm package', () => {
  before(packAndInstall, { timeout: 180_000 });
  after(() => rmSync(project, { recursive: true, force: true }));

  test('ships the built code, type declarations and web UI, and no tests, benchmarks or source maps', () => {
    const paths = packed.map((file) => file.path);
    for (const required of ['package.json', 'bin/kiln.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/lib/tune.d.ts', 'dist/ui/index.html']) {
      assert.ok(paths.includes(required), `${required} is in the tarball`);
    }
    assert.deepEqual(
      paths.filter((path) => /\.test\.|(^|\/)test-[^/]*$|\.map$|^dist\/bench\/|^src\//.test(path)),
      [],
    );
  });

  test('every entry point imports from JavaScript (ESM); files outside the exports map do not', async () => {
    const script = `
      const names = {};
      for (const entry of ${JSON.stringify(ENTRY_POINTS)}) names[entry] = Object.keys(await import(entry)).length;
      const root = await import('${NAME}');
      const tune = await import('${NAME}/tune');
      const tracking = await import('${NAME}/tracking');
      const kinds = [typeof root.startRun, typeof root.createStudy, typeof tune.mlflowCallback, typeof tracking.startTrackingServer];
      let hidden = 'importable';
      try { await import('${NAME}/dist/src/cli/main.js'); } catch (error) { hidden = error.code; }
      console.log(JSON.stringify({ names, kinds, hidden }));`;
    writeFileSync(join(project, 'imports.mjs'), script);
    const { names, kinds, hidden } = JSON.parse((await node(['imports.mjs'])).stdout) as { names: Record<string, number>; kinds: string[]; hidden: string };
    for (const entry of ENTRY_POINTS) assert.ok(names[entry] > 0, `${entry} exports something`);
    assert.deepEqual(kinds, ['function', 'function', 'function', 'function']);
    assert.equal(hidden, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  test('strict NodeNext TypeScript compiles against the declarations; the example runs against a server started from the package, whose UI answers 200', { timeout: 180_000 }, async () => {
    writeFileSync(
      join(project, 'types.ts'),
      `import { startRun, type ActiveRun, type StartRunOptions } from '${NAME}';
       import { startTrackingServer, type TrackingStore } from '${NAME}/tracking';
       import { createStudy, mlflowCallback, type FrozenTrial, type StudyCallback } from '${NAME}/tune';
       import { Trainer, EarlyStopping } from '${NAME}/train';
       import { startServe, type StartServeOptions } from '${NAME}/serve';
       const options: StartRunOptions = { runName: 'typed', nested: false };
       const callback: StudyCallback = mlflowCallback({ metricName: 'loss' });
       export const used: unknown[] = [startRun, options, callback, startTrackingServer, createStudy, Trainer, EarlyStopping, startServe];
       export type Used = [ActiveRun, TrackingStore, FrozenTrial, StartServeOptions];
      `,
    );
    mkdirSync(join(project, 'examples'));
    copyFileSync(join(ROOT, 'examples', 'track-and-tune.ts'), join(project, 'examples', 'track-and-tune.ts'));
    const compilerOptions = { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', types: ['node'], skipLibCheck: false, outDir: 'out' };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['types.ts', 'examples/track-and-tune.ts'] }));
    // skipLibCheck off, so kiln-ml's own declarations are checked too; TensorFlow.js's do not
    // pass a strict check (they need ambient Emscripten/Long types), so errors inside other
    // packages' declarations are left to them.
    const output = await node([join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    const ours = output.split('\n').filter((line) => /error TS\d+/.test(line) && (!line.includes('node_modules/') || line.includes(`node_modules/${NAME}/`)));
    assert.deepEqual(ours, [], `tsc errors in kiln-ml's declarations or the consumer's code:\n${output}`);
    assert.ok(existsSync(join(project, 'out', 'examples', 'track-and-tune.js')));

    const server: ChildProcess = spawn(join(project, 'node_modules', '.bin', 'kiln'), ['server', '--port', '0', '--json'], {
      cwd: project,
      env: { ...process.env, KILN_TRACKING_URI: '', MLFLOW_TRACKING_URI: '', KILN_HOME: join(project, 'server-home') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const url = (await firstJsonLine(server)).url as string;
      const page = await fetch(`${url}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);

      const { stdout } = await node(['out/examples/track-and-tune.js'], { KILN_TRACKING_URI: url });
      const summary = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { parent_run_id: string; experiment_id: string; best_value: number };
      assert.ok(Number.isFinite(summary.best_value));
      const search = await fetch(`${url}/api/2.0/mlflow/runs/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ experiment_ids: [summary.experiment_id], filter: `tags.mlflow.parentRunId = '${summary.parent_run_id}'`, max_results: 100 }),
      });
      const children = ((await search.json()) as { runs?: unknown[] }).runs ?? [];
      assert.equal(children.length, 12, 'one child run per trial');
    } finally {
      const exited = once(server, 'exit');
      server.kill('SIGTERM');
      await exited;
    }
  });
});
