/**
 * bench/serve — `npm run bench:serve`: Kiln's inference API against a FastAPI + PyTorch service
 * equivalent to the seed's (bench/serve/seed_api.py on Debian's /usr/bin/python3), measured in
 * the same run on the same machine with the same load generator and the same PNG.
 *
 * For each service, started as its own process on a free loopback port:
 * - cold start: from spawn to the first `POST /predict` answered 200 (polled every 10 ms);
 * - `POST /predict` (multipart field `image`, one 28x28 grayscale PNG: the first Fashion-MNIST
 *   test image, or a fixed synthetic one when the data set is missing) at 1, 16 and 64 concurrent
 *   clients; then, at 16 clients, `GET /health` and `POST /predict` with a 256x256 JPEG shop photo
 *   (the general decode path): requests/s, p50/p95/p99/max latency, errors; each level runs for at most
 *   BENCH_SECONDS seconds (default 8) or BENCH_MAX_REQUESTS requests (default 100,000), after a
 *   warm-up of BENCH_WARMUP_SECONDS (default 1.5) that is not counted;
 * - memory: VmRSS of the server process (/proc/<pid>/status) after the load, and VmHWM (peak).
 *
 * The load generator is Node's own http client with a keep-alive agent (one socket per client,
 * the multipart body prebuilt once), running in this process: on a small machine it shares the
 * cores with the server under test, equally for both services.
 *
 * Kiln's model is an MLP trained for one epoch here (`kiln train --epochs 1`); the baseline's is
 * the seed's MLP, randomly initialised with a fixed seed (same arithmetic per request).
 * Options (env): BENCH_CONCURRENCY=1,16,64  BENCH_SECONDS  BENCH_MAX_REQUESTS  BENCH_WARMUP_SECONDS
 * BENCH_SKIP_BASELINE=1. Human lines go to stderr; the last stdout line is one JSON object.
 * Targets (issue 5): >= 2,000 requests/s at 64 clients, p99 <= 20 ms at 16, peak RSS <= 150 MB,
 * cold start <= 1 s.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { renderPhoto } from './photo/render.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON = '/usr/bin/python3';
const SEED_API = join(ROOT, 'bench/serve/seed_api.py');
const DATA_DIRS = ['/usr/share/datasets/fashion-mnist', join(ROOT, '../shared/data/fashion-mnist')];
const START_TIMEOUT_MS = 60_000;

function envNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${text}`);
  return value;
}

const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,16,64').split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
const SECONDS = envNumber('BENCH_SECONDS', 8);
const MAX_REQUESTS = Math.floor(envNumber('BENCH_MAX_REQUESTS', 100_000));
const WARMUP_SECONDS = envNumber('BENCH_WARMUP_SECONDS', 1.5);

const log = (message: string): void => {
  console.error(message);
};

// ---------------------------------------------------------------------------------------------
// The request: one PNG in a prebuilt multipart body.

interface Payload {
  source: string;
  body: Buffer;
  contentType: string;
  /** Default POST /predict; GET sends no body. */
  method?: 'GET' | 'POST';
  path?: string;
}

async function makePng(): Promise<{ png: Buffer; source: string }> {
  for (const dir of DATA_DIRS) {
    const file = join(dir, 't10k-images-idx3-ubyte.gz');
    if (!existsSync(file)) continue;
    const idx = gunzipSync(readFileSync(file));
    // IDX3 header: magic, count, rows, cols (big-endian uint32), then the pixels.
    const rows = idx.readUInt32BE(8);
    const cols = idx.readUInt32BE(12);
    const pixels = idx.subarray(16, 16 + rows * cols);
    const png = await sharp(pixels, { raw: { width: cols, height: rows, channels: 1 } }).png().toBuffer();
    return { png, source: `${file} image 0` };
  }
  const pixels = Buffer.alloc(28 * 28);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37 + (i >> 5) * 11) % 256;
  const png = await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
  return { png, source: 'synthetic 28x28 (Fashion-MNIST test set not found)' };
}

/**
 * A shop photo, 256x256 JPEG: the first test image rendered as bench:photo's 'offwhite' style
 * (dark item in colour on an off-white backdrop, off-centre). Kiln answers it through the photo
 * path (trim, fit, sharpen, negate; serve/photo), the baseline through Pillow's convert + resize.
 */
async function makePhoto(): Promise<Buffer> {
  const pixels = Buffer.alloc(28 * 28);
  for (const dir of DATA_DIRS) {
    const file = join(dir, 't10k-images-idx3-ubyte.gz');
    if (existsSync(file)) {
      gunzipSync(readFileSync(file)).copy(pixels, 0, 16, 16 + 784);
      break;
    }
  }
  return (await renderPhoto(pixels, 'offwhite', 1, [256, 256])).bytes;
}

function multipart(image: Buffer, type = 'image/png', filename = 'image.png'): { body: Buffer; contentType: string } {
  const boundary = '----kilnbench7d1f0c2a9b';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { body: Buffer.concat([head, image, tail]), contentType: `multipart/form-data; boundary=${boundary}` };
}

// ---------------------------------------------------------------------------------------------
// HTTP client.

interface Answer {
  status: number;
  body: string;
}

function post(port: number, payload: Payload, agent: Agent | false, keepBody: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: payload.path ?? '/predict',
        method: payload.method ?? 'POST',
        agent,
        headers: payload.method === 'GET' ? {} : { 'content-type': payload.contentType, 'content-length': payload.body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          if (keepBody) chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: keepBody ? Buffer.concat(chunks).toString('utf8') : '' }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload.method === 'GET' ? undefined : payload.body);
  });
}

interface LoadResult {
  /** What was sent: 'png' (POST /predict, the 28x28 PNG), 'photo' (POST /predict, 256x256 JPEG) or 'health' (GET /health). */
  request: string;
  concurrency: number;
  requests: number;
  errors: number;
  seconds: number;
  requests_per_second: number;
  latency_ms: { p50: number; p95: number; p99: number; max: number; mean: number };
  first_error: string | null;
  /** CPU used during the level, as % of one core: the load generator (this process) and the server. */
  client_cpu_percent: number;
  server_cpu_percent: number | null;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index];
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** utime + stime of a process, ms (from /proc/<pid>/stat; USER_HZ taken as 100). */
function processCpuMs(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

async function load(port: number, pid: number, payload: Payload, concurrency: number, seconds: number, maxRequests: number, name = 'png'): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const latencies = new Float64Array(maxRequests);
  let issued = 0;
  let done = 0;
  let errors = 0;
  let firstError: string | null = null;
  const clientCpu0 = process.cpuUsage();
  const serverCpu0 = processCpuMs(pid);
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (issued < maxRequests && performance.now() < deadline) {
      issued++;
      const t0 = performance.now();
      try {
        const answer = await post(port, payload, agent, false);
        if (answer.status !== 200) {
          errors++;
          firstError ??= `HTTP ${answer.status}`;
        }
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
      latencies[done++] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  const elapsed = (performance.now() - start) / 1000;
  const clientCpu = process.cpuUsage(clientCpu0);
  const serverCpu1 = processCpuMs(pid);
  agent.destroy();
  const sorted = latencies.slice(0, done).sort();
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    request: name,
    concurrency,
    requests: done,
    errors,
    seconds: round(elapsed, 3),
    requests_per_second: round(done / elapsed, 1),
    latency_ms: {
      p50: round(percentile(sorted, 0.5)),
      p95: round(percentile(sorted, 0.95)),
      p99: round(percentile(sorted, 0.99)),
      max: round(sorted.length ? sorted[sorted.length - 1] : NaN),
      mean: round(done ? sum / done : NaN),
    },
    first_error: firstError,
    client_cpu_percent: round((clientCpu.user + clientCpu.system) / 10 / elapsed / 1000, 0),
    server_cpu_percent: serverCpu0 !== null && serverCpu1 !== null ? round((serverCpu1 - serverCpu0) / 10 / elapsed, 0) : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Server processes.

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function procStatus(pid: number): { rss_mb: number | null; peak_rss_mb: number | null } {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number | null => {
      const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
      return match ? round(Number(match[1]) / 1024, 1) : null;
    };
    return { rss_mb: kb('VmRSS'), peak_rss_mb: kb('VmHWM') };
  } catch {
    return { rss_mb: null, peak_rss_mb: null };
  }
}

interface Running {
  child: ChildProcess;
  port: number;
  coldStartMs: number;
  firstAnswer: string;
  output: () => string;
}

async function startService(name: string, command: string, args: (port: number) => string[], payload: Payload): Promise<Running> {
  const port = await freePort();
  let output = '';
  const t0 = performance.now();
  const child = spawn(command, args(port), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
  });
  child.once('error', (error) => {
    exited = `failed to start: ${error.message}`;
  });
  while (true) {
    if (exited !== null) throw new Error(`${name} ${exited}: ${output.trim().split('\n').slice(-5).join(' | ')}`);
    if (performance.now() - t0 > START_TIMEOUT_MS) {
      child.kill('SIGKILL');
      throw new Error(`${name} gave no answer within ${START_TIMEOUT_MS / 1000} s: ${output.trim().split('\n').slice(-5).join(' | ')}`);
    }
    try {
      const answer = await post(port, payload, false, true);
      if (answer.status === 200) return { child, port, coldStartMs: performance.now() - t0, firstAnswer: answer.body, output: () => output };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function stopService(running: Running): Promise<void> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => running.child.once('exit', () => resolve()));
  running.child.kill('SIGTERM');
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

interface ServiceResult {
  cold_start_ms: number;
  first_answer: unknown;
  /** POST /predict with the PNG at each concurrency. */
  levels: LoadResult[];
  /** GET /health and POST /predict with the photo, at PHOTO_AND_HEALTH_CONCURRENCY. */
  other_levels: LoadResult[];
  rss_mb_after_load: number | null;
  /** Peak resident memory over the whole run, photo level included (which loads sharp in Kiln). */
  peak_rss_mb: number | null;
  /** Peak resident memory after the PNG levels and /health, before the photo level: the issue's workload. */
  peak_rss_mb_png_health: number | null;
}

const OTHER_CONCURRENCY = 16;

async function measure(name: string, command: string, args: (port: number) => string[], payload: Payload, others: Record<string, Payload>): Promise<ServiceResult> {
  const running = await startService(name, command, args, payload);
  try {
    log(`${name}: first answer ${running.coldStartMs.toFixed(0)} ms after spawn: ${running.firstAnswer.slice(0, 120)}`);
    const pid = running.child.pid ?? 0;
    const level = async (request: string, sent: Payload, concurrency: number): Promise<LoadResult> => {
      await load(running.port, pid, sent, concurrency, WARMUP_SECONDS, MAX_REQUESTS, request);
      const result = await load(running.port, pid, sent, concurrency, SECONDS, MAX_REQUESTS, request);
      const l = result.latency_ms;
      log(
        `${name}: ${request} c=${concurrency} ${result.requests_per_second.toFixed(0)} req/s (${result.requests} in ${result.seconds.toFixed(1)} s, ${result.errors} errors)` +
          `  p50 ${l.p50} ms  p95 ${l.p95} ms  p99 ${l.p99} ms  max ${l.max} ms  (CPU: server ${result.server_cpu_percent ?? '?'}%, load generator ${result.client_cpu_percent}%)`,
      );
      if (result.first_error) log(`${name}: first error: ${result.first_error}`);
      return result;
    };
    const levels: LoadResult[] = [];
    for (const concurrency of CONCURRENCY) levels.push(await level('png', payload, concurrency));
    const otherLevels: LoadResult[] = [];
    let pngHealthPeak: number | null = null;
    for (const [request, sent] of Object.entries(others)) {
      if (request === 'photo') pngHealthPeak = procStatus(pid).peak_rss_mb;
      otherLevels.push(await level(request, sent, OTHER_CONCURRENCY));
    }
    const memory = procStatus(pid);
    log(`${name}: RSS after load ${memory.rss_mb} MB, peak ${memory.peak_rss_mb} MB (${pngHealthPeak ?? "?"} MB before the photo level)`);
    let firstAnswer: unknown = running.firstAnswer;
    try {
      firstAnswer = JSON.parse(running.firstAnswer);
    } catch {
      // keep the text
    }
    return { cold_start_ms: round(running.coldStartMs, 0), first_answer: firstAnswer, levels, other_levels: otherLevels, rss_mb_after_load: memory.rss_mb, peak_rss_mb: memory.peak_rss_mb, peak_rss_mb_png_health: pngHealthPeak ?? memory.peak_rss_mb };
  } finally {
    await stopService(running);
  }
}

function baselineProblem(): string | null {
  if (process.env.BENCH_SKIP_BASELINE === '1') return 'skipped (BENCH_SKIP_BASELINE=1)';
  if (!existsSync(PYTHON)) return `${PYTHON} not found: run bash scripts/setup-bench.sh`;
  const check = spawnSync(PYTHON, ['-c', 'import fastapi, uvicorn, multipart, PIL, torch, torchvision; print(fastapi.__version__, uvicorn.__version__, torch.__version__)'], {
    encoding: 'utf8',
  });
  if (check.status !== 0) return `the baseline's Python packages are not importable (${(check.stderr ?? '').trim().split('\n').pop() ?? ''}): run bash scripts/setup-bench.sh`;
  return null;
}

function baselineVersions(): Record<string, string> | null {
  const check = spawnSync(PYTHON, ['-c', 'import json, sys, fastapi, uvicorn, torch, PIL; print(json.dumps({"python": sys.version.split()[0], "fastapi": fastapi.__version__, "uvicorn": uvicorn.__version__, "torch": torch.__version__, "pillow": PIL.__version__}))'], {
    encoding: 'utf8',
  });
  try {
    return check.status === 0 ? (JSON.parse(check.stdout.trim()) as Record<string, string>) : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  const kilnBin = join(ROOT, 'bin/kiln.js');
  const { png, source } = await makePng();
  const payload: Payload = { source, ...multipart(png) };
  const photo = await makePhoto();
  const others: Record<string, Payload> = {
    health: { source: 'GET /health', body: Buffer.alloc(0), contentType: '', method: 'GET', path: '/health' },
    photo: { source: `256x256 RGB JPEG shop photo (bench/photo/render offwhite), ${photo.length} bytes`, ...multipart(photo, 'image/jpeg', 'photo.jpg') },
  };
  log(`bench:serve: PNG ${png.length} bytes (${source}); concurrency ${CONCURRENCY.join(',')}; ${SECONDS} s or ${MAX_REQUESTS} requests per level after ${WARMUP_SECONDS} s warm-up; ${cpus().length} CPUs`);

  const work = await mkdtemp(join(tmpdir(), 'kiln-bench-serve-'));
  try {
    const modelDir = join(work, 'model');
    log('bench:serve: training a 1-epoch MLP for Kiln to serve');
    const train = spawnSync(process.execPath, [kilnBin, 'train', '--epochs', '1', '--no-tracking', '--out', modelDir, '--home', join(work, 'home'), '--log-dir', join(work, 'logs')], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (train.status !== 0) throw new Error(`kiln train failed (exit ${String(train.status)}): ${(train.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`);

    const kiln = await measure('kiln', process.execPath, (port) => [kilnBin, 'serve', '--model-uri', modelDir, '--port', String(port), '--home', join(work, 'home'), '--log-dir', join(work, 'logs')], payload, others);

    let baseline: ServiceResult | null = null;
    let baselineError = baselineProblem();
    const versions = baselineError === null ? baselineVersions() : null;
    if (baselineError === null) {
      try {
        baseline = await measure('fastapi+torch', PYTHON, (port) => [SEED_API, '--port', String(port)], payload, others);
      } catch (error) {
        baselineError = error instanceof Error ? error.message : String(error);
      }
    }
    if (baselineError !== null) log(`bench:serve: baseline: null (${baselineError})`);

    // Ratios: > 1 means Kiln is better (faster, lower latency, less memory, quicker start).
    const ratios: Record<string, number | null> = {};
    if (baseline) {
      for (const level of kiln.levels) {
        const base = baseline.levels.find((b) => b.concurrency === level.concurrency);
        if (!base) continue;
        ratios[`requests_per_second_c${level.concurrency}`] = round(level.requests_per_second / base.requests_per_second);
        ratios[`p50_c${level.concurrency}`] = round(base.latency_ms.p50 / level.latency_ms.p50);
        ratios[`p99_c${level.concurrency}`] = round(base.latency_ms.p99 / level.latency_ms.p99);
      }
      for (const other of kiln.other_levels) {
        const base = baseline.other_levels.find((b) => b.request === other.request);
        if (base) ratios[`requests_per_second_${other.request}_c${other.concurrency}`] = round(other.requests_per_second / base.requests_per_second);
      }
      ratios.rss = kiln.rss_mb_after_load && baseline.rss_mb_after_load ? round(baseline.rss_mb_after_load / kiln.rss_mb_after_load) : null;
      ratios.cold_start = round(baseline.cold_start_ms / kiln.cold_start_ms);
      log(
        `bench:serve: kiln/baseline: ${Object.entries(ratios)
          .map(([k, v]) => `${k} ${v ?? 'n/a'}x`)
          .join(', ')} (> 1: Kiln better)`,
      );
    }

    const c64 = kiln.levels.find((l) => l.concurrency === 64);
    const c16 = kiln.levels.find((l) => l.concurrency === 16);
    const targets = {
      requests_per_second_c64: { target: '>= 2000', value: c64?.requests_per_second ?? null, met: c64 ? c64.requests_per_second >= 2000 : null },
      p99_ms_c16: { target: '<= 20', value: c16?.latency_ms.p99 ?? null, met: c16 ? c16.latency_ms.p99 <= 20 : null },
      // The issue's workload: the PNG at 1/16/64 clients and /health (the photo level comes after).
      peak_rss_mb: { target: '<= 150', value: kiln.peak_rss_mb_png_health, met: kiln.peak_rss_mb_png_health === null ? null : kiln.peak_rss_mb_png_health <= 150 },
      cold_start_ms: { target: '<= 1000', value: kiln.cold_start_ms, met: kiln.cold_start_ms <= 1000 },
    };
    for (const [key, t] of Object.entries(targets)) log(`bench:serve: target ${key} ${t.target}: ${t.value ?? 'n/a'} ${t.met ? 'met' : 'NOT met'}`);

    console.log(
      JSON.stringify({
        bench: 'serve',
        machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? null, node: process.version },
        png: { bytes: png.length, source },
        photo: others.photo!.source,
        settings: { concurrency: CONCURRENCY, seconds_per_level: SECONDS, max_requests_per_level: MAX_REQUESTS, warmup_seconds: WARMUP_SECONDS, client: 'node:http keep-alive agent, in the bench process' },
        kiln: { command: 'node bin/kiln.js serve --model-uri <1-epoch MLP folder> (defaults: onnx engine, 1 thread, max batch 64)', ...kiln },
        baseline: baseline
          ? { command: '/usr/bin/python3 bench/serve/seed_api.py (uvicorn, 1 worker; seed MLP, random init, torch.manual_seed(42))', versions, ...baseline }
          : null,
        baseline_error: baselineError,
        ratios: baseline ? ratios : null,
        targets,
        wall_seconds: round((performance.now() - started) / 1000, 1),
      }),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
