/**
 * serve/intake — how a request's bytes become model input: the body parsers and their limits
 * (multipart uploads, raw image/* bodies), the image out of a multipart body, base64 images and
 * pixel arrays of a JSON batch, and the `?preprocess=` choice.
 *
 * A multipart body is bounded as a whole (the image limit plus a little room for part headers
 * and fields), in parts (one file, a few fields) and in part-header size; a body that breaks
 * multipart's grammar is a 400 with a stable code, never the parser's message as a 500.
 */
import multipart from '@fastify/multipart';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { PREPROCESS_MODES, type PreprocessMode, type Preprocessing } from '../models/metadata.js';
import { badRequest, ClientGoneError, isClientAbort, ServeError } from './errors.js';
import { flattenPixels, type InputGeometry, toModelOrder } from './input-shape.js';
import { decodeBase64, decodeImage, effectiveMode, normalizePixels, type PreprocessPath } from './preprocess.js';

export interface IntakeLimits {
  /** Largest uploaded image, bytes. */
  maxUploadBytes: number;
  /** Largest JSON body, bytes. */
  maxJsonBytes: number;
  /** Most images in one batch request. */
  maxBatchItems: number;
  /** Most pixels of one decoded image. */
  pixelLimit: number;
}

/** The multipart bounds (busboy's names): one file, a few small fields, short part headers. */
export const MULTIPART_LIMITS = { files: 1, fields: 8, parts: 10, fieldSize: 4096, fieldNameSize: 200, headerPairs: 20, headerSize: 8192 } as const;
/** Room in a multipart body beyond its image: boundaries, part headers, the small fields. */
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/** `?preprocess=`: overrides the model's `preprocessing.mode` for this request. */
export const preprocessParameter = {
  type: 'string',
  enum: [...PREPROCESS_MODES],
  description:
    "How image files become model input: 'dataset' (decode and resize as the training data), 'photo' (the Fashion-MNIST conversion of product photos; grayscale models only, 400 PREPROCESS_UNSUPPORTED on an RGB model), 'auto' (per image; 'dataset' on an RGB model); default: the model's preprocessing.mode",
} as const;

export interface PreprocessQuery {
  preprocess?: PreprocessMode;
}

/** The body parsers of the whole app (a root plugin): multipart with its bounds, and image/* as bytes. */
const intakePlugin: FastifyPluginAsync<IntakeLimits> = async (app, limits) => {
  await app.register(multipart, { limits: { ...MULTIPART_LIMITS, fileSize: limits.maxUploadBytes } });
  // JSON routes take JSON: a text/plain body is refused as 415 rather than validated as a string.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(/^image\/.*/, { parseAs: 'buffer', bodyLimit: limits.maxUploadBytes }, (_request, body, done) => done(null, body));
};
export const intake = fp(intakePlugin);

/** The uploaded image of a /predict request: a multipart file part or a raw image/* body. */
export async function readUpload(request: FastifyRequest, limits: IntakeLimits): Promise<Buffer> {
  let bytes: Buffer;
  if (request.isMultipart()) bytes = await readMultipartImage(request, limits.maxUploadBytes);
  else if (Buffer.isBuffer(request.body)) bytes = request.body;
  else throw new ServeError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the image as multipart/form-data (a file field) or as an image/* body');
  if (bytes.length === 0) throw badRequest('EMPTY_FILE', 'the uploaded file is empty');
  return bytes;
}

/** Reads the whole multipart body (so that every bound is checked) and answers its one file. */
async function readMultipartImage(request: FastifyRequest, maxUploadBytes: number): Promise<Buffer> {
  const cap = maxUploadBytes + MULTIPART_OVERHEAD_BYTES;
  const tooLarge = (): ServeError => new ServeError(413, 'PAYLOAD_TOO_LARGE', `the multipart body exceeds the limit (${maxUploadBytes} bytes of image plus ${MULTIPART_OVERHEAD_BYTES} of headers and fields)`);
  if (Number(request.headers['content-length']) > cap) throw tooLarge();
  // busboy drops what is past a limit but keeps reading: a chunked body is counted here.
  let seen = 0;
  let onData = (_chunk: Buffer): void => {};
  const overflow = new Promise<never>((_resolve, reject) => {
    onData = (chunk) => {
      seen += chunk.length;
      if (seen > cap) reject(tooLarge());
    };
  });
  // readParts pipes the body into busboy before the counter listens: a 'data' listener alone would let bytes flow past it.
  const reading = readParts(request);
  reading.catch(() => {}); // settled by the race below, or abandoned with the request
  request.raw.on('data', onData);
  try {
    return await Promise.race([reading, overflow]);
  } catch (error) {
    throw multipartError(error, request);
  } finally {
    request.raw.removeListener('data', onData);
  }
}

async function readParts(request: FastifyRequest): Promise<Buffer> {
  let image: Buffer | null = null;
  for await (const part of request.parts()) {
    // busboy refuses a second file (limits.files); fields are read and ignored.
    if (part.type === 'file') image = await part.toBuffer();
  }
  if (image === null) throw badRequest('NO_FILE', 'the multipart request has no file part');
  return image;
}

/** busboy's and @fastify/multipart's errors, as the client's: each with its own code. */
function multipartError(error: unknown, request: FastifyRequest): unknown {
  if (error instanceof ServeError) return error;
  if (isClientAbort(error) || request.raw.aborted) return new ClientGoneError('the client closed the connection during the upload');
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'FST_FILES_LIMIT':
      return badRequest('TOO_MANY_FILES', 'send one image per request (several go to /predict/batch as base64)');
    case 'FST_PARTS_LIMIT':
      return new ServeError(413, 'TOO_MANY_PARTS', `at most ${MULTIPART_LIMITS.parts} parts in a multipart body`);
    case 'FST_FIELDS_LIMIT':
      return new ServeError(413, 'TOO_MANY_FIELDS', `at most ${MULTIPART_LIMITS.fields} fields besides the file`);
    case 'FST_REQ_FILE_TOO_LARGE':
      return new ServeError(413, 'PAYLOAD_TOO_LARGE', `the uploaded file exceeds the limit: ${message}`);
    case 'FST_PROTO_VIOLATION':
    case 'FST_INVALID_JSON_FIELD_ERROR':
      return badRequest('INVALID_MULTIPART', message);
  }
  if (message === 'Multipart: Boundary not found') return badRequest('MULTIPART_BOUNDARY_MISSING', 'the Content-Type multipart/form-data names no boundary (e.g. multipart/form-data; boundary=XYZ)');
  if (/unexpected end of multipart data/i.test(message)) {
    return badRequest('INVALID_MULTIPART', `the multipart body is malformed: ${message} (does it use the boundary named in Content-Type, and end with --boundary--?)`);
  }
  // Whatever else the parser refuses is still the body's fault; its message says why.
  request.log.warn({ err: error }, 'multipart parser error answered as 400 INVALID_MULTIPART');
  return badRequest('INVALID_MULTIPART', `the multipart body is malformed: ${message}`);
}

/**
 * Base64 images or pixel arrays → model input, one example each. Pixel arrays are taken as they
 * are (path 'dataset'; their shape is the model's, see serve/input-shape); image files follow
 * `mode`, and a mode the model cannot take (photo on an RGB model) refuses the whole request.
 */
export async function decodeItems(items: unknown[], pre: Preprocessing, shape: InputGeometry, limits: IntakeLimits, mode?: PreprocessMode): Promise<{ input: Float32Array; paths: PreprocessPath[] }> {
  if (items.length > limits.maxBatchItems) throw new ServeError(413, 'TOO_MANY_ITEMS', `at most ${limits.maxBatchItems} items per request, got ${items.length}`);
  if (mode) effectiveMode(mode, pre);
  const size = shape.size;
  const input = new Float32Array(items.length * size);
  const paths = await Promise.all(
    items.map(async (item, i): Promise<PreprocessPath> => {
      if (typeof item !== 'string') {
        normalizePixels(flattenPixels(item, shape, i), pre, input, i * size);
        return 'dataset';
      }
      try {
        return await decodeImage(decodeBase64(item, i), pre, input, i * size, limits.pixelLimit, mode);
      } catch (error) {
        if (error instanceof ServeError && !error.message.startsWith('item ')) throw new ServeError(error.statusCode, error.code, `item ${i}: ${error.message}`);
        throw error;
      }
    }),
  );
  for (let i = 0; i < items.length; i++) toModelOrder(input, i * size, shape);
  return { input, paths };
}
