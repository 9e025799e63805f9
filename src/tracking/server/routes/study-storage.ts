/**
 * tracking/server/routes/study-storage — the tuner's StudyStorage over HTTP, so that a worker on
 * any machine needs only the server's URL to share a study (tune/storage/rest.ts is the client),
 * and every study lives in the server's own database, where its Studies page reads it.
 *
 * Mounted under /api/2.0/kiln/study-storage and /ajax-api/2.0/kiln/study-storage; one endpoint per
 * StudyStorage method, MLflow's RPC style (GET reads the query string, POST a JSON body):
 *   studies/create POST {study_name, direction} → {study_id}
 *   studies/get-by-name GET ?study_name → {study_id} (404 when absent)
 *   studies/get GET ?study_id → {study} · studies/list GET → {studies}
 *   studies/delete POST {study_id} · studies/set-attr POST {study_id, kind: user|system, key, value}
 *   trials/create POST {study_id} → {trial} · trials/claim-waiting POST {study_id} → {trial} | {}
 *   trials/enqueue POST {study_id, params, distributions} → {trial}
 *   trials/set-param POST {trial_id, name, internal_value, distribution}
 *   trials/set-intermediate-value POST {trial_id, step, value}
 *   trials/set-state POST {trial_id, state, value} → {changed}
 *   trials/set-attr POST {trial_id, kind, key, value}
 *   trials/get GET ?trial_id → {trial} · trials/search POST|GET {study_id, states} → {trials}
 *   trials/heartbeat POST {trial_id} · trials/fail-stale POST {study_id, grace_ms} → {trial_ids}
 * Shapes are tune/storage/wire's. The semantics are the storage's own (conditional updates,
 * heartbeats, stale trials): the server adds none. The tuner's coded errors answer in MLflow's
 * shape plus `kiln_error_code` (e.g. 400 INVALID_STATE + KILN_ERR_TRIAL_FINISHED), which the
 * client turns back into the same error class.
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { KilnError } from '../../../common/errors.js';
import { StudyError } from '../../../tune/errors.js';
import { decodeNumber, encodeStudy, encodeTrial, type WireNumber } from '../../../tune/storage/wire.js';
import type { CategoricalChoice, Distribution, StudyDirection, StudyStorage, TrialState } from '../../../tune/types.js';
import { TrackingError, type TrackingErrorCode } from '../../store/errors.js';
import { endpoint } from '../endpoint.js';
import { handleError } from '../errors.js';
import { NON_FINITE } from '../wire.js';

const id = { type: 'integer', minimum: 0 } as const;
const name = { type: 'string', minLength: 1 } as const;
const kind = { enum: ['user', 'system'] } as const;
const wireNumber = { anyOf: [{ type: 'number' }, { type: 'string', enum: [...NON_FINITE] }] } as const;
const state = { enum: ['RUNNING', 'COMPLETE', 'PRUNED', 'FAIL', 'WAITING'] } as const;
// Any JSON value: a typed anyOf would let Ajv's type coercion turn the choice 5 into "5".
const choice = {} as const;
const bounds = { low: { type: 'number' }, high: { type: 'number' }, log: { type: 'boolean' } } as const;
const distribution = {
  anyOf: [
    { type: 'object', properties: { type: { const: 'float' }, ...bounds, step: { type: ['number', 'null'] } }, required: ['type', 'low', 'high', 'log', 'step'] },
    { type: 'object', properties: { type: { const: 'int' }, ...bounds, step: { type: 'number' } }, required: ['type', 'low', 'high', 'log', 'step'] },
    { type: 'object', properties: { type: { const: 'categorical' }, choices: { type: 'array', items: choice, minItems: 1 } }, required: ['type', 'choices'] },
  ],
} as const;

const object = (properties: Record<string, unknown>, required: string[]) => ({ type: 'object', properties, required });

const schemas = {
  createStudy: object({ study_name: name, direction: { enum: ['minimize', 'maximize'] } }, ['study_name', 'direction']),
  studyByName: object({ study_name: name }, ['study_name']),
  study: object({ study_id: id }, ['study_id']),
  none: { type: 'object' },
  studyAttr: object({ study_id: id, kind, key: name, value: {} }, ['study_id', 'kind', 'key']),
  enqueue: object(
    { study_id: id, params: { type: 'object', additionalProperties: choice }, distributions: { type: 'object', additionalProperties: distribution } },
    ['study_id'],
  ),
  trial: object({ trial_id: id }, ['trial_id']),
  param: object({ trial_id: id, name, internal_value: { type: 'number' }, distribution }, ['trial_id', 'name', 'internal_value', 'distribution']),
  intermediate: object({ trial_id: id, step: { type: 'integer' }, value: wireNumber }, ['trial_id', 'step', 'value']),
  setState: object({ trial_id: id, state, value: { anyOf: [...wireNumber.anyOf, { type: 'null' }] } }, ['trial_id', 'state']),
  trialAttr: object({ trial_id: id, kind, key: name, value: {} }, ['trial_id', 'kind', 'key']),
  search: object({ study_id: id, states: { type: 'array', items: state } }, ['study_id']),
  failStale: object({ study_id: id, grace_ms: { type: 'number', minimum: 0 } }, ['study_id', 'grace_ms']),
};

/** MLflow's error code for one of the tuner's. */
function trackingCode(code: string): TrackingErrorCode {
  if (code.endsWith('_NOT_FOUND')) return 'RESOURCE_DOES_NOT_EXIST';
  if (code === 'KILN_ERR_DUPLICATED_STUDY') return 'RESOURCE_ALREADY_EXISTS';
  if (code === 'KILN_ERR_TRIAL_FINISHED') return 'INVALID_STATE';
  return 'INVALID_PARAMETER_VALUE';
}

function handleStudyError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (!(error instanceof KilnError)) return handleError(error, request, reply);
  const mapped = new TrackingError(trackingCode(error.code), error.message);
  return reply
    .code(mapped.httpStatus)
    .type('application/json; charset=utf-8')
    .send({ error_code: mapped.errorCode, message: error.message, kiln_error_code: error.code });
}

export const studyStorageRoutes: FastifyPluginAsync<{ storage: StudyStorage }> = async (app, { storage }) => {
  app.setErrorHandler(handleStudyError);

  endpoint<{ study_name: string; direction: StudyDirection }>(app, 'POST', '/studies/create', schemas.createStudy, async (m) => ({
    study_id: await storage.createStudy(m.study_name, m.direction),
  }));
  endpoint<{ study_name: string }>(app, 'GET', '/studies/get-by-name', schemas.studyByName, async (m) => {
    const studyId = await storage.getStudyIdByName(m.study_name);
    if (studyId === undefined) throw new StudyError('KILN_ERR_STUDY_NOT_FOUND', `no study named "${m.study_name}"`);
    return { study_id: studyId };
  });
  endpoint<{ study_id: number }>(app, 'GET', '/studies/get', schemas.study, async (m) => ({ study: encodeStudy(await storage.getStudy(m.study_id)) }));
  endpoint(app, 'GET', '/studies/list', schemas.none, async () => ({ studies: (await storage.listStudies()).map(encodeStudy) }));
  endpoint<{ study_id: number }>(app, 'POST', '/studies/delete', schemas.study, async (m) => {
    await storage.deleteStudy(m.study_id);
    return {};
  });
  endpoint<{ study_id: number; kind: 'user' | 'system'; key: string; value?: unknown }>(app, 'POST', '/studies/set-attr', schemas.studyAttr, async (m) => {
    await (m.kind === 'user' ? storage.setStudyUserAttr(m.study_id, m.key, m.value ?? null) : storage.setStudySystemAttr(m.study_id, m.key, m.value ?? null));
    return {};
  });
  trialRoutes(app, storage);
};

function trialRoutes(app: Parameters<FastifyPluginAsync>[0], storage: StudyStorage): void {
  endpoint<{ study_id: number }>(app, 'POST', '/trials/create', schemas.study, async (m) => ({ trial: encodeTrial(await storage.createTrial(m.study_id)) }));
  endpoint<{ study_id: number }>(app, 'POST', '/trials/claim-waiting', schemas.study, async (m) => {
    const trial = await storage.claimWaitingTrial(m.study_id);
    return trial === undefined ? {} : { trial: encodeTrial(trial) };
  });
  endpoint<{ study_id: number; params?: Record<string, CategoricalChoice>; distributions?: Record<string, Distribution> }>(
    app,
    'POST',
    '/trials/enqueue',
    schemas.enqueue,
    async (m) => ({ trial: encodeTrial(await storage.enqueueTrial(m.study_id, m.params ?? {}, m.distributions ?? {})) }),
  );
  endpoint<{ trial_id: number; name: string; internal_value: number; distribution: Distribution }>(app, 'POST', '/trials/set-param', schemas.param, async (m) => {
    await storage.setTrialParam(m.trial_id, m.name, m.internal_value, m.distribution);
    return {};
  });
  endpoint<{ trial_id: number; step: number; value: WireNumber }>(app, 'POST', '/trials/set-intermediate-value', schemas.intermediate, async (m) => {
    await storage.setTrialIntermediateValue(m.trial_id, m.step, decodeNumber(m.value));
    return {};
  });
  endpoint<{ trial_id: number; state: TrialState; value?: WireNumber | null }>(app, 'POST', '/trials/set-state', schemas.setState, async (m) => ({
    changed: await storage.setTrialStateValue(m.trial_id, m.state, m.value === undefined || m.value === null ? null : decodeNumber(m.value)),
  }));
  endpoint<{ trial_id: number; kind: 'user' | 'system'; key: string; value?: unknown }>(app, 'POST', '/trials/set-attr', schemas.trialAttr, async (m) => {
    await (m.kind === 'user' ? storage.setTrialUserAttr(m.trial_id, m.key, m.value ?? null) : storage.setTrialSystemAttr(m.trial_id, m.key, m.value ?? null));
    return {};
  });
  endpoint<{ trial_id: number }>(app, 'GET', '/trials/get', schemas.trial, async (m) => ({ trial: encodeTrial(await storage.getTrial(m.trial_id)) }));
  endpoint<{ study_id: number; states?: TrialState[] }>(app, ['POST', 'GET'], '/trials/search', schemas.search, async (m) => ({
    trials: (await storage.getAllTrials(m.study_id, m.states)).map(encodeTrial),
  }));
  endpoint<{ trial_id: number }>(app, 'POST', '/trials/heartbeat', schemas.trial, async (m) => {
    await storage.recordHeartbeat(m.trial_id);
    return {};
  });
  endpoint<{ study_id: number; grace_ms: number }>(app, 'POST', '/trials/fail-stale', schemas.failStale, async (m) => ({
    trial_ids: await storage.failStaleTrials(m.study_id, m.grace_ms),
  }));
}
