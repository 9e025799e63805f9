/**
 * kiln-ml/serve — Kiln's inference API: a model folder or a registry model
 * (`models:/<name>@<alias>`) behind Fastify with micro-batching, Prometheus metrics, /health and
 * /ready; an alias is followed as it moves.
 *
 * @example
 * import { startServe } from 'kiln-ml/serve';
 * const serve = await startServe({ modelUri: 'models:/fashion@champion', home: './kiln-data', port: 8000 });
 * await serve.ready; // POST http://127.0.0.1:8000/predict with an image
 * await serve.close();
 */
export * from '../serve/index.js';
