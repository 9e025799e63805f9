/**
 * tracking/server/routes/studies — Kiln's read-only study endpoints (the tuner keeps its studies
 * in the tracking database), mounted under /api/2.0/kiln and /ajax-api/2.0/kiln:
 *   GET studies → {studies: StudyListItem[]}
 *   GET studies/:name → {study: StudyReport} (trials with states, params, values, intermediate values)
 *   GET studies/:name/importances?evaluator=fanova|ped-anova → {importances: ImportanceReport}
 * They read through tune/report's StudyReports, never the tuner's tables.
 */
import type { FastifyPluginAsync } from 'fastify';
import { notFound } from '../../store/errors.js';
import { StudyNotFound, type StudyReports } from '../../../tune/report.js';
import type { ImportanceEvaluator } from '../../../tune/importance.js';

const nameParams = { type: 'object', properties: { name: { type: 'string', minLength: 1 } }, required: ['name'] } as const;
const importanceQuery = { type: 'object', properties: { evaluator: { enum: ['fanova', 'ped-anova'] } } } as const;

async function found<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    // The tracking server answers every miss as MLflow does: 404 RESOURCE_DOES_NOT_EXIST.
    if (error instanceof StudyNotFound) throw notFound(error.message);
    throw error;
  }
}

export const studyRoutes: FastifyPluginAsync<{ studies: StudyReports }> = async (app, { studies }) => {
  app.get('/studies', async () => ({ studies: await studies.list() }));

  app.get('/studies/:name', { schema: { params: nameParams } }, async (request) => {
    const { name } = request.params as { name: string };
    return { study: await found(studies.get(name)) };
  });

  app.get('/studies/:name/importances', { schema: { params: nameParams, querystring: importanceQuery } }, async (request) => {
    const { name } = request.params as { name: string };
    const { evaluator } = request.query as { evaluator?: ImportanceEvaluator };
    return { importances: await found(studies.importances(name, evaluator)) };
  });
};
