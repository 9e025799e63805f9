/**
 * tune/study — Study: a named optimisation over a StudyStorage, driven by ask/tell or by
 * `optimize` (Optuna's Study, create_study and load_study).
 *
 * `ask` claims the oldest enqueued (WAITING) trial or creates one, snapshots the study's trials
 * and runs the sampler's relative step; `tell` finishes a RUNNING trial (a number: COMPLETE with
 * that value, or FAIL when it is NaN; 'PRUNED' with the last reported value; 'FAIL').
 * `optimize` runs an objective (sync or async) for `nTrials` and/or `timeout` seconds with
 * `concurrency` trials in flight: a thrown TrialPruned makes the trial PRUNED, any other error
 * makes it FAIL and is rethrown unless its class is in `catch`. With `heartbeatIntervalMs`, a
 * running objective records heartbeats and stale trials (no heartbeat for `gracePeriodMs`,
 * default twice the interval) are failed before each new trial. Trial numbers come from storage,
 * so a resumed study (loadStudy) continues the numbering. With `studyTarget`, trials are counted
 * for the study as a whole, every process together (shared-study.ts).
 *
 * @example
 * const study = await createStudy({ direction: 'minimize', sampler: new RandomSampler({ seed: 1 }) });
 * await study.optimize((trial) => (trial.suggestFloat('x', -10, 10) - 2) ** 2, { nTrials: 50 });
 * console.log(await study.bestParams());
 */
import { randomUUID } from 'node:crypto';
import { KilnError } from '../common/errors.js';
import { StudyError, TrialFinishedError, TrialPruned, warnOnce } from './errors.js';
import { MedianPruner } from './pruners/median.js';
import { lastStep } from './pruners/util.js';
import { TPESampler } from './samplers/tpe.js';
import { OVER_TARGET_REASON, StudyTarget } from './shared-study.js';
import { InMemoryStorage } from './storage/memory.js';
import { SnapshotView } from './study-view.js';
import { Trial, type TrialHost } from './trial.js';
import type {
  CategoricalChoice,
  Distribution,
  FrozenTrial,
  Pruner,
  Sampler,
  StudyDirection,
  StudyStorage,
  TrialState,
} from './types.js';

export { TrialPruned } from './errors.js';

/** What `tell` records: a value (COMPLETE, or FAIL when NaN), or a state without value. */
export type TellResult = number | 'PRUNED' | 'FAIL';

/** An error class for `optimize`'s `catch` list. */
export type ErrorClass = abstract new (...args: never[]) => Error;

export type StudyCallback = (study: Study, trial: FrozenTrial) => void | Promise<void>;

export interface OptimizeOptions {
  /** Trials to run (in this call). Unbounded when omitted (until timeout or stop). */
  nTrials?: number;
  /** Seconds after which no new trial starts (running ones finish), as Optuna's `timeout`. */
  timeout?: number;
  /** Error classes that fail the trial but do not stop the optimisation. */
  catch?: readonly ErrorClass[];
  /** Called after each finished trial with the study and the stored trial. */
  callbacks?: readonly StudyCallback[];
  /** Trials in flight at once (async objectives interleave). Default 1. */
  concurrency?: number;
  /**
   * Counts trials for the study as a whole, every process together (tune/shared-study): stop
   * when it has this many that count, waiting while other workers' RUNNING trials fill it (a
   * dead worker's trial turns FAIL once its heartbeat is stale and is replaced). With `nTrials`
   * too, whichever is reached first.
   */
  studyTarget?: number;
}

export interface StudyOptions {
  sampler?: Sampler;
  pruner?: Pruner;
  /** Record heartbeats every this many ms while an objective runs (enables failStaleTrials). */
  heartbeatIntervalMs?: number;
  /** A RUNNING trial with no heartbeat for this long is failed. Default 2 × heartbeatIntervalMs. */
  gracePeriodMs?: number;
}

export interface CreateStudyOptions extends StudyOptions {
  /** Default: a unique `no-name-<uuid>`. */
  studyName?: string;
  /** Default 'minimize'. */
  direction?: StudyDirection;
  /** Default: a new InMemoryStorage. */
  storage?: StudyStorage;
  /** Load the study when one with `studyName` exists instead of failing. */
  loadIfExists?: boolean;
}

/** The sampler a study gets when none is given. */
export function defaultSampler(): Sampler {
  return new TPESampler();
}

export interface EnqueueTrialOptions {
  userAttrs?: Record<string, unknown>;
  /** Skip when a trial with the same parameters is already in the study. */
  skipIfExists?: boolean;
}

function sameParams(a: Record<string, CategoricalChoice>, b: Record<string, CategoricalChoice>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => key in b && (a[key] === b[key] || (Number.isNaN(a[key]) && Number.isNaN(b[key]))));
}

export class Study implements TrialHost {
  readonly storage: StudyStorage;
  readonly sampler: Sampler;
  readonly pruner: Pruner;
  readonly studyId: number;
  readonly studyName: string;
  readonly direction: StudyDirection;
  readonly heartbeatIntervalMs: number | undefined;
  readonly gracePeriodMs: number | undefined;
  private stopRequested = false;
  private optimizing = false;
  /** Trials handed out by this process and not yet told, by number. */
  private readonly live = new Map<number, Trial>();

  /** @internal Use createStudy or loadStudy. */
  constructor(storage: StudyStorage, summary: { studyId: number; name: string; direction: StudyDirection }, options: StudyOptions = {}) {
    this.storage = storage;
    this.studyId = summary.studyId;
    this.studyName = summary.name;
    this.direction = summary.direction;
    this.sampler = options.sampler ?? defaultSampler();
    this.pruner = options.pruner ?? new MedianPruner();
    const interval = options.heartbeatIntervalMs;
    if (interval !== undefined && !(interval > 0)) throw new StudyError('KILN_ERR_INVALID_OPTION', `heartbeatIntervalMs must be > 0 (got ${interval})`);
    this.heartbeatIntervalMs = interval;
    this.gracePeriodMs = interval === undefined ? undefined : (options.gracePeriodMs ?? 2 * interval);
  }

  get name(): string {
    return this.studyName;
  }

  /** Starts no new trials in the running `optimize` (trials in flight finish). */
  stop(): void {
    this.stopRequested = true;
  }

  /** Starts a trial (an enqueued one first); `fixedDistributions` are suggested right away. */
  async ask(fixedDistributions: Record<string, Distribution> = {}): Promise<Trial> {
    const frozen = (await this.storage.claimWaitingTrial(this.studyId)) ?? (await this.storage.createTrial(this.studyId));
    const snapshot = await this.storage.getAllTrials(this.studyId);
    const trial = new Trial(this, frozen, snapshot);
    this.live.set(trial.number, trial);
    try {
      trial.start();
      for (const [name, distribution] of Object.entries(fixedDistributions)) trial.suggest(name, distribution);
    } catch (error) {
      await this.tell(trial, 'FAIL', { skipIfFinished: true }).catch(() => undefined);
      throw error;
    }
    return trial;
  }

  /**
   * Finishes a RUNNING trial (a Trial or its number) and returns it as stored. Throws
   * TrialFinishedError when it already finished, unless `skipIfFinished`.
   */
  async tell(trialOrNumber: Trial | number, result: TellResult, options: { skipIfFinished?: boolean } = {}): Promise<FrozenTrial> {
    let trial: Trial | undefined;
    let trialId: number;
    if (typeof trialOrNumber === 'number') {
      trial = this.live.get(trialOrNumber);
      if (trial) trialId = trial.trialId;
      else {
        const found = (await this.storage.getAllTrials(this.studyId)).find((t) => t.number === trialOrNumber);
        if (!found) throw new StudyError('KILN_ERR_TRIAL_NOT_FOUND', `study "${this.studyName}" has no trial #${trialOrNumber}`);
        trialId = found.trialId;
      }
    } else {
      trial = trialOrNumber;
      trialId = trial.trialId;
    }

    let writeError: { value: unknown } | undefined;
    if (trial) {
      try {
        await trial.flushWrites();
      } catch (error) {
        writeError = { value: error };
      }
    }
    const frozen = await this.storage.getTrial(trialId);
    if (frozen.state !== 'RUNNING') {
      trial?.markFinished();
      this.live.delete(frozen.number);
      if (options.skipIfFinished) return frozen;
      throw new TrialFinishedError(`trial #${frozen.number} has already finished with state ${frozen.state}`);
    }

    let state: TrialState;
    let value: number | null = null;
    if (writeError) {
      state = 'FAIL';
    } else if (typeof result === 'number') {
      if (Number.isNaN(result)) {
        state = 'FAIL';
        warnOnce(`trial #${frozen.number} failed because its value is NaN`);
        await this.storage.setTrialSystemAttr(trialId, 'fail_reason', 'the objective value is NaN');
      } else {
        state = 'COMPLETE';
        value = result;
      }
    } else if (result === 'PRUNED') {
      state = 'PRUNED';
      const step = lastStep(frozen);
      const last = step === undefined ? undefined : frozen.intermediateValues.get(step);
      if (last !== undefined && !Number.isNaN(last)) value = last;
    } else if (result === 'FAIL') {
      state = 'FAIL';
    } else {
      throw new KilnError('KILN_ERR_INVALID_TELL', `tell takes a number, 'PRUNED' or 'FAIL' (got ${JSON.stringify(result)})`);
    }

    let changed: boolean;
    const writes: Promise<unknown>[] = [];
    try {
      if (this.sampler.afterTrial) {
        const view = new SnapshotView(this, await this.storage.getAllTrials(this.studyId), {
          writeSystemAttr: (id, key, attr) => writes.push(this.storage.setTrialSystemAttr(id, key, attr)),
          stop: () => this.stop(),
        });
        this.sampler.afterTrial(view, frozen, state, value);
      }
    } finally {
      await Promise.allSettled(writes);
      changed = await this.storage.setTrialStateValue(trialId, state, value);
      trial?.markFinished();
      this.live.delete(frozen.number);
    }
    if (!changed) throw new TrialFinishedError(`trial #${frozen.number} was finished by another worker`);
    if (writeError) throw writeError.value;
    return this.storage.getTrial(trialId);
  }

  /** Runs `objective` over new trials; see the module comment for the rules. */
  async optimize(objective: (trial: Trial) => number | Promise<number>, options: OptimizeOptions = {}): Promise<void> {
    const { nTrials, timeout, concurrency = 1 } = options;
    if (nTrials !== undefined && !(Number.isInteger(nTrials) && nTrials >= 0)) throw new StudyError('KILN_ERR_INVALID_OPTION', `nTrials must be an integer >= 0 (got ${nTrials})`);
    if (timeout !== undefined && !(timeout >= 0)) throw new StudyError('KILN_ERR_INVALID_OPTION', `timeout must be >= 0 seconds (got ${timeout})`);
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new StudyError('KILN_ERR_INVALID_OPTION', `concurrency must be an integer >= 1 (got ${concurrency})`);
    if (this.optimizing) throw new StudyError('KILN_ERR_NESTED_OPTIMIZE', 'optimize is already running on this study (nested optimization is not allowed)');
    this.optimizing = true;
    this.stopRequested = false;
    const catchClasses = options.catch ?? [];
    const callbacks = options.callbacks ?? [];
    const start = performance.now();
    let started = 0;
    let failure: { value: unknown } | undefined;
    const timedOut = (): boolean => timeout !== undefined && (performance.now() - start) / 1000 >= timeout;
    const target = this.studyTarget(options.studyTarget);
    const stopped = (): boolean => this.stopRequested || failure !== undefined || timedOut();
    const worker = async (): Promise<void> => {
      while (!stopped()) {
        if (nTrials !== undefined && started >= nTrials) break;
        started += 1;
        try {
          if (!(await this.runTrial(objective, catchClasses, callbacks, target && { target, stopped }))) break;
        } catch (error) {
          failure ??= { value: error };
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: concurrency }, () => worker()));
    } finally {
      this.optimizing = false;
      this.stopRequested = false;
    }
    if (failure) throw failure.value;
  }

  /** The study's trials in number order (read-only objects), optionally only those in `states`. */
  async trials(states?: readonly TrialState[]): Promise<FrozenTrial[]> {
    return this.storage.getAllTrials(this.studyId, states);
  }

  /** The COMPLETE trial with the best value (the first one on ties); throws when there is none. */
  async bestTrial(): Promise<FrozenTrial> {
    let best: FrozenTrial | undefined;
    for (const trial of await this.storage.getAllTrials(this.studyId, ['COMPLETE'])) {
      if (trial.value === null) continue;
      if (best === undefined || (this.direction === 'minimize' ? trial.value < (best.value as number) : trial.value > (best.value as number))) best = trial;
    }
    if (!best) throw new StudyError('KILN_ERR_NO_COMPLETED_TRIALS', `study "${this.studyName}" has no completed trials yet`);
    return best;
  }

  async bestValue(): Promise<number> {
    return (await this.bestTrial()).value as number;
  }

  async bestParams(): Promise<Record<string, CategoricalChoice>> {
    return { ...(await this.bestTrial()).params };
  }

  /**
   * Queues a trial whose suggestions take `params` (Optuna's enqueue_trial): the next `ask`
   * claims it. Returns the WAITING trial, or undefined when skipped (`skipIfExists`).
   */
  async enqueueTrial(params: Record<string, CategoricalChoice>, options: EnqueueTrialOptions = {}): Promise<FrozenTrial | undefined> {
    if (options.skipIfExists) {
      for (const trial of await this.storage.getAllTrials(this.studyId)) {
        const fixed = trial.systemAttrs.fixed_params as Record<string, CategoricalChoice> | undefined;
        if (sameParams(params, fixed ?? trial.params)) return undefined;
      }
    }
    let trial = await this.storage.enqueueTrial(this.studyId, params, {});
    for (const [key, value] of Object.entries(options.userAttrs ?? {})) await this.storage.setTrialUserAttr(trial.trialId, key, value);
    if (options.userAttrs) trial = await this.storage.getTrial(trial.trialId);
    return trial;
  }

  async setUserAttr(key: string, value: unknown): Promise<void> {
    await this.storage.setStudyUserAttr(this.studyId, key, value);
  }

  async userAttrs(): Promise<Record<string, unknown>> {
    return (await this.storage.getStudy(this.studyId)).userAttrs;
  }

  private studyTarget(target: number | undefined): StudyTarget | undefined {
    if (target === undefined) return undefined;
    if (!(Number.isInteger(target) && target >= 0)) throw new StudyError('KILN_ERR_INVALID_OPTION', `studyTarget must be an integer >= 0 (got ${target})`);
    const heartbeat = this.heartbeatIntervalMs === undefined ? undefined : { intervalMs: this.heartbeatIntervalMs, graceMs: this.gracePeriodMs as number };
    return new StudyTarget(this.storage, this.studyId, target, heartbeat);
  }

  /** A trial past the study's target: failed before it runs, and not counted. */
  private async abandon(trial: Trial): Promise<void> {
    trial.setSystemAttr('fail_reason', OVER_TARGET_REASON);
    await this.tell(trial, 'FAIL', { skipIfFinished: true });
  }

  /** Runs one trial; false when none started (the study's target is met). */
  private async runTrial(
    objective: (trial: Trial) => number | Promise<number>,
    catchClasses: readonly ErrorClass[],
    callbacks: readonly StudyCallback[],
    budget?: { target: StudyTarget; stopped: () => boolean },
  ): Promise<boolean> {
    // With a study target, reserve() fails stale trials itself (each time it looks).
    if (this.gracePeriodMs !== undefined && !budget) await this.storage.failStaleTrials(this.studyId, this.gracePeriodMs);
    const trial = budget ? await budget.target.reserve(() => this.ask(), (t) => this.abandon(t), budget.stopped) : await this.ask();
    if (trial === undefined) return false;
    const stopHeartbeat = await this.startHeartbeat(trial.trialId);
    let result: TellResult;
    let error: { value: unknown } | undefined;
    let failReason: string | undefined;
    try {
      const value: unknown = await objective(trial);
      if (typeof value === 'number') result = value;
      else {
        result = 'FAIL';
        failReason = `the objective returned ${value === null ? 'null' : typeof value}, not a number`;
        warnOnce(`trial #${trial.number} failed because ${failReason}`);
      }
    } catch (thrown) {
      if (thrown instanceof TrialPruned) result = 'PRUNED';
      else {
        result = 'FAIL';
        error = { value: thrown };
        failReason = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
      }
    } finally {
      stopHeartbeat();
    }
    if (failReason !== undefined && !trial.isFinished) trial.setSystemAttr('fail_reason', failReason);
    const frozen = await this.tell(trial, result, { skipIfFinished: true });
    if (error && !catchClasses.some((cls) => error.value instanceof cls)) throw error.value;
    for (const callback of callbacks) await callback(this, frozen);
    return true;
  }

  private async startHeartbeat(trialId: number): Promise<() => void> {
    const interval = this.heartbeatIntervalMs;
    if (interval === undefined) return () => undefined;
    await this.storage.recordHeartbeat(trialId);
    const timer = setInterval(() => {
      this.storage.recordHeartbeat(trialId).catch(() => undefined);
    }, interval);
    timer.unref();
    return () => clearInterval(timer);
  }
}

/**
 * Creates a study (or, with `loadIfExists`, loads the one named `studyName`). Defaults:
 * direction 'minimize', TPESampler, MedianPruner, a new InMemoryStorage.
 */
export async function createStudy(options: CreateStudyOptions = {}): Promise<Study> {
  const storage = options.storage ?? new InMemoryStorage();
  const name = options.studyName ?? `no-name-${randomUUID()}`;
  const direction = options.direction ?? 'minimize';
  let studyId = await storage.getStudyIdByName(name);
  if (studyId === undefined) {
    try {
      studyId = await storage.createStudy(name, direction);
    } catch (error) {
      // Another worker may have created it between the look-up and the insert.
      studyId = options.loadIfExists ? await storage.getStudyIdByName(name) : undefined;
      if (studyId === undefined) throw error;
    }
  } else if (!options.loadIfExists) {
    throw new StudyError('KILN_ERR_DUPLICATED_STUDY', `a study named "${name}" already exists (pass loadIfExists to load it)`);
  }
  const summary = await storage.getStudy(studyId);
  if (options.direction !== undefined && summary.direction !== options.direction) {
    throw new StudyError('KILN_ERR_DIRECTION_MISMATCH', `study "${name}" exists with direction ${summary.direction}, not ${options.direction}`);
  }
  return new Study(storage, summary, options);
}

/** Loads the study named `studyName` from `storage` (its trials continue their numbering). */
export async function loadStudy(studyName: string, storage: StudyStorage, options: StudyOptions = {}): Promise<Study> {
  const studyId = await storage.getStudyIdByName(studyName);
  if (studyId === undefined) throw new StudyError('KILN_ERR_STUDY_NOT_FOUND', `no study named "${studyName}"`);
  return new Study(storage, await storage.getStudy(studyId), options);
}
