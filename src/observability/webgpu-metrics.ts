/**
 * observability/webgpu-metrics — what a trainer on tfjs's WebGPU backend can see of its GPU, for
 * the trainer's endpoint beside nvidia-smi's kiln_gpu_* gauges (which see the whole card, when
 * there is an NVIDIA one):
 *
 *  - kiln_gpu_adapter_info{vendor,architecture,description,software}: the adapter it trains on;
 *  - kiln_gpu_tfjs_memory_used_bytes / _allocated_bytes: GPU buffers tfjs holds for live tensors,
 *    and in all (those plus the freed buffers it keeps for reuse), read at scrape time;
 *  - kiln_gpu_step_wait_seconds_total, kiln_gpu_step_seconds_total and kiln_gpu_step_wait_ratio:
 *    how long training steps took and how much of it the trainer spent awaiting the GPU's results.
 *
 * Why a wait share and not a utilisation: WebGPU's timestamp queries (tfjs's profiler) end the
 * compute pass at every kernel and read each time back, which slows training to measure it. The
 * wait share costs two clock reads per step. It is not the GPU's busy fraction: the GPU also
 * works while the trainer records the next commands, and the wait includes copying results back.
 * Near 1, the GPU is the bottleneck; near 0, the CPU side (data, command encoding) is.
 *
 * Free of tfjs: the caller passes a memory reader (tf.memory on the webgpu backend).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** The adapter as engine/adapter describes it (structural, so this module needs no engine import). */
export interface WebGpuAdapterLabels {
  vendor: string;
  architecture: string;
  description: string;
  software: boolean;
}

/** tf.memory() on the webgpu backend: numBytesInGPU, numBytesAllocatedInGPU. */
export interface WebGpuMemory {
  numBytesInGPU?: number;
  numBytesAllocatedInGPU?: number;
}

export interface WebGpuSource {
  adapter: WebGpuAdapterLabels;
  memory: () => WebGpuMemory;
}

/** Steps the kiln_gpu_step_wait_ratio gauge averages over. */
export const WAIT_WINDOW_STEPS = 50;

export interface WebGpuMetrics {
  /** One training step on the GPU: its duration and the part spent awaiting the GPU's results. */
  observeStep(stepSeconds: number, waitSeconds: number): void;
}

/** Registers the WebGPU gauges on `registry`; the memory gauges read `source.memory()` at each scrape. */
export function registerWebGpuMetrics(registry: Registry, source: WebGpuSource): WebGpuMetrics {
  const registers = [registry];
  const { vendor, architecture, description, software } = source.adapter;
  new Gauge({ name: 'kiln_gpu_adapter_info', help: 'The WebGPU adapter the trainer runs on (always 1; the adapter is in the labels)', labelNames: ['vendor', 'architecture', 'description', 'software'], registers }).set(
    { vendor, architecture, description, software: String(software) },
    1,
  );
  const memoryGauge = (name: string, help: string, pick: (memory: WebGpuMemory) => number | undefined): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const value = pick(source.memory());
        if (value !== undefined) this.set(value);
      },
    });
  };
  memoryGauge('kiln_gpu_tfjs_memory_used_bytes', 'GPU memory in buffers tfjs holds for live tensors (tf.memory().numBytesInGPU), bytes', (m) => m.numBytesInGPU);
  memoryGauge('kiln_gpu_tfjs_memory_allocated_bytes', 'GPU memory tfjs has allocated, live tensors plus freed buffers kept for reuse, bytes', (m) => m.numBytesAllocatedInGPU);
  const waitTotal = new Counter({ name: 'kiln_gpu_step_wait_seconds_total', help: 'Time training steps on the GPU spent awaiting the GPU results (loss, accuracy), seconds', registers });
  const stepTotal = new Counter({ name: 'kiln_gpu_step_seconds_total', help: 'Time of training steps on the GPU, seconds', registers });
  const window: { step: number; wait: number }[] = [];
  new Gauge({
    name: 'kiln_gpu_step_wait_ratio',
    help: `Share of the last ${WAIT_WINDOW_STEPS} training steps' time spent awaiting the GPU's results (0-1); not GPU utilisation`,
    registers,
    collect() {
      const step = window.reduce((sum, s) => sum + s.step, 0);
      if (step > 0) this.set(window.reduce((sum, s) => sum + s.wait, 0) / step);
    },
  });
  return {
    observeStep(stepSeconds, waitSeconds) {
      waitTotal.inc(waitSeconds);
      stepTotal.inc(stepSeconds);
      window.push({ step: stepSeconds, wait: waitSeconds });
      if (window.length > WAIT_WINDOW_STEPS) window.shift();
    },
  };
}
