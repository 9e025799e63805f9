/**
 * serve/lifecycle — which model is served, who is using it, and how the server stops.
 *
 * Every request is counted in when it arrives and out exactly once, at the first of: its answer
 * is sent (onResponse), its body was cut off (onRequestAbort), or its connection closed (the
 * socket's or the response's 'close': a client that sent the whole body and hung up while we
 * were decoding gets neither of the others). The count is `kiln_serve_in_flight_requests` and
 * what a graceful stop waits for.
 *
 * A handler uses the model inside `withModel`, which leases it until the handler settles, so a
 * hot swap frees the previous model only once no handler still holds it (or after
 * `swapTimeoutMs`). A handler whose client is gone stops before inference (`throwIfClientGone`).
 */
import type { Socket } from 'node:net';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ClientGoneError, ServeError } from './errors.js';
import type { ServeMetrics } from './metrics.js';
import { retireModel, type ServedModel } from './model.js';

export interface LifecycleOptions {
  /** How long a swapped-out model waits for the handlers still using it before it is freed anyway, ms (default 30000). */
  swapTimeoutMs?: number;
}

export interface CloseOptions {
  /** The longest wait for requests being handled, ms (default 10000). */
  drainMs?: number;
  /** How long no request must have been in flight before the listener closes, ms (default 100). */
  quietMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class ServeLifecycle {
  private model: ServedModel | null = null;
  private notReadyReason: string | null = null;
  private readonly leases = new Map<ServedModel, number>();
  private draining = false;
  private active = 0;
  private lastActivity = performance.now();
  /** Requests counted in and not yet out: their reply, and how to stop listening for their close. */
  private readonly inFlight = new WeakMap<FastifyRequest, { reply: FastifyReply; detach: () => void }>();
  /** The requests in flight on each connection: one 'close' listener per socket, however many requests it pipelines. */
  private readonly bySocket = new WeakMap<Socket, Set<FastifyRequest>>();
  /** Requests whose client closed the connection before the answer. */
  private readonly gone = new WeakSet<FastifyRequest>();
  private readonly swapTimeoutMs: number;

  constructor(
    private readonly metrics: ServeMetrics,
    options: LifecycleOptions = {},
  ) {
    this.swapTimeoutMs = options.swapTimeoutMs ?? 30_000;
  }

  current(): ServedModel | null {
    return this.model;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  setNotReadyReason(reason: string | null): void {
    this.notReadyReason = reason;
  }

  notReady(): ServeError {
    return new ServeError(503, 'MODEL_NOT_READY', this.notReadyReason ?? 'no model is loaded yet');
  }

  /** Throws 503 MODEL_NOT_READY while no model is loaded (before reading a body no model could use). */
  requireReady(): void {
    if (!this.model) throw this.notReady();
  }

  /** The served model if it is named `name` (KServe's model routes); 503 before a model, 404 for another name. */
  modelNamed(name: string): ServedModel {
    if (!this.model) throw this.notReady();
    if (name !== this.model.name) throw new ServeError(404, 'MODEL_NOT_FOUND', `no model named ${name}; this server serves ${this.model.name}`);
    return this.model;
  }

  /** Runs `work` with the current model, leased until `work` settles: a swap never frees it under the handler. */
  async withModel<T>(work: (served: ServedModel) => Promise<T>): Promise<T> {
    const served = this.model;
    if (!served) throw this.notReady();
    this.leases.set(served, (this.leases.get(served) ?? 0) + 1);
    try {
      return await work(served);
    } finally {
      const count = (this.leases.get(served) ?? 1) - 1;
      if (count <= 0) this.leases.delete(served);
      else this.leases.set(served, count);
    }
  }

  /** Throws when the request's client has hung up: nobody would read the answer. */
  throwIfClientGone(request: FastifyRequest): void {
    if (this.gone.has(request) || request.raw.socket?.destroyed) throw new ClientGoneError();
  }

  /** Swaps in a model; the previous one is freed once no handler holds it. */
  async setModel(next: ServedModel): Promise<void> {
    const previous = this.model;
    next.batcher.onBatch = (size, seconds) => {
      this.metrics.batchSize.observe(size);
      // Both engines run on the CPU today; a GPU execution provider would report device: 'gpu'.
      this.metrics.inference.observe({ engine: next.predictor.engine, device: 'cpu' }, seconds);
    };
    this.model = next;
    this.metrics.modelInfo.reset();
    this.metrics.modelInfo.set({ name: next.name, version: next.version, engine: next.predictor.engine, source: next.source }, 1);
    this.metrics.modelLoadedAt.set(next.loadedAt.getTime() / 1000);
    this.metrics.useClasses(next.metadata.classNames);
    if (previous && previous !== next) await this.retireWhenFree(previous);
  }

  private async retireWhenFree(served: ServedModel): Promise<void> {
    const deadline = performance.now() + this.swapTimeoutMs;
    while ((this.leases.get(served) ?? 0) > 0 && performance.now() < deadline) await sleep(5);
    await retireModel(served);
  }

  /**
   * Graceful stop: new requests get 503 SHUTTING_DOWN, and once no request has been in flight
   * (nor a handler held the model) for `quietMs`, or after `drainMs`, the listener closes and
   * the model is freed.
   */
  async close(closeListener: () => Promise<void>, { drainMs = 10_000, quietMs = 100 }: CloseOptions = {}): Promise<void> {
    this.draining = true;
    const deadline = performance.now() + drainMs;
    const busy = (): boolean => this.active > 0 || this.leases.size > 0 || performance.now() - this.lastActivity < quietMs;
    while (performance.now() < deadline && busy()) await sleep(10);
    await closeListener();
    if (this.model) await retireModel(this.model);
    this.model = null;
  }

  /** Counts a request in, and arranges that it is counted out once, however it ends. */
  countIn(request: FastifyRequest, reply: FastifyReply): void {
    this.active++;
    this.lastActivity = performance.now();
    this.metrics.inFlight.inc();
    const socket = request.raw.socket as Socket | null;
    const onClose = (): void => this.countOut(request);
    this.inFlight.set(request, {
      reply,
      detach: () => {
        reply.raw.removeListener('close', onClose);
        if (socket) this.bySocket.get(socket)?.delete(request);
      },
    });
    reply.raw.once('close', onClose);
    // A pipelined request's response has no socket yet: only the socket tells that it closed.
    if (socket) this.watchSocket(socket).add(request);
    if (socket?.destroyed) onClose();
  }

  private watchSocket(socket: Socket): Set<FastifyRequest> {
    let requests = this.bySocket.get(socket);
    if (!requests) {
      const live = (requests = new Set());
      this.bySocket.set(socket, live);
      socket.once('close', () => {
        for (const request of [...live]) this.countOut(request);
        this.bySocket.delete(socket);
      });
    }
    return requests;
  }

  /** Counts a request out, if it is still in; a request that ended unanswered is logged (info: the client's doing). */
  countOut(request: FastifyRequest): void {
    const entry = this.inFlight.get(request);
    if (!entry) return;
    const { reply, detach } = entry;
    this.inFlight.delete(request);
    detach();
    this.active--;
    this.lastActivity = performance.now();
    this.metrics.inFlight.dec();
    if (!reply.raw.writableFinished) {
      this.gone.add(request);
      request.log.info({ method: request.method, url: request.url, elapsed_ms: reply.elapsedTime }, 'client closed the connection before the answer');
    }
  }
}

/**
 * The root hooks: counting requests in and out, per-route request metrics, and refusing new
 * requests with 503 SHUTTING_DOWN (and `Connection: close`) while draining.
 */
const lifecycleHooks: FastifyPluginAsync<{ lifecycle: ServeLifecycle; metrics: ServeMetrics }> = async (app, { lifecycle, metrics }) => {
  app.addHook('onRequest', async (request, reply) => {
    lifecycle.countIn(request, reply);
    if (lifecycle.isDraining && request.routeOptions.url !== '/health') {
      void reply.header('connection', 'close');
      throw new ServeError(503, 'SHUTTING_DOWN', 'the server is shutting down; send the request to another instance');
    }
  });
  app.addHook('onSend', async (_request, reply) => {
    if (lifecycle.isDraining) void reply.header('connection', 'close');
  });
  app.addHook('onRequestAbort', async (request) => lifecycle.countOut(request));
  app.addHook('onResponse', async (request, reply) => {
    lifecycle.countOut(request);
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.duration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });
};
export const lifecyclePlugin = fp(lifecycleHooks);
