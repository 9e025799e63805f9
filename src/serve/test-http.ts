/**
 * serve/test-http — HTTP/1.1 as a hostile client speaks it, for tests: exact bytes on a real
 * socket (what fetch refuses to send), bodies dribbled in pieces, connections dropped midway.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One request line and headers, with Content-Length for `body` unless `headers` set one (or Transfer-Encoding). */
export function httpRequest(method: string, path: string, headers: Record<string, string | number>, body: Buffer | string = ''): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  const all: Record<string, string | number> = { host: '127.0.0.1', connection: 'close', ...headers };
  const names = Object.keys(all).map((name) => name.toLowerCase());
  if (!names.includes('content-length') && !names.includes('transfer-encoding') && (bytes.length > 0 || method === 'POST')) all['content-length'] = bytes.length;
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(all).map(([name, value]) => `${name}: ${value}`).join('\r\n')}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), bytes]);
}

/** A multipart/form-data body with one file part (or the given raw parts). */
export function multipartBody(boundary: string, file: Buffer, options: { field?: string; filename?: string; type?: string; extraHeaders?: string } = {}): Buffer {
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${options.field ?? 'file'}"; filename="${options.filename ?? 'image.png'}"\r\nContent-Type: ${options.type ?? 'image/png'}\r\n${options.extraHeaders ?? ''}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), file, Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1')]);
}

function parse(raw: Buffer): RawResponse | null {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (end < 0 || !match) return null;
  const headers: Record<string, string> = {};
  for (const line of text.slice(0, end).split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(match[1]), headers, body: raw.subarray(end + 4).toString('utf8') };
}

export interface SendOptions {
  /** Write the request in pieces of this many bytes, with `pauseMs` between them (a slow client). */
  chunkBytes?: number;
  pauseMs?: number;
}

/**
 * Sends `request` on a fresh connection and reads until the server closes it: the response, or
 * null when the server closed without one. A write error after an early answer (the server
 * refused the body and closed) is not a failure: the answer is what counts.
 */
export function sendRaw(port: number, request: Buffer, options: SendOptions = {}): Promise<RawResponse | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve(parse(Buffer.concat(chunks))));
    socket.on('connect', () => void writeAll(socket, request, options));
  });
}

async function writeAll(socket: Socket, request: Buffer, { chunkBytes, pauseMs = 0 }: SendOptions): Promise<void> {
  const step = chunkBytes ?? request.length;
  for (let at = 0; at < request.length && !socket.destroyed; at += step) {
    socket.write(request.subarray(at, at + step));
    if (pauseMs > 0 && at + step < request.length) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

/**
 * Sends the first `bytes` bytes of `request` (all of it by default), waits for `until` (e.g. the
 * server having started on it), then drops the connection without reading an answer.
 */
export async function sendAndHangUp(port: number, request: Buffer, options: { bytes?: number; until?: Promise<unknown> } = {}): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  await new Promise<void>((resolve) => socket.write(request.subarray(0, options.bytes ?? request.length), () => resolve()));
  await options.until;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.destroy();
  await closed;
}
