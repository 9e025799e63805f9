/**
 * tune/storage/memory — InMemoryStorage, the StudyStorage of a single process (Optuna's
 * InMemoryStorage).
 *
 * Trials are stored copy-on-write: every update replaces the stored FrozenTrial with a new,
 * frozen object, so `getTrial`/`getAllTrials` can hand out the stored objects without copying
 * (cheap for samplers that read every trial at every step). Treat returned trials as read-only.
 *
 * Rules (shared by every StudyStorage, see contract.ts): a finished trial (COMPLETE, PRUNED,
 * FAIL) cannot be modified; a state change happens only from RUNNING; trial numbers are
 * consecutive per study; a parameter name keeps a compatible distribution across the study's
 * trials (and the same distribution within one trial); `failStaleTrials` fails RUNNING trials
 * whose last heartbeat — or, for one that never beat, its start — is older than the grace period.
 */
import { KilnError } from '../../common/errors.js';
import { checkDistributionCompatibility, describeDistribution, distributionsEqual, toInternal } from '../distributions.js';
import { IncompatibleDistributionError, StudyError, TrialFinishedError } from '../errors.js';
import type {
  CategoricalChoice,
  Distribution,
  FrozenTrial,
  StudyDirection,
  StudyStorage,
  StudySummary,
  TrialState,
} from '../types.js';

interface StudyRecord {
  summary: StudySummary;
  trialIds: number[];
  /** The latest distribution set for each parameter name (for compatibility checks). */
  paramDistributions: Map<string, Distribution>;
}

const FINISHED: ReadonlySet<TrialState> = new Set(['COMPLETE', 'PRUNED', 'FAIL']);

/** Whether a trial state is final. */
export function isFinished(state: TrialState): boolean {
  return FINISHED.has(state);
}

function freezeTrial(trial: FrozenTrial): FrozenTrial {
  Object.freeze(trial.params);
  Object.freeze(trial.internalParams);
  Object.freeze(trial.distributions);
  Object.freeze(trial.userAttrs);
  Object.freeze(trial.systemAttrs);
  return Object.freeze(trial);
}

export interface InMemoryStorageOptions {
  /** Clock in epoch milliseconds (tests inject one to age heartbeats). Default Date.now. */
  now?: () => number;
}

export class InMemoryStorage implements StudyStorage {
  private readonly studies = new Map<number, StudyRecord>();
  private readonly trials = new Map<number, { studyId: number; trial: FrozenTrial }>();
  private readonly heartbeats = new Map<number, number>();
  private nextStudyId = 0;
  private nextTrialId = 0;
  private readonly now: () => number;

  constructor(options: InMemoryStorageOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  async createStudy(name: string, direction: StudyDirection): Promise<number> {
    if (direction !== 'minimize' && direction !== 'maximize') {
      throw new StudyError('KILN_ERR_INVALID_DIRECTION', `direction must be 'minimize' or 'maximize' (got ${String(direction)})`);
    }
    for (const record of this.studies.values()) {
      if (record.summary.name === name) throw new StudyError('KILN_ERR_DUPLICATED_STUDY', `a study named "${name}" already exists`);
    }
    const studyId = this.nextStudyId++;
    this.studies.set(studyId, {
      summary: { studyId, name, direction, userAttrs: {}, systemAttrs: {} },
      trialIds: [],
      paramDistributions: new Map(),
    });
    return studyId;
  }

  async getStudyIdByName(name: string): Promise<number | undefined> {
    for (const [studyId, record] of this.studies) if (record.summary.name === name) return studyId;
    return undefined;
  }

  async getStudy(studyId: number): Promise<StudySummary> {
    return this.summaryCopy(this.study(studyId));
  }

  async listStudies(): Promise<StudySummary[]> {
    return [...this.studies.values()].map((record) => this.summaryCopy(record));
  }

  async deleteStudy(studyId: number): Promise<void> {
    const record = this.study(studyId);
    for (const trialId of record.trialIds) {
      this.trials.delete(trialId);
      this.heartbeats.delete(trialId);
    }
    this.studies.delete(studyId);
  }

  async setStudyUserAttr(studyId: number, key: string, value: unknown): Promise<void> {
    const record = this.study(studyId);
    record.summary.userAttrs = { ...record.summary.userAttrs, [key]: value };
  }

  async setStudySystemAttr(studyId: number, key: string, value: unknown): Promise<void> {
    const record = this.study(studyId);
    record.summary.systemAttrs = { ...record.summary.systemAttrs, [key]: value };
  }

  async createTrial(studyId: number): Promise<FrozenTrial> {
    return this.newTrial(studyId, 'RUNNING', {}, {});
  }

  async claimWaitingTrial(studyId: number): Promise<FrozenTrial | undefined> {
    const record = this.study(studyId);
    for (const trialId of record.trialIds) {
      const trial = this.entry(trialId).trial;
      if (trial.state === 'WAITING') {
        return this.replace(trialId, { state: 'RUNNING', datetimeStart: this.now() });
      }
    }
    return undefined;
  }

  async enqueueTrial(studyId: number, params: Record<string, CategoricalChoice>, distributions: Record<string, Distribution>): Promise<FrozenTrial> {
    const record = this.study(studyId);
    const internal: Record<string, number> = {};
    const dists: Record<string, Distribution> = {};
    const external: Record<string, CategoricalChoice> = {};
    for (const [name, distribution] of Object.entries(distributions)) {
      if (!(name in params)) continue;
      const previous = record.paramDistributions.get(name);
      if (previous) checkDistributionCompatibility(name, previous, distribution);
      internal[name] = toInternal(distribution, params[name]);
      dists[name] = distribution;
      external[name] = params[name];
    }
    const trial = this.newTrial(studyId, 'WAITING', { fixed_params: { ...params } }, {});
    for (const [name, distribution] of Object.entries(dists)) record.paramDistributions.set(name, distribution);
    return this.replace(trial.trialId, { params: external, internalParams: internal, distributions: dists });
  }

  async setTrialParam(trialId: number, name: string, internalValue: number, distribution: Distribution): Promise<void> {
    const { studyId, trial } = this.updatable(trialId);
    const record = this.study(studyId);
    const own = trial.distributions[name];
    if (own !== undefined && !distributionsEqual(own, distribution)) {
      throw new IncompatibleDistributionError(name, `already set in trial #${trial.number} with another distribution (${describeDistribution(own)})`);
    }
    const previous = record.paramDistributions.get(name);
    if (previous) checkDistributionCompatibility(name, previous, distribution);
    const external = distribution.type === 'categorical' ? distribution.choices[internalValue] : distribution.type === 'int' ? Math.round(internalValue) : internalValue;
    record.paramDistributions.set(name, distribution);
    this.replace(trialId, {
      params: { ...trial.params, [name]: external },
      internalParams: { ...trial.internalParams, [name]: internalValue },
      distributions: { ...trial.distributions, [name]: distribution },
    });
  }

  async setTrialIntermediateValue(trialId: number, step: number, value: number): Promise<void> {
    const { trial } = this.updatable(trialId);
    const intermediateValues = new Map(trial.intermediateValues);
    intermediateValues.set(step, value);
    this.replace(trialId, { intermediateValues });
  }

  async setTrialStateValue(trialId: number, state: TrialState, value?: number | null): Promise<boolean> {
    if (!isFinished(state)) {
      throw new KilnError('KILN_ERR_INVALID_TRIAL_STATE', `a trial can only be moved to COMPLETE, PRUNED or FAIL (got ${state})`);
    }
    const { trial } = this.entry(trialId);
    if (trial.state !== 'RUNNING') return false;
    this.replace(trialId, { state, value: value ?? null, datetimeComplete: this.now() });
    this.heartbeats.delete(trialId);
    return true;
  }

  async setTrialUserAttr(trialId: number, key: string, value: unknown): Promise<void> {
    const { trial } = this.updatable(trialId);
    this.replace(trialId, { userAttrs: { ...trial.userAttrs, [key]: value } });
  }

  async setTrialSystemAttr(trialId: number, key: string, value: unknown): Promise<void> {
    const { trial } = this.updatable(trialId);
    this.replace(trialId, { systemAttrs: { ...trial.systemAttrs, [key]: value } });
  }

  async getTrial(trialId: number): Promise<FrozenTrial> {
    return this.entry(trialId).trial;
  }

  async getAllTrials(studyId: number, states?: readonly TrialState[]): Promise<FrozenTrial[]> {
    const record = this.study(studyId);
    const out: FrozenTrial[] = [];
    for (const trialId of record.trialIds) {
      const trial = this.entry(trialId).trial;
      if (!states || states.includes(trial.state)) out.push(trial);
    }
    return out;
  }

  async recordHeartbeat(trialId: number): Promise<void> {
    const { trial } = this.entry(trialId);
    // A heartbeat timer may fire once more after its trial finished; that is not an error.
    if (trial.state === 'RUNNING') this.heartbeats.set(trialId, this.now());
  }

  async failStaleTrials(studyId: number, graceMs: number): Promise<number[]> {
    const record = this.study(studyId);
    const deadline = this.now() - graceMs;
    const failed: number[] = [];
    for (const trialId of record.trialIds) {
      const trial = this.entry(trialId).trial;
      if (trial.state !== 'RUNNING') continue;
      // A trial that never beat counts from when it started running.
      const beat = this.heartbeats.get(trialId) ?? trial.datetimeStart ?? this.now();
      if (beat >= deadline) continue;
      this.replace(trialId, {
        systemAttrs: { ...trial.systemAttrs, fail_reason: `no heartbeat for over ${graceMs} ms` },
      });
      await this.setTrialStateValue(trialId, 'FAIL', null);
      failed.push(trialId);
    }
    return failed;
  }

  async close(): Promise<void> {
    // Nothing to release; the data lives as long as this object.
  }

  private study(studyId: number): StudyRecord {
    const record = this.studies.get(studyId);
    if (!record) throw new StudyError('KILN_ERR_STUDY_NOT_FOUND', `no study with id ${studyId}`);
    return record;
  }

  private summaryCopy(record: StudyRecord): StudySummary {
    return { ...record.summary, userAttrs: { ...record.summary.userAttrs }, systemAttrs: { ...record.summary.systemAttrs } };
  }

  private entry(trialId: number): { studyId: number; trial: FrozenTrial } {
    const entry = this.trials.get(trialId);
    if (!entry) throw new KilnError('KILN_ERR_TRIAL_NOT_FOUND', `no trial with id ${trialId}`);
    return entry;
  }

  private updatable(trialId: number): { studyId: number; trial: FrozenTrial } {
    const entry = this.entry(trialId);
    if (isFinished(entry.trial.state)) {
      throw new TrialFinishedError(`trial #${entry.trial.number} (id ${trialId}) has already finished with state ${entry.trial.state} and cannot be changed`);
    }
    return entry;
  }

  private newTrial(studyId: number, state: TrialState, systemAttrs: Record<string, unknown>, userAttrs: Record<string, unknown>): FrozenTrial {
    const record = this.study(studyId);
    const trialId = this.nextTrialId++;
    const trial: FrozenTrial = {
      trialId,
      number: record.trialIds.length,
      state,
      value: null,
      params: {},
      internalParams: {},
      distributions: {},
      intermediateValues: new Map(),
      userAttrs,
      systemAttrs,
      datetimeStart: state === 'RUNNING' ? this.now() : null,
      datetimeComplete: null,
    };
    record.trialIds.push(trialId);
    this.trials.set(trialId, { studyId, trial: freezeTrial(trial) });
    return trial;
  }

  private replace(trialId: number, changes: Partial<FrozenTrial>): FrozenTrial {
    const entry = this.entry(trialId);
    entry.trial = freezeTrial({ ...entry.trial, ...changes });
    return entry.trial;
  }
}
