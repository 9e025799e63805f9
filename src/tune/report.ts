/**
 * tune/report — read-only, JSON-ready views of stored studies for people (the tracking server's
 * /api/2.0/kiln/studies endpoints and the web UI). It owns the shape of those views, so that the
 * server never reaches into the tuner's tables: it goes through `StudyReports` only.
 */
import { parameterImportances, type ImportanceEvaluator } from './importance.js';
import type { CategoricalChoice, Distribution, FrozenTrial, StudyDirection, StudyStorage, TrialState } from './types.js';

/** One study in a list: enough to pick it and see how far it got. */
export interface StudyListItem {
  name: string;
  direction: StudyDirection;
  n_trials: number;
  states: Partial<Record<TrialState, number>>;
  best_value: number | null;
  best_trial: number | null;
  /** Epoch ms of the first trial's start, or null before any. */
  started: number | null;
}

/** One trial, with values as JSON allows (non-finite values become null, steps stay numbers). */
export interface TrialReport {
  number: number;
  state: TrialState;
  value: number | null;
  params: Record<string, CategoricalChoice>;
  distributions: Record<string, Distribution>;
  /** [step, value] pairs in step order; a NaN report is null. */
  intermediate_values: Array<[number, number | null]>;
  datetime_start: number | null;
  datetime_complete: number | null;
  /** The tracking run the trial trained in (the objective's `run_id` user attribute), if any. */
  run_id: string | null;
  user_attrs: Record<string, unknown>;
}

export interface StudyReport extends Omit<StudyListItem, 'states'> {
  states: Partial<Record<TrialState, number>>;
  trials: TrialReport[];
  user_attrs: Record<string, unknown>;
}

export interface ImportanceReport {
  evaluator: ImportanceEvaluator;
  /** Parameter → share of the objective's variance, summing to 1, largest first. */
  importances: Record<string, number>;
  /** The COMPLETE trials they were computed from. */
  n_complete: number;
  /** Why there are none, when `importances` is empty. */
  reason?: string;
}

/** What the tracking server may ask about studies. Unknown names reject with StudyNotFound. */
export interface StudyReports {
  list(): Promise<StudyListItem[]>;
  get(name: string): Promise<StudyReport>;
  importances(name: string, evaluator?: ImportanceEvaluator): Promise<ImportanceReport>;
}

export class StudyNotFound extends Error {
  readonly code = 'STUDY_NOT_FOUND';
  constructor(name: string) {
    super(`no study named "${name}"`);
  }
}

const finite = (value: number | null): number | null => (value !== null && Number.isFinite(value) ? value : null);

function best(trials: readonly FrozenTrial[], direction: StudyDirection): FrozenTrial | null {
  let found: FrozenTrial | null = null;
  for (const t of trials) {
    if (t.state !== 'COMPLETE' || finite(t.value) === null) continue;
    if (found === null || (direction === 'maximize' ? t.value! > found.value! : t.value! < found.value!)) found = t;
  }
  return found;
}

function counts(trials: readonly FrozenTrial[]): Partial<Record<TrialState, number>> {
  const states: Partial<Record<TrialState, number>> = {};
  for (const t of trials) states[t.state] = (states[t.state] ?? 0) + 1;
  return states;
}

function trialReport(t: FrozenTrial): TrialReport {
  return {
    number: t.number,
    state: t.state,
    value: finite(t.value),
    params: t.params,
    distributions: t.distributions,
    intermediate_values: [...t.intermediateValues.entries()].sort((a, b) => a[0] - b[0]).map(([step, v]) => [step, finite(v)]),
    datetime_start: t.datetimeStart,
    datetime_complete: t.datetimeComplete,
    run_id: typeof t.userAttrs.run_id === 'string' ? t.userAttrs.run_id : null,
    user_attrs: t.userAttrs,
  };
}

/** Reports over any StudyStorage (the SQL one in the tracking database, or memory in tests). */
export function studyReports(storage: Pick<StudyStorage, 'listStudies' | 'getStudyIdByName' | 'getStudy' | 'getAllTrials'>): StudyReports {
  const load = async (name: string): Promise<{ direction: StudyDirection; trials: FrozenTrial[]; userAttrs: Record<string, unknown> }> => {
    const id = await storage.getStudyIdByName(name);
    if (id === undefined) throw new StudyNotFound(name);
    const summary = await storage.getStudy(id);
    return { direction: summary.direction, trials: await storage.getAllTrials(id), userAttrs: summary.userAttrs };
  };
  const item = (name: string, direction: StudyDirection, trials: FrozenTrial[]): StudyListItem => {
    const top = best(trials, direction);
    const starts = trials.map((t) => t.datetimeStart).filter((s): s is number => s !== null);
    return {
      name,
      direction,
      n_trials: trials.length,
      states: counts(trials),
      best_value: top ? finite(top.value) : null,
      best_trial: top ? top.number : null,
      started: starts.length > 0 ? Math.min(...starts) : null,
    };
  };
  return {
    async list() {
      const studies = await storage.listStudies();
      return Promise.all(studies.map(async (s) => item(s.name, s.direction, await storage.getAllTrials(s.studyId))));
    },
    async get(name) {
      const { direction, trials, userAttrs } = await load(name);
      return { ...item(name, direction, trials), trials: trials.map(trialReport), user_attrs: userAttrs };
    },
    async importances(name, evaluator = 'fanova') {
      const { direction, trials } = await load(name);
      const complete = trials.filter((t) => t.state === 'COMPLETE' && finite(t.value) !== null);
      if (complete.length < 2) {
        return { evaluator, importances: {}, n_complete: complete.length, reason: 'importances need at least two complete trials' };
      }
      return { evaluator, importances: parameterImportances(trials, { evaluator, direction, seed: 0 }), n_complete: complete.length };
    },
  };
}
