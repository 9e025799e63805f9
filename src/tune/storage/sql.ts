/**
 * tune/storage/sql — studies in the tracking database (SQLite or PostgreSQL), so that worker
 * processes on one machine, or on several with PostgreSQL, share one study.
 *
 * Every state change is a conditional UPDATE (`… WHERE state = 'RUNNING'`), so two workers can
 * never both finish, or both claim, the same trial; trial numbers come from a unique
 * (study, number) index, retried on collision. Running trials record heartbeats; a trial whose
 * worker stopped beating is marked FAIL by whichever worker looks next.
 *
 * @example
 * const storage = await openStudyStorage('sqlite:///kiln-data/tracking.db');
 * const study = await createStudy({ studyName: 'mlp', storage, loadIfExists: true });
 */
import { KilnError } from '../../common/errors.js';
import { openDatabase, type SqlDriver, type SqlExecutor } from '../../db/index.js';
import { toExternal, toInternal } from '../distributions.js';
import { IncompatibleDistributionError, StudyError, TrialFinishedError } from '../errors.js';
import type { CategoricalChoice, Distribution, FrozenTrial, StudyDirection, StudyStorage, StudySummary, TrialState } from '../types.js';

interface TrialRow {
  trial_id: number;
  number: number;
  state: TrialState;
  value: number | null;
  datetime_start: number | null;
  datetime_complete: number | null;
}

function finished(state: TrialState): boolean {
  return state === 'COMPLETE' || state === 'PRUNED' || state === 'FAIL';
}

export class SqlStudyStorage implements StudyStorage {
  constructor(private readonly db: SqlDriver) {}

  async createStudy(name: string, direction: StudyDirection): Promise<number> {
    if (name === '') throw new StudyError('KILN_ERR_INVALID_STUDY_NAME', 'a study needs a name');
    try {
      await this.db.run('INSERT INTO studies (name, direction, created_at) VALUES (?, ?, ?)', [name, direction, Date.now()]);
    } catch (error) {
      if (this.db.isUniqueViolation(error)) throw new StudyError('KILN_ERR_DUPLICATED_STUDY', `a study named "${name}" already exists (load it, or pass loadIfExists)`);
      throw error;
    }
    return (await this.getStudyIdByName(name)) as number;
  }

  async getStudyIdByName(name: string): Promise<number | undefined> {
    const row = await this.db.get<{ study_id: number }>('SELECT study_id FROM studies WHERE name = ?', [name]);
    return row === undefined ? undefined : Number(row.study_id);
  }

  async getStudy(studyId: number): Promise<StudySummary> {
    const row = await this.db.get<{ study_id: number; name: string; direction: StudyDirection }>('SELECT study_id, name, direction FROM studies WHERE study_id = ?', [studyId]);
    if (row === undefined) throw new StudyError('KILN_ERR_STUDY_NOT_FOUND', `no study with id ${studyId}`);
    return this.summary(row);
  }

  async listStudies(): Promise<StudySummary[]> {
    const rows = await this.db.all<{ study_id: number; name: string; direction: StudyDirection }>('SELECT study_id, name, direction FROM studies ORDER BY study_id');
    return Promise.all(rows.map((row) => this.summary(row)));
  }

  async deleteStudy(studyId: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      const trialIds = `SELECT trial_id FROM trials WHERE study_id = ?`;
      for (const table of ['trial_params', 'trial_intermediate_values', 'trial_attrs']) await tx.run(`DELETE FROM ${table} WHERE trial_id IN (${trialIds})`, [studyId]);
      await tx.run('DELETE FROM trials WHERE study_id = ?', [studyId]);
      await tx.run('DELETE FROM study_attrs WHERE study_id = ?', [studyId]);
      await tx.run('DELETE FROM studies WHERE study_id = ?', [studyId]);
    });
  }

  setStudyUserAttr(studyId: number, key: string, value: unknown): Promise<void> {
    return this.setAttr('study_attrs', 'study_id', studyId, 'user', key, value);
  }

  setStudySystemAttr(studyId: number, key: string, value: unknown): Promise<void> {
    return this.setAttr('study_attrs', 'study_id', studyId, 'system', key, value);
  }

  async createTrial(studyId: number): Promise<FrozenTrial> {
    await this.getStudy(studyId);
    // Numbers are MAX+1; two workers racing for the same number collide on the unique index
    // and the loser tries again.
    for (let attempt = 0; ; attempt++) {
      try {
        const trialId = await this.db.transaction(async (tx) => {
          const next = await tx.get<{ n: number | null }>('SELECT MAX(number) AS n FROM trials WHERE study_id = ?', [studyId]);
          const number = next?.n === null || next?.n === undefined ? 0 : Number(next.n) + 1;
          const now = Date.now();
          await tx.run("INSERT INTO trials (study_id, number, state, datetime_start, heartbeat) VALUES (?, ?, 'RUNNING', ?, ?)", [studyId, number, now, now]);
          return (await tx.get<{ trial_id: number }>('SELECT trial_id FROM trials WHERE study_id = ? AND number = ?', [studyId, number]))?.trial_id;
        });
        return this.getTrial(Number(trialId));
      } catch (error) {
        if (!this.db.isUniqueViolation(error) || attempt >= 50) throw error;
      }
    }
  }

  async claimWaitingTrial(studyId: number): Promise<FrozenTrial | undefined> {
    for (;;) {
      const waiting = await this.db.get<{ trial_id: number }>("SELECT trial_id FROM trials WHERE study_id = ? AND state = 'WAITING' ORDER BY number LIMIT 1", [studyId]);
      if (waiting === undefined) return undefined;
      const now = Date.now();
      const claimed = await this.db.run("UPDATE trials SET state = 'RUNNING', datetime_start = ?, heartbeat = ? WHERE trial_id = ? AND state = 'WAITING'", [
        now,
        now,
        waiting.trial_id,
      ]);
      if (claimed === 1) return this.getTrial(Number(waiting.trial_id));
      // Another worker claimed it first: look again.
    }
  }

  async enqueueTrial(studyId: number, params: Record<string, CategoricalChoice>, distributions: Record<string, Distribution>): Promise<FrozenTrial> {
    const trial = await this.createTrial(studyId);
    await this.db.transaction(async (tx) => {
      await tx.run("UPDATE trials SET state = 'WAITING', datetime_start = NULL, heartbeat = NULL WHERE trial_id = ?", [trial.trialId]);
      // As InMemoryStorage: every fixed value goes to `fixed_params` (the trial's suggestions read
      // it); those with a distribution are also stored as params right away.
      await tx.run("INSERT INTO trial_attrs (trial_id, kind, key, value_json) VALUES (?, 'system', 'fixed_params', ?)", [trial.trialId, JSON.stringify(params)]);
      for (const [name, value] of Object.entries(params)) {
        const distribution = distributions[name];
        if (distribution !== undefined) await this.insertParam(tx, trial.trialId, name, toInternal(distribution, value), distribution);
      }
    });
    return this.getTrial(trial.trialId);
  }

  async setTrialParam(trialId: number, name: string, internalValue: number, distribution: Distribution): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.assertUnfinished(tx, trialId);
      const existing = await tx.get<{ distribution_json: string }>('SELECT distribution_json FROM trial_params WHERE trial_id = ? AND name = ?', [trialId, name]);
      if (existing !== undefined) {
        if (existing.distribution_json !== JSON.stringify(distribution)) throw new IncompatibleDistributionError(name, `trial ${trialId} already set it with another distribution`);
        return;
      }
      await this.insertParam(tx, trialId, name, internalValue, distribution);
    });
  }

  async setTrialIntermediateValue(trialId: number, step: number, value: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.assertUnfinished(tx, trialId);
      const nan = Number.isNaN(value);
      await tx.run(
        `INSERT INTO trial_intermediate_values (trial_id, step, value, is_nan) VALUES (?, ?, ?, ?)
         ON CONFLICT (trial_id, step) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan`,
        [trialId, step, nan ? null : value, nan ? 1 : 0],
      );
    });
  }

  async setTrialStateValue(trialId: number, state: TrialState, value: number | null = null): Promise<boolean> {
    const complete = finished(state) ? Date.now() : null;
    const stored = value === null || Number.isNaN(value) ? null : value;
    const changed =
      state === 'RUNNING'
        ? await this.db.run("UPDATE trials SET state = 'RUNNING', datetime_start = ?, heartbeat = ? WHERE trial_id = ? AND state = 'WAITING'", [Date.now(), Date.now(), trialId])
        : await this.db.run("UPDATE trials SET state = ?, value = ?, datetime_complete = ? WHERE trial_id = ? AND state = 'RUNNING'", [state, stored, complete, trialId]);
    return changed === 1;
  }

  setTrialUserAttr(trialId: number, key: string, value: unknown): Promise<void> {
    return this.setAttr('trial_attrs', 'trial_id', trialId, 'user', key, value);
  }

  setTrialSystemAttr(trialId: number, key: string, value: unknown): Promise<void> {
    return this.setAttr('trial_attrs', 'trial_id', trialId, 'system', key, value);
  }

  async getTrial(trialId: number): Promise<FrozenTrial> {
    const row = await this.db.get<TrialRow>('SELECT trial_id, number, state, value, datetime_start, datetime_complete FROM trials WHERE trial_id = ?', [trialId]);
    if (row === undefined) throw new KilnError('KILN_ERR_TRIAL_NOT_FOUND', `no trial with id ${trialId}`);
    return (await this.hydrate([row]))[0];
  }

  async getAllTrials(studyId: number, states?: readonly TrialState[]): Promise<FrozenTrial[]> {
    const filter = states && states.length > 0 ? ` AND state IN (${states.map(() => '?').join(', ')})` : '';
    const rows = await this.db.all<TrialRow>(
      `SELECT trial_id, number, state, value, datetime_start, datetime_complete FROM trials WHERE study_id = ?${filter} ORDER BY number`,
      [studyId, ...(states ?? [])],
    );
    return this.hydrate(rows, studyId);
  }

  async recordHeartbeat(trialId: number): Promise<void> {
    await this.db.run("UPDATE trials SET heartbeat = ? WHERE trial_id = ? AND state = 'RUNNING'", [Date.now(), trialId]);
  }

  async failStaleTrials(studyId: number, graceMs: number): Promise<number[]> {
    const cutoff = Date.now() - graceMs;
    const stale = await this.db.all<{ trial_id: number }>("SELECT trial_id FROM trials WHERE study_id = ? AND state = 'RUNNING' AND heartbeat IS NOT NULL AND heartbeat < ?", [
      studyId,
      cutoff,
    ]);
    const failed: number[] = [];
    for (const { trial_id: id } of stale) {
      // State and reason in one transaction: a reader never sees the FAIL without its reason
      // (shared-study.ts tells a lost trial from a failed one by it).
      const changed = await this.db.transaction(async (tx) => {
        const n = await tx.run("UPDATE trials SET state = 'FAIL', datetime_complete = ? WHERE trial_id = ? AND state = 'RUNNING' AND heartbeat < ?", [Date.now(), id, cutoff]);
        if (n === 1) {
          await tx.run(
            "INSERT INTO trial_attrs (trial_id, kind, key, value_json) VALUES (?, 'system', 'fail_reason', ?) ON CONFLICT (trial_id, kind, key) DO UPDATE SET value_json = excluded.value_json",
            [id, JSON.stringify(`no heartbeat for ${graceMs} ms: its worker died`)],
          );
        }
        return n;
      });
      if (changed === 1) failed.push(Number(id));
    }
    return failed;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  private async summary(row: { study_id: number; name: string; direction: StudyDirection }): Promise<StudySummary> {
    const attrs = await this.db.all<{ kind: string; key: string; value_json: string }>('SELECT kind, key, value_json FROM study_attrs WHERE study_id = ?', [row.study_id]);
    const pick = (kind: string) => Object.fromEntries(attrs.filter((a) => a.kind === kind).map((a) => [a.key, JSON.parse(a.value_json) as unknown]));
    return { studyId: Number(row.study_id), name: row.name, direction: row.direction, userAttrs: pick('user'), systemAttrs: pick('system') };
  }

  private async setAttr(table: 'study_attrs' | 'trial_attrs', idColumn: string, id: number, kind: string, key: string, value: unknown): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (table === 'trial_attrs' && kind === 'user') await this.assertUnfinished(tx, id);
      await tx.run(
        `INSERT INTO ${table} (${idColumn}, kind, key, value_json) VALUES (?, ?, ?, ?) ON CONFLICT (${idColumn}, kind, key) DO UPDATE SET value_json = excluded.value_json`,
        [id, kind, key, JSON.stringify(value ?? null)],
      );
    });
  }

  private async insertParam(tx: SqlExecutor, trialId: number, name: string, internal: number, distribution: Distribution): Promise<void> {
    await tx.run('INSERT INTO trial_params (trial_id, name, internal_value, distribution_json) VALUES (?, ?, ?, ?)', [trialId, name, internal, JSON.stringify(distribution)]);
  }

  private async assertUnfinished(tx: SqlExecutor, trialId: number): Promise<void> {
    const row = await tx.get<{ state: TrialState; number: number }>('SELECT state, number FROM trials WHERE trial_id = ?', [trialId]);
    if (row === undefined) throw new KilnError('KILN_ERR_TRIAL_NOT_FOUND', `no trial with id ${trialId}`);
    if (finished(row.state)) throw new TrialFinishedError(`trial ${row.number} is already ${row.state}; a finished trial cannot be changed`);
  }

  /** Trials with their params, intermediate values and attributes, in a few set-based queries. */
  private async hydrate(rows: TrialRow[], studyId?: number): Promise<FrozenTrial[]> {
    if (rows.length === 0) return [];
    const scope =
      studyId !== undefined
        ? { sql: 'trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)', params: [studyId] }
        : { sql: `trial_id IN (${rows.map(() => '?').join(', ')})`, params: rows.map((r) => r.trial_id) };
    const [params, values, attrs] = await Promise.all([
      this.db.all<{ trial_id: number; name: string; internal_value: number; distribution_json: string }>(
        `SELECT trial_id, name, internal_value, distribution_json FROM trial_params WHERE ${scope.sql}`,
        scope.params,
      ),
      this.db.all<{ trial_id: number; step: number; value: number | null; is_nan: number }>(
        `SELECT trial_id, step, value, is_nan FROM trial_intermediate_values WHERE ${scope.sql} ORDER BY step`,
        scope.params,
      ),
      this.db.all<{ trial_id: number; kind: string; key: string; value_json: string }>(`SELECT trial_id, kind, key, value_json FROM trial_attrs WHERE ${scope.sql}`, scope.params),
    ]);
    const byId = new Map<number, FrozenTrial>();
    const trials = rows.map((row) => {
      const trial: FrozenTrial = {
        trialId: Number(row.trial_id),
        number: Number(row.number),
        state: row.state,
        value: row.value === null ? null : Number(row.value),
        params: {},
        internalParams: {},
        distributions: {},
        intermediateValues: new Map(),
        userAttrs: {},
        systemAttrs: {},
        datetimeStart: row.datetime_start === null ? null : Number(row.datetime_start),
        datetimeComplete: row.datetime_complete === null ? null : Number(row.datetime_complete),
      };
      byId.set(trial.trialId, trial);
      return trial;
    });
    for (const p of params) {
      const trial = byId.get(Number(p.trial_id));
      if (!trial) continue;
      const distribution = JSON.parse(p.distribution_json) as Distribution;
      trial.distributions[p.name] = distribution;
      trial.internalParams[p.name] = Number(p.internal_value);
      trial.params[p.name] = toExternal(distribution, Number(p.internal_value));
    }
    for (const v of values) byId.get(Number(v.trial_id))?.intermediateValues.set(Number(v.step), v.is_nan ? Number.NaN : Number(v.value));
    for (const a of attrs) {
      const trial = byId.get(Number(a.trial_id));
      if (trial) (a.kind === 'user' ? trial.userAttrs : trial.systemAttrs)[a.key] = JSON.parse(a.value_json) as unknown;
    }
    return trials;
  }
}

/** Opens the study storage in the tracking database at `uri` (sqlite:/// or postgresql://); see open.ts for every kind of URI. */
export async function openSqlStudyStorage(uri: string): Promise<SqlStudyStorage> {
  return new SqlStudyStorage(await openDatabase(uri));
}
