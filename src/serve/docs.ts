/**
 * serve/docs — the OpenAPI document and Swagger UI. @fastify/swagger builds the document
 * (/docs/json) from the route schemas; Swagger UI at /docs is offline: the page and its three
 * static files are read from @fastify/swagger-ui's bundled copy of swagger-ui-dist when a person
 * asks for them.
 *
 * The document describes the model being served when it is asked for: its name and version, input
 * (e.g. "32x32 RGB", and the pixel arrays one image may be sent as) and class names go into the
 * info description, an `x-kiln-model` extension, and the descriptions of the JSON pixel inputs.
 *
 * Why not register @fastify/swagger-ui itself: it pulls in @fastify/static and its routes for
 * every process, about 2–3 MB of resident memory in a server whose memory budget is 150 MB,
 * for a page most deployments never open.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The multipart body of a route that parses its upload itself, for the OpenAPI document only. */
    openapiMultipartBody?: Record<string, unknown>;
  }
}

const STATIC_FILES: Readonly<Record<string, string>> = {
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

let resolvedStaticDir: string | null = null;
/** Resolved on the first request for a file, once: most processes never open the docs. */
const staticDir = (): string => (resolvedStaticDir ??= join(dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui/package.json')), 'static'));

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Kiln inference API — Swagger UI</title>
  <link rel="stylesheet" href="./static/index.css">
  <link rel="icon" type="image/png" href="./static/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="./static/swagger-ui-bundle.js"></script>
  <script src="./static/swagger-ui-standalone-preset.js"></script>
  <script src="./static/init.js"></script>
</body>
</html>
`;

// An external file, not an inline script, so the page's CSP can stay `script-src 'self'`.
const INIT = `window.ui = SwaggerUIBundle({
  url: new URL('json', window.location.href.replace(/[^/]*$/, '')).href,
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
  validatorUrl: null,
  tryItOutEnabled: true,
  deepLinking: true
});
`;

const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'";

/**
 * Registers @fastify/swagger on the whole app (a root plugin: it must see every route added
 * after it) and the /docs routes.
 */
export interface DocsOptions {
  /** The model being served, as the document should describe it; null before one is loaded. */
  describeModel?: () => ModelDescription | null;
}

export interface ModelDescription {
  name: string;
  version: string;
  /** e.g. "32x32 RGB" */
  input: string;
  shape: number[];
  /** The pixel arrays one image may be sent as. */
  pixels: string;
  classes: string[];
}

const BASE_DESCRIPTION = 'Image classification: a Kiln model (e.g. the champion from the Kiln registry), served by ONNX Runtime.';

type JsonObject = Record<string, unknown>;
const child = (node: unknown, ...keys: string[]): JsonObject | null => {
  let at = node;
  for (const key of keys) at = at !== null && typeof at === 'object' ? (at as JsonObject)[key] : undefined;
  return at !== null && typeof at === 'object' ? (at as JsonObject) : null;
};

/** The document with the served model described in it (a copy: @fastify/swagger caches its own). */
function withModel(document: unknown, model: ModelDescription | null): unknown {
  if (!model) return document;
  const doc = structuredClone(document) as JsonObject;
  const info = child(doc, 'info');
  if (info) {
    info.description = `${BASE_DESCRIPTION} Now serving ${model.name} version ${model.version}: ${model.input} images (input shape [${model.shape.join(', ')}]), ${model.classes.length} classes: ${model.classes.join(', ')}. Pixel arrays: ${model.pixels}.`;
    info['x-kiln-model'] = { name: model.name, version: model.version, input_shape: model.shape, classes: model.classes };
  }
  const images = child(doc, 'paths', '/predict/batch', 'post', 'requestBody', 'content', 'application/json', 'schema', 'properties', 'images');
  if (images) images.description = `Base64 image files, or pixel arrays: ${model.pixels}`;
  const instances = child(doc, 'paths', '/invocations', 'post', 'requestBody', 'content', 'application/json', 'schema', 'properties', 'instances');
  if (instances) instances.description = `Examples: pixel arrays (${model.pixels}) or base64 image files`;
  return doc;
}

const docsRoutes: FastifyPluginAsync<DocsOptions> = async (app, options) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Kiln inference API', version: '1', description: BASE_DESCRIPTION },
    },
    transform: ({ schema, url, route }) => {
      // A multipart upload is parsed by the handler, not validated: it is described for the document only.
      const upload = route.config?.openapiMultipartBody;
      return upload && schema ? { schema: { ...schema, consumes: ['multipart/form-data'], body: upload }, url } : { schema, url };
    },
  });
  void app.register(async (docs) => registerDocs(docs, () => withModel(app.swagger(), options.describeModel?.() ?? null)));
};
export const docsPlugin = fp(docsRoutes);

/** Adds /docs, /docs/ (the page), /docs/static/* and /docs/json to `app` (which has @fastify/swagger registered). */
function registerDocs(app: FastifyInstance, openApiDocument: () => unknown): void {
  const hide = { schema: { hide: true } };
  app.get('/docs', hide, async (_request, reply) => reply.redirect('/docs/', 302));
  app.get('/docs/', hide, async (_request, reply) => reply.header('content-security-policy', CSP).type('text/html; charset=utf-8').send(PAGE));
  app.get('/docs/json', hide, async () => openApiDocument());
  app.get<{ Params: { file: string } }>('/docs/static/:file', hide, async (request, reply) => {
    const { file } = request.params;
    if (file === 'init.js') return reply.type('application/javascript; charset=utf-8').send(INIT);
    const type = STATIC_FILES[file];
    if (type === undefined) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no file ${file} in /docs/static` } });
    return reply.type(type).header('cache-control', 'public, max-age=86400').send(await readFile(join(staticDir(), file)));
  });
}
