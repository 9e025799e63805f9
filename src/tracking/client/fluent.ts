/**
 * tracking/client/fluent — MLflow's fluent run API for TypeScript: startRun / logParam(s) /
 * logMetric(s) / setTag(s) / logArtifact(s) / endRun over any tracking URI (`sqlite:`,
 * `postgresql:`, `http(s)://`), opened as every Kiln command opens it (session.ts).
 *
 * The active run: `startRun(options, fn)` runs `fn` with the new run active in an
 * AsyncLocalStorage scope (concurrent scopes each see their own run) and ends it when `fn`
 * settles (FINISHED, or FAILED when it throws), like Python's `with mlflow.start_run():`.
 * `startRun(options)` without `fn` makes the run active for the whole process until `endRun()`,
 * like `mlflow.start_run()`. Starting a run while one is active needs `nested: true` (MLflow's
 * rule); the new run then carries `mlflow.parentRunId`. Logging with no active run starts one,
 * as MLflow does, and such runs still open when the process drains are ended FINISHED.
 *
 * Metrics are buffered and sent in batches with retries by a RunLogger (the trainer's logger);
 * params, tags and artifacts are sent at once, params and tags with the same retries.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { stat } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { KilnError } from '../../common/errors.js';
import { resolveHome } from '../../common/home.js';
import { withRetry } from '../../common/retry.js';
import { TrackingError } from '../store/errors.js';
import type { RunStatus } from '../store/types.js';
import { RunLogger, type RunLoggerOptions } from './run-logger.js';
import { openTracking, resolveTrackingUri, type TrackingSession } from './session.js';
import { getOrCreateExperiment } from './training-run.js';

export interface StartRunOptions {
  /** Display name (the store picks one when omitted). */
  runName?: string;
  /** Experiment by name, created when missing. Default: setExperiment's, else "Default". */
  experimentName?: string;
  /** Experiment by id (wins over experimentName). */
  experimentId?: string;
  /** Start a child of the active run (MLflow's `nested=True`). */
  nested?: boolean;
  /** Start a child of this run, active or not. */
  parentRunId?: string;
  tags?: Record<string, string>;
  /** Default: setTrackingUri's, else $KILN_TRACKING_URI / $MLFLOW_TRACKING_URI, else `sqlite:///<home>/tracking.db`. */
  trackingUri?: string;
}

/** A run this process is logging to. */
export class ActiveRun {
  ended = false;

  /** @internal Use startRun. */
  constructor(
    readonly runId: string,
    readonly experimentId: string,
    readonly runName: string,
    readonly artifactUri: string,
    readonly parentRunId: string | undefined,
    readonly session: TrackingSession,
    readonly logger: RunLogger,
  ) {}
}

interface Scope {
  run: ActiveRun;
  outer: Scope | undefined;
}

const scopes = new AsyncLocalStorage<Scope>();
/** Runs started without a callback, innermost last (the process-wide stack). */
const stack: ActiveRun[] = [];
const sessions = new Map<string, Promise<TrackingSession>>();
const config: { trackingUri?: string; experimentName?: string; logger?: RunLoggerOptions } = {};

/** Sets the tracking URI later runs use (MLflow's set_tracking_uri). */
export function setTrackingUri(uri: string): void {
  config.trackingUri = uri;
}

/** The tracking URI a run started now would use. */
export function getTrackingUri(): string {
  return resolveTrackingUri(config.trackingUri, resolveHome());
}

/** Sets the experiment later runs go to (created on first use). */
export function setExperiment(name: string): void {
  config.experimentName = name;
}

/** Buffering and retry settings for the metric loggers of runs started from now on. */
export function setLoggerOptions(options: RunLoggerOptions): void {
  config.logger = options;
}

/** The innermost active run not ended yet, or undefined. */
export function activeRun(): ActiveRun | undefined {
  for (let scope = scopes.getStore(); scope !== undefined; scope = scope.outer) if (!scope.run.ended) return scope.run;
  for (let i = stack.length - 1; i >= 0; i--) if (!stack[i].ended) return stack[i];
  return undefined;
}

function session(uri: string): Promise<TrackingSession> {
  let opened = sessions.get(uri);
  if (opened === undefined) {
    opened = openTracking({ uri, home: resolveHome() });
    sessions.set(uri, opened);
    opened.catch(() => sessions.delete(uri));
  }
  return opened;
}

function defaultTags(): Record<string, string> {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep 'unknown'
  }
  return { 'mlflow.user': user, 'mlflow.source.type': 'LOCAL', 'mlflow.source.name': process.argv[1] ?? 'node', 'kiln.host': hostname() };
}

async function createRun(options: StartRunOptions): Promise<ActiveRun> {
  const outer = activeRun();
  if (outer !== undefined && !options.nested && options.parentRunId === undefined) {
    throw new KilnError('KILN_ERR_RUN_ACTIVE', `run ${outer.runId} is already active; to start a nested run, call startRun({ nested: true })`);
  }
  const parentRunId = options.parentRunId ?? (options.nested ? outer?.runId : undefined);
  const tracking = await session(resolveTrackingUri(options.trackingUri ?? config.trackingUri, resolveHome()));
  const experimentId = options.experimentId ?? (await getOrCreateExperiment(tracking.store, options.experimentName ?? config.experimentName ?? 'Default'));
  const tags: Record<string, string> = { ...defaultTags(), ...(parentRunId ? { 'mlflow.parentRunId': parentRunId } : {}), ...options.tags };
  const run = await tracking.store.createRun({
    experiment_id: experimentId,
    user_id: tags['mlflow.user'],
    start_time: Date.now(),
    ...(options.runName ? { run_name: options.runName } : {}),
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
  });
  const onError = (error: unknown, lost: number): void => process.emitWarning(`kiln: ${lost} metric points of run ${run.info.run_id} were not stored: ${String(error)}`);
  const logger = new RunLogger(tracking.store, run.info.run_id, { onError, ...config.logger });
  return new ActiveRun(run.info.run_id, experimentId, run.info.run_name, run.info.artifact_uri, parentRunId, tracking, logger);
}

/**
 * Starts a run. With `fn`: runs it with the run active (in this async scope only), ends the run
 * when it settles and returns its result. Without: the run stays active until endRun().
 *
 * @example
 * await startRun({ runName: 'baseline' }, async () => {
 *   await logParams({ lr: 0.01 });
 *   logMetric('loss', 0.42, { step: 1 });
 * });
 */
export function startRun(options?: StartRunOptions): Promise<ActiveRun>;
export function startRun<T>(options: StartRunOptions, fn: (run: ActiveRun) => T | Promise<T>): Promise<T>;
export async function startRun<T>(options: StartRunOptions = {}, fn?: (run: ActiveRun) => T | Promise<T>): Promise<ActiveRun | T> {
  const run = await createRun(options);
  if (fn === undefined) {
    stack.push(run);
    if (stack.length === 1) process.on('beforeExit', endOpenRuns);
    return run;
  }
  let result: T;
  try {
    result = await scopes.run({ run, outer: scopes.getStore() }, () => fn(run));
  } catch (error) {
    await finish(run, 'FAILED');
    throw error;
  }
  await finish(run, 'FINISHED');
  return result;
}

async function finish(run: ActiveRun, status: RunStatus): Promise<void> {
  if (run.ended) return;
  run.ended = true;
  const index = stack.indexOf(run);
  if (index >= 0) stack.splice(index, 1);
  if (stack.length === 0) process.removeListener('beforeExit', endOpenRuns);
  await run.logger.end(status);
}

function endOpenRuns(): void {
  for (const run of [...stack].reverse()) void finish(run, 'FINISHED').catch((error: unknown) => process.emitWarning(`kiln: ending run ${run.runId} failed: ${String(error)}`));
}

/** Flushes the active run's metrics and ends it with `status` (no-op without an active run). */
export async function endRun(status: RunStatus = 'FINISHED'): Promise<void> {
  const run = activeRun();
  if (run !== undefined) await finish(run, status);
}

async function currentRun(): Promise<ActiveRun> {
  return activeRun() ?? (await startRun());
}

const retryable = (error: unknown): boolean => !(error instanceof TrackingError && error.httpStatus < 500);

function sendWithRetry(send: () => Promise<void>): Promise<void> {
  const options = config.logger ?? {};
  return withRetry(send, { retries: options.retries ?? 5, baseDelayMs: options.retryDelayMs ?? 200, maxDelayMs: options.retryMaxDelayMs, retryable });
}

export type ParamValue = string | number | boolean | null;

/** Logs one parameter of the active run (values are stored as strings, as in MLflow). */
export async function logParam(key: string, value: ParamValue): Promise<void> {
  await logParams({ [key]: value });
}

/** Logs parameters of the active run. */
export async function logParams(params: Record<string, ParamValue>): Promise<void> {
  const run = await currentRun();
  const values = Object.fromEntries(Object.entries(params).map(([key, value]) => [key, String(value)]));
  await sendWithRetry(() => run.logger.logParams(values));
}

/** Sets one tag of the active run. */
export async function setTag(key: string, value: ParamValue): Promise<void> {
  await setTags({ [key]: value });
}

/** Sets tags of the active run. */
export async function setTags(tags: Record<string, ParamValue>): Promise<void> {
  const run = await currentRun();
  const values = Object.fromEntries(Object.entries(tags).map(([key, value]) => [key, String(value)]));
  await sendWithRetry(() => run.logger.setTags(values));
}

export interface MetricOptions {
  step?: number;
  /** Epoch milliseconds (default now). */
  timestamp?: number;
}

function checkMetric(key: string, value: number): void {
  if (typeof key !== 'string' || key === '') throw new KilnError('KILN_ERR_INVALID_METRIC', `a metric key must be a non-empty string (got ${JSON.stringify(key)})`);
  if (typeof value !== 'number') throw new KilnError('KILN_ERR_INVALID_METRIC', `metric "${key}" must be a number (got ${typeof value})`);
}

/**
 * Buffers metric points for the active run (sent in batches in the background; endRun or
 * flushMetrics waits for them). Resolves once the points are buffered.
 */
export async function logMetrics(metrics: Record<string, number>, options: MetricOptions = {}): Promise<void> {
  for (const [key, value] of Object.entries(metrics)) checkMetric(key, value);
  const run = await currentRun();
  const timestamp = options.timestamp ?? Date.now();
  run.logger.log(Object.entries(metrics).map(([key, value]) => ({ key, value, step: options.step ?? 0, timestamp })));
}

/** Buffers one metric point for the active run; see logMetrics. */
export async function logMetric(key: string, value: number, options: MetricOptions = {}): Promise<void> {
  await logMetrics({ [key]: value }, options);
}

/** Waits until every metric point of the active run logged so far is stored. */
export async function flushMetrics(): Promise<void> {
  await activeRun()?.logger.flush();
}

/** Uploads a file, or every file under a folder, into the active run's artifacts under `artifactPath`. */
export async function logArtifact(localPath: string, artifactPath = ''): Promise<void> {
  const run = await currentRun();
  const info = await stat(localPath);
  if (info.isDirectory()) await run.session.artifacts.uploadDirectory(localPath, run.artifactUri, artifactPath);
  else await run.session.artifacts.uploadFile(localPath, run.artifactUri, artifactPath);
}

/** Uploads every file under `localDir` into the active run's artifacts under `artifactPath`. */
export async function logArtifacts(localDir: string, artifactPath = ''): Promise<void> {
  const run = await currentRun();
  await run.session.artifacts.uploadDirectory(localDir, run.artifactUri, artifactPath);
}

/** Ends the process-wide runs still active and closes every tracking connection the API opened. */
export async function closeTracking(): Promise<void> {
  while (stack.length > 0) await finish(stack[stack.length - 1], 'FINISHED');
  const open = [...sessions.values()];
  sessions.clear();
  for (const opened of open) await (await opened.catch(() => null))?.close();
}
