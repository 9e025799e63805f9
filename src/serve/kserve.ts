/**
 * serve/kserve — KServe v2 (Open Inference Protocol,
 * https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/): health, model
 * metadata and readiness, and inference on one FP32 or UINT8 tensor of raw pixel values (no image
 * preprocessing: tensors are taken as they are, then normalized as kiln-model.json says).
 *
 * The metadata states the model's own input, [-1, H, W, C] for a Kiln model (e.g. [-1, 32, 32, 3]),
 * and output [-1, classes], with the class names as a parameter. A tensor is accepted shaped
 * [n, ...that input], [n, H*W*C], or [n, H, W] for a grayscale model; any other shape, even with the
 * right number of values ([n, 3, 32, 32] for a 32x32 RGB model that takes [32, 32, 3]), is 400
 * WRONG_SHAPE. A tensor shaped as the model's input is fed in that order; the others are image
 * order (HWC), put into a channels-first model's order like images are.
 */
import type { FastifyPluginAsync } from 'fastify';
import { badRequest, ServeError } from './errors.js';
import { checkPixelValues, describeInput, type InputGeometry, nestedShapes, toModelOrder } from './input-shape.js';
import { normalizePixels } from './preprocess.js';
import { observeRows, type RouteContext } from './predict-routes.js';

/** The per-example tensor shapes accepted for a model's input (its own shape first). */
function tensorShapes(input: InputGeometry): number[][] {
  const shapes = [[...input.modelShape], [input.size], ...nestedShapes(input)];
  return shapes.filter((shape, i) => shapes.findIndex((other) => other.join() === shape.join()) === i);
}

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
      parameters: {
        classes: served.metadata.classNames,
        image: { height: served.input.height, width: served.input.width, channels: served.input.channels, color: served.input.color, description: describeInput(served.input) },
        pixel_range: [0, 255],
        accepted_datatypes: ['FP32', 'UINT8'],
        accepted_shapes: tensorShapes(served.input).map((shape) => [-1, ...shape]),
      },
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
        summary: "KServe v2 inference: one FP32 or UINT8 tensor of pixel values 0-255 shaped [n, H, W, C] as the model's metadata says (or [n, H*W*C], or [n, H, W] for a grayscale model); answers FP32 probabilities [n, classes]",
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
        const size = served.input.size;
        const [n = 0, ...rest] = tensor.shape;
        const shapes = tensorShapes(served.input);
        if (n < 1 || !shapes.some((shape) => shape.join() === rest.join())) {
          throw badRequest('WRONG_SHAPE', `shape ${JSON.stringify(tensor.shape)}: this model takes ${describeInput(served.input)} images, send ${shapes.map((shape) => `[n, ${shape.join(', ')}]`).join(' or ')}`);
        }
        if (n > limits.maxBatchItems) throw new ServeError(413, 'TOO_MANY_ITEMS', `at most ${limits.maxBatchItems} items per request, got ${n}`);
        const flat = tensor.data.flat(4);
        if (flat.length !== n * size) throw badRequest('WRONG_SIZE', `shape ${JSON.stringify(tensor.shape)} needs ${n * size} values, got ${flat.length}`);
        checkPixelValues(flat, tensor.datatype === 'UINT8');
        const input = new Float32Array(n * size);
        normalizePixels(flat, served.metadata.preprocessing, input);
        if (rest.join() !== served.input.modelShape.join()) for (let i = 0; i < n; i++) toModelOrder(input, i * size, served.input);
        lifecycle.throwIfClientGone(request);
        const result = await served.batcher.submit(input, n);
        const classes = served.predictor.classes;
        observeRows(metrics, served, result.probabilities, n);
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
