/**
 * tune/shared-study — how independent processes (on one machine or many, through a database or a
 * tracking server) share one study without duplicating work or leaving it short:
 *
 * - Seeds: the process that created the study keeps the configured seed, so a study one process
 *   owns is reproducible (same seed → same trials); a process that joined an existing study mixes
 *   the seed with its host, pid and random bytes (`processSeed`), or two processes would propose
 *   the same points trial by trial.
 * - A study-wide target (`StudyTarget`): `n_trials` is counted for the study, not per process.
 *   Every trial counts except those lost with their worker (failed for a stale heartbeat or an
 *   interruption), those abandoned as over the target, and enqueued ones not yet claimed; a process starts a trial only while
 *   the count is below the target, so a dead worker's remaining and lost trials are picked up by
 *   the others. Trial numbers are assigned atomically, so a trial whose number comes after the
 *   target's last slot (two processes checked at once) is abandoned before it runs, not trained.
 * - Rounds (`roundTarget`): the target is kept on the study (system attribute
 *   `n_trials_target`); a process joining while it is not reached helps finish it, one starting
 *   after it was reached begins a new round of `n_trials` more (a resumed study runs `n_trials`
 *   more, as before; one whose round was cut short, by Ctrl-C or a crash, finishes it first).
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { KilnError } from '../common/errors.js';
import type { FrozenTrial, StudyDirection, StudyStorage } from './types.js';

export const TARGET_ATTR = 'n_trials_target';
/** fail_reason of a trial abandoned because the study already had its target when it was created. */
export const OVER_TARGET_REASON = 'not run: the study already had its n_trials when this trial was created';

/** Whether a trial counts toward the study's target (see the module comment). */
export function countsTowardTarget(trial: FrozenTrial): boolean {
  if (trial.state === 'WAITING') return false; // an enqueued trial counts once a worker claims it
  if (trial.state !== 'FAIL') return true;
  const reason = trial.systemAttrs.fail_reason;
  // The storages' failStaleTrials write "no heartbeat for …"; kiln tune's Ctrl-C writes "interrupted".
  return !(typeof reason === 'string' && (reason.startsWith('no heartbeat') || reason === 'interrupted' || reason === OVER_TARGET_REASON));
}

/** Creates the study unless it exists; true when this process created it (and so owns its seed). */
export async function createStudyIfAbsent(storage: StudyStorage, name: string, direction: StudyDirection): Promise<boolean> {
  try {
    await storage.createStudy(name, direction);
    return true;
  } catch (error) {
    if (error instanceof KilnError && error.code === 'KILN_ERR_DUPLICATED_STUDY') return false;
    throw error;
  }
}

/** The sampler seed of this process: `seed` for the study's creator, else mixed with host, pid and random bytes. */
export function processSeed(seed: number, joined: boolean): number {
  if (!joined) return seed;
  const digest = createHash('sha256').update(`${seed}:${hostname()}:${process.pid}:`).update(randomBytes(16)).digest();
  return digest.readUInt32LE(0);
}

/** The target of the round this process takes part in, recorded on the study when it starts a new one. */
export async function roundTarget(storage: StudyStorage, studyId: number, nTrials: number): Promise<number> {
  const recorded = (await storage.getStudy(studyId)).systemAttrs[TARGET_ATTR];
  const counted = (await storage.getAllTrials(studyId)).filter(countsTowardTarget);
  const active = counted.some((t) => t.state === 'RUNNING');
  if (typeof recorded === 'number' && (counted.length < recorded || active)) return recorded;
  const target = counted.length + nTrials;
  await storage.setStudySystemAttr(studyId, TARGET_ATTR, target);
  return target;
}

// Not unref'd: a process waiting here for other workers must stay alive until it has looked again.
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The study-wide trial budget of one `optimize` call (see the module comment). */
export class StudyTarget {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly storage: StudyStorage,
    private readonly studyId: number,
    readonly target: number,
    /**
     * Heartbeats of the study's workers: while other workers' RUNNING trials fill the target, look
     * again every `intervalMs`, failing those silent for `graceMs`. Undefined: do not wait.
     */
    private readonly heartbeat: { intervalMs: number; graceMs: number } | undefined,
  ) {}

  /**
   * Starts a trial with `ask` when the study is below its target, waiting while other workers'
   * RUNNING trials fill it (one may die and be failed stale); undefined when the target is met
   * or `stopped()`. A trial created past the target is handed to `abandon` and not returned.
   */
  reserve<T extends { number: number }>(ask: () => Promise<T>, abandon: (trial: T) => Promise<void>, stopped: () => boolean): Promise<T | undefined> {
    // One reservation at a time in this process: concurrent trials must not all see the last slot free.
    const result = this.tail.then(() => this.reserveNow(ask, abandon, stopped));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async reserveNow<T extends { number: number }>(ask: () => Promise<T>, abandon: (trial: T) => Promise<void>, stopped: () => boolean): Promise<T | undefined> {
    while (!stopped()) {
      if (this.heartbeat) await this.storage.failStaleTrials(this.studyId, this.heartbeat.graceMs);
      const counted = (await this.storage.getAllTrials(this.studyId)).filter(countsTowardTarget);
      if (counted.length < this.target) {
        const trial = await ask();
        if (await this.withinTarget(trial.number)) return trial;
        await abandon(trial);
        continue;
      }
      if (this.heartbeat === undefined || !counted.some((t) => t.state === 'RUNNING')) return undefined;
      await sleep(this.heartbeat.intervalMs);
    }
    return undefined;
  }

  /** Whether fewer than `target` counted trials come before trial `number` (numbers are atomic). */
  private async withinTarget(number: number): Promise<boolean> {
    const before = (await this.storage.getAllTrials(this.studyId)).filter((t) => t.number < number && countsTowardTarget(t));
    return before.length < this.target;
  }
}
