/**
 * tune/storage/rest — RestStudyStorage: the StudyStorage of a study kept by a Kiln tracking
 * server, so that a worker on another machine needs only the server's URL
 * (`openStudyStorage('http://tracking:5000')`), and the server's Studies page sees every study.
 *
 * It is a thin client of the server's study-storage endpoints
 * (tracking/server/routes/study-storage.ts, shapes in wire.ts): the server's SQL storage does the
 * real work, so heartbeats, stale trials, conditional state changes and trial numbering behave
 * exactly as against the database itself.
 *
 * Retries (common/retry, exponential backoff with full jitter) only where a repeat cannot do the
 * work twice: reads and idempotent writes (attributes, params, intermediate values, heartbeats)
 * on connection errors, timeouts, 429 and 5xx; every call when the connection was refused, as
 * then the server never saw the request. Creating a study or trial, claiming, enqueueing, a state
 * change, a deletion and failing stale trials are sent once otherwise: after a lost answer the
 * caller sees the error instead of a second trial. The tuner's coded errors come back as the
 * same classes (TrialFinishedError, StudyError, …).
 *
 * @example
 * const storage = await openStudyStorage('http://127.0.0.1:5000');
 * const study = await createStudy({ studyName: 'mlp', storage, loadIfExists: true });
 */
import { KilnError } from '../../common/errors.js';
import { authorizationHeader, baseUrl, type RestConnectionOptions } from '../../common/rest-connection.js';
import { withRetry } from '../../common/retry.js';
import { TrackingError, type TrackingErrorCode } from '../../tracking/store/errors.js';
import type { CategoricalChoice, Distribution, FrozenTrial, StudyDirection, StudyStorage, StudySummary, TrialState } from '../types.js';
import { decodeStudy, decodeTrial, encodeNumber, restoreStudyError, type WireStudy, type WireTrial } from './wire.js';

/** Where the tracking server is and how to reach it (common/rest-connection). */
export type RestStudyStorageOptions = RestConnectionOptions;

/** The path every endpoint lives under. */
export const STUDY_STORAGE_API = '/api/2.0/kiln/study-storage/';

type Json = Record<string, unknown>;

/** A failed exchange and whether repeating it is safe in any case (the server never saw it). */
class Transport extends Error {
  constructor(
    readonly reason: string,
    readonly refused: boolean,
  ) {
    super(reason);
  }
}

/** Answers worth another try for an idempotent call: 429 and 5xx. */
const transientAnswers = new WeakSet<Error>();

function transportError(error: unknown): Transport {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | null)?.code;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Transport(reason, code === 'ECONNREFUSED');
}

export class RestStudyStorage implements StudyStorage {
  readonly url: string;
  private readonly authorization: string | undefined;

  constructor(private readonly options: RestStudyStorageOptions) {
    this.url = baseUrl(options.url);
    this.authorization = authorizationHeader(options);
  }

  async createStudy(name: string, direction: StudyDirection): Promise<number> {
    return Number((await this.write('studies/create', { study_name: name, direction })).study_id);
  }

  async getStudyIdByName(name: string): Promise<number | undefined> {
    try {
      return Number((await this.read(`studies/get-by-name?${new URLSearchParams({ study_name: name })}`)).study_id);
    } catch (error) {
      if (error instanceof KilnError && error.code === 'KILN_ERR_STUDY_NOT_FOUND') return undefined;
      throw error;
    }
  }

  async getStudy(studyId: number): Promise<StudySummary> {
    return decodeStudy((await this.read(`studies/get?study_id=${studyId}`)).study as WireStudy);
  }

  async listStudies(): Promise<StudySummary[]> {
    const studies = (await this.read('studies/list')).studies as WireStudy[] | undefined;
    return (studies ?? []).map(decodeStudy);
  }

  async deleteStudy(studyId: number): Promise<void> {
    await this.write('studies/delete', { study_id: studyId });
  }

  async setStudyUserAttr(studyId: number, key: string, value: unknown): Promise<void> {
    await this.idempotent('studies/set-attr', { study_id: studyId, kind: 'user', key, value: value ?? null });
  }

  async setStudySystemAttr(studyId: number, key: string, value: unknown): Promise<void> {
    await this.idempotent('studies/set-attr', { study_id: studyId, kind: 'system', key, value: value ?? null });
  }

  async createTrial(studyId: number): Promise<FrozenTrial> {
    return decodeTrial((await this.write('trials/create', { study_id: studyId })).trial as WireTrial);
  }

  async claimWaitingTrial(studyId: number): Promise<FrozenTrial | undefined> {
    const trial = (await this.write('trials/claim-waiting', { study_id: studyId })).trial as WireTrial | undefined;
    return trial === undefined ? undefined : decodeTrial(trial);
  }

  async enqueueTrial(studyId: number, params: Record<string, CategoricalChoice>, distributions: Record<string, Distribution>): Promise<FrozenTrial> {
    return decodeTrial((await this.write('trials/enqueue', { study_id: studyId, params, distributions })).trial as WireTrial);
  }

  async setTrialParam(trialId: number, name: string, internalValue: number, distribution: Distribution): Promise<void> {
    await this.idempotent('trials/set-param', { trial_id: trialId, name, internal_value: internalValue, distribution });
  }

  async setTrialIntermediateValue(trialId: number, step: number, value: number): Promise<void> {
    await this.idempotent('trials/set-intermediate-value', { trial_id: trialId, step, value: encodeNumber(value) });
  }

  async setTrialStateValue(trialId: number, state: TrialState, value?: number | null): Promise<boolean> {
    const wire = value === undefined || value === null ? null : encodeNumber(value);
    return (await this.write('trials/set-state', { trial_id: trialId, state, value: wire })).changed === true;
  }

  async setTrialUserAttr(trialId: number, key: string, value: unknown): Promise<void> {
    await this.idempotent('trials/set-attr', { trial_id: trialId, kind: 'user', key, value: value ?? null });
  }

  async setTrialSystemAttr(trialId: number, key: string, value: unknown): Promise<void> {
    await this.idempotent('trials/set-attr', { trial_id: trialId, kind: 'system', key, value: value ?? null });
  }

  async getTrial(trialId: number): Promise<FrozenTrial> {
    return decodeTrial((await this.read(`trials/get?trial_id=${trialId}`)).trial as WireTrial);
  }

  async getAllTrials(studyId: number, states?: readonly TrialState[]): Promise<FrozenTrial[]> {
    const body = await this.call('POST', 'trials/search', { study_id: studyId, ...(states && states.length > 0 ? { states } : {}) }, true);
    return ((body.trials as WireTrial[] | undefined) ?? []).map(decodeTrial);
  }

  async recordHeartbeat(trialId: number): Promise<void> {
    await this.idempotent('trials/heartbeat', { trial_id: trialId });
  }

  async failStaleTrials(studyId: number, graceMs: number): Promise<number[]> {
    const failed = (await this.write('trials/fail-stale', { study_id: studyId, grace_ms: graceMs })).trial_ids as number[] | undefined;
    return (failed ?? []).map(Number);
  }

  async close(): Promise<void> {
    // Nothing held: every call is one HTTP exchange.
  }

  private read(endpoint: string): Promise<Json> {
    return this.call('GET', endpoint, undefined, true);
  }

  private idempotent(endpoint: string, body: Json): Promise<Json> {
    return this.call('POST', endpoint, body, true);
  }

  private write(endpoint: string, body: Json): Promise<Json> {
    return this.call('POST', endpoint, body, false);
  }

  /** One call, retried as the module comment says; the server's error as the tuner's own. */
  private async call(method: 'GET' | 'POST', endpoint: string, body: Json | undefined, idempotent: boolean): Promise<Json> {
    const attempts = this.options.attempts ?? 5;
    try {
      return await withRetry(() => this.request(method, endpoint, body), {
        retries: attempts - 1,
        baseDelayMs: this.options.retryDelayMs ?? 200,
        retryable: (error) => (error instanceof Transport ? error.refused || idempotent : idempotent && error instanceof Error && transientAnswers.has(error)),
      });
    } catch (error) {
      if (!(error instanceof Transport)) throw error;
      throw new TrackingError('TEMPORARILY_UNAVAILABLE', `tracking server ${this.url} unreachable (${endpoint}): ${error.reason}`);
    }
  }

  private async request(method: 'GET' | 'POST', endpoint: string, body: Json | undefined): Promise<Json> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.url}${STUDY_STORAGE_API}${endpoint}`, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.authorization ? { authorization: this.authorization } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30000),
      });
      text = await response.text();
    } catch (error) {
      throw transportError(error);
    }
    let parsed: Json;
    try {
      parsed = text === '' ? {} : (JSON.parse(text) as Json);
    } catch {
      parsed = {};
    }
    if (response.ok) return parsed;
    throw this.answerError(response.status, endpoint, parsed);
  }

  private answerError(status: number, endpoint: string, parsed: Json): Error {
    const message = typeof parsed.message === 'string' ? parsed.message : `${endpoint}: HTTP ${status}`;
    if (typeof parsed.kiln_error_code === 'string') return restoreStudyError(parsed.kiln_error_code, message);
    if (parsed.error_code === 'ENDPOINT_NOT_FOUND') {
      return new KilnError(
        'KILN_ERR_STUDY_STORAGE_UNSUPPORTED',
        `the tracking server at ${this.url} does not serve Kiln's study storage (${STUDY_STORAGE_API}): it is an MLflow server or an older kiln server. ` +
          'Upgrade it to this version of kiln, or keep the study in a database with --storage sqlite:///… or postgresql://…',
      );
    }
    const transient = status === 429 || status >= 500;
    const error = new TrackingError((parsed.error_code as TrackingErrorCode | undefined) ?? (transient ? 'TEMPORARILY_UNAVAILABLE' : 'BAD_REQUEST'), message);
    if (transient) transientAnswers.add(error);
    return error;
  }
}
