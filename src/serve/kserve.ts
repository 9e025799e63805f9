/**
 * serve/kserve — KServe v2 (Open Inference Protocol,
 * https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/): health, model
 * metadata and readiness, and inference on one FP32 or UINT8 tensor of raw pixel values (no image
 * preprocessing: tensors are taken as they are).
 */
import type { FastifyPluginAsync } from 'fastify';
import { badRequest, ServeError } from './errors.js';
import { flattenPixels, normalizePixels } from './preprocess.js';
import type { RouteContext } from './predict-routes.js';

const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const;

interface InferBody {
  id?: string;
  inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[];
}

const inferBodySchema = {
  type: 'object',
  required: ['inputs'],
  properties: {
    id: { type: 'string' },
    inputs: {
      type: 'array',
      minItems: 1,
      maxItems: 1,
      items: {
        type: 'object',
        required: ['name', 'shape', 'datatype', 'data'],
        properties: {
          name: { type: 'string' },
          shape: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } },
          datatype: { type: 'string' },
          data: { type: 'array' },
        },
      },
    },
    outputs: { type: 'array' },
    parameters: { type: 'object' },
  },
} as const;

export const kserveRoutes: FastifyPluginAsync<RouteContext> = async (app, { lifecycle, metrics, limits }) => {
  app.get('/v2/health/live', { schema: { summary: 'KServe v2: server live', tags: ['kserve-v2'] } }, async () => ({ live: true }));
  app.get('/v2/health/ready', { schema: { summary: 'KServe v2: server ready (503 until a model is loaded)', tags: ['kserve-v2'] } }, async (_request, reply) =>
    reply.status(lifecycle.current() ? 200 : 503).send({ ready: lifecycle.current() !== null }),
  );
  app.get<{ Params: { name: string } }>('/v2/models/:name', { schema: { summary: 'KServe v2: model metadata', tags: ['kserve-v2'], params: nameParams } }, async (request) => {
    const served = lifecycle.modelNamed(request.params.name);
    return {
      name: served.name,
      versions: [served.version],
      platform: served.predictor.engine === 'onnxruntime' ? 'onnxruntime_onnx' : 'tensorflow_js',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, ...served.metadata.inputShape] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, served.predictor.classes] }],
      parameters: { classes: served.metadata.classNames, pixel_range: [0, 255], accepted_datatypes: ['FP32', 'UINT8'] },
    };
  });
  app.get<{ Params: { name: string } }>('/v2/models/:name/ready', { schema: { summary: 'KServe v2: model ready', tags: ['kserve-v2'], params: nameParams } }, async (request) => {
    const served = lifecycle.modelNamed(request.params.name);
    return { name: served.name, ready: true };
  });

  app.post<{ Params: { name: string }; Body: InferBody }>(
    '/v2/models/:name/infer',
    {
      schema: {
        summary: 'KServe v2 inference: one FP32 or UINT8 tensor of pixel values 0-255 shaped [n, 28, 28, 1], [n, 28, 28] or [n, 784]; answers FP32 probabilities [n, classes]',
        tags: ['kserve-v2'],
        params: nameParams,
        body: inferBodySchema,
      },
    },
    async (request) => {
      lifecycle.modelNamed(request.params.name);
      return lifecycle.withModel(async (served) => {
        const tensor = request.body.inputs[0]!;
        if (tensor.datatype !== 'FP32' && tensor.datatype !== 'UINT8') throw badRequest('UNSUPPORTED_DATATYPE', `datatype ${tensor.datatype} is not supported: send FP32 or UINT8 pixel values 0-255`);
        const size = served.predictor.inputSize;
        const [n = 0, ...rest] = tensor.shape;
        const perItem = rest.reduce((a, b) => a * b, 1);
        if (n < 1 || perItem !== size) throw badRequest('WRONG_SHAPE', `shape ${JSON.stringify(tensor.shape)}: expected [n, ${served.metadata.inputShape.join(', ')}] or [n, ${size}]`);
        if (n > limits.maxBatchItems) throw new ServeError(413, 'TOO_MANY_ITEMS', `at most ${limits.maxBatchItems} items per request, got ${n}`);
        const flat = tensor.data.flat(4);
        if (flat.length !== n * size) throw badRequest('WRONG_SIZE', `shape ${JSON.stringify(tensor.shape)} needs ${n * size} values, got ${flat.length}`);
        if (tensor.datatype === 'UINT8' && !flat.every((v) => Number.isInteger(v))) throw badRequest('INVALID_PIXEL', 'UINT8 values must be integers in [0, 255]');
        const input = new Float32Array(n * size);
        for (let i = 0; i < n; i++) normalizePixels(flattenPixels(flat.slice(i * size, (i + 1) * size), size, i), served.metadata.preprocessing, input, i * size);
        lifecycle.throwIfClientGone(request);
        const result = await served.batcher.submit(input, n);
        const classes = served.predictor.classes;
        for (let i = 0; i < n; i++) metrics.confidence.observe(Math.max(...result.probabilities.subarray(i * classes, (i + 1) * classes)));
        return {
          model_name: served.name,
          model_version: served.version,
          ...(request.body.id !== undefined ? { id: request.body.id } : {}),
          outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [n, classes], data: Array.from(result.probabilities.subarray(0, n * classes)) }],
        };
      });
    },
  );
};
