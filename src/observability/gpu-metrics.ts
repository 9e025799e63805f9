/**
 * observability/gpu-metrics — per-GPU gauges read from `nvidia-smi` (utilization, memory,
 * temperature, power), for the trainer's endpoint when a GPU exists.
 *
 * nvidia-smi is run asynchronously at scrape time (never blocking the event loop, results cached
 * for a second, a 5 s timeout). Without nvidia-smi, or with no GPU listed, nothing is registered:
 * the metrics are absent, not zero, and nothing is logged as an error. In the Compose stack the
 * DCGM exporter gives the same figures (gpu profile); this collector covers runs without it.
 */
import { execFile } from 'node:child_process';
import { Gauge, type Registry } from 'prom-client';

export const NVIDIA_SMI_FIELDS = ['index', 'name', 'uuid', 'utilization.gpu', 'utilization.memory', 'memory.used', 'memory.total', 'temperature.gpu', 'power.draw', 'power.limit'] as const;

export interface GpuSample {
  index: string;
  name: string;
  uuid: string;
  /** 0–1 */
  utilization: number | null;
  memoryUtilization: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  temperatureCelsius: number | null;
  powerWatts: number | null;
  powerLimitWatts: number | null;
}

const MIB = 1024 * 1024;

/** A value of nvidia-smi's CSV, or null for `[N/A]`, `[Not Supported]` and the like. */
function num(text: string | undefined, scale = 1): number | null {
  if (text === undefined) return null;
  const value = Number(text.trim());
  return text.trim() === '' || !Number.isFinite(value) ? null : value * scale;
}

const ratio = (percent: string | undefined): number | null => {
  const value = num(percent);
  return value === null ? null : value / 100;
};

/** Parses `nvidia-smi --query-gpu=<NVIDIA_SMI_FIELDS> --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(csv: string): GpuSample[] {
  const samples: GpuSample[] = [];
  for (const line of csv.split('\n')) {
    if (line.trim() === '') continue;
    const cells = line.split(',').map((cell) => cell.trim());
    // A GPU name never contains a comma in practice; if one did, the extra cells belong to it.
    const extra = cells.length - NVIDIA_SMI_FIELDS.length;
    if (extra < 0) continue;
    const index = cells[0] ?? '';
    const name = cells.slice(1, 2 + extra).join(', ');
    const [uuid = '', util, memUtil, memUsed, memTotal, temp, power, powerLimit] = cells.slice(2 + extra);
    if (!/^\d+$/.test(index)) continue;
    samples.push({
      index,
      name,
      uuid,
      utilization: ratio(util),
      memoryUtilization: ratio(memUtil),
      memoryUsedBytes: num(memUsed, MIB),
      memoryTotalBytes: num(memTotal, MIB),
      temperatureCelsius: num(temp),
      powerWatts: num(power),
      powerLimitWatts: num(powerLimit),
    });
  }
  return samples;
}

export type NvidiaSmiRunner = () => Promise<string>;

/** Runs nvidia-smi (the binary on PATH, or `command`); rejects with ENOENT when there is none. */
export function nvidiaSmi(command = 'nvidia-smi'): NvidiaSmiRunner {
  return () =>
    new Promise((resolve, reject) => {
      execFile(command, [`--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`, '--format=csv,noheader,nounits'], { timeout: 5000, encoding: 'utf8' }, (error, stdout) => {
        if (error) reject(error);
        else resolve(stdout);
      });
    });
}

export interface GpuMetrics {
  gpus: GpuSample[];
}

/**
 * Registers the GPU gauges on `registry` when nvidia-smi answers with at least one GPU; returns
 * null (and registers nothing) otherwise.
 */
export async function registerGpuMetrics(registry: Registry, options: { run?: NvidiaSmiRunner; prefix?: string; cacheMs?: number } = {}): Promise<GpuMetrics | null> {
  const run = options.run ?? nvidiaSmi();
  let gpus: GpuSample[];
  try {
    gpus = parseNvidiaSmi(await run());
  } catch {
    return null;
  }
  if (gpus.length === 0) return null;
  const prefix = options.prefix ?? 'kiln_gpu_';
  const cacheMs = options.cacheMs ?? 1000;
  const state: GpuMetrics = { gpus };
  let readAt = Date.now();
  let pending: Promise<void> | null = null;
  const refresh = async (): Promise<void> => {
    if (Date.now() - readAt < cacheMs) return;
    pending ??= run()
      .then((csv) => {
        state.gpus = parseNvidiaSmi(csv);
      })
      .catch(() => {
        // A failed read (driver busy, timeout) leaves the GPUs out of this scrape.
        state.gpus = [];
      })
      .finally(() => {
        readAt = Date.now();
        pending = null;
      });
    await pending;
  };
  const labelNames = ['gpu', 'name', 'uuid'] as const;
  const gauge = (name: string, help: string, pick: (gpu: GpuSample) => number | null): void => {
    new Gauge({
      name: `${prefix}${name}`,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        await refresh();
        this.reset();
        for (const gpu of state.gpus) {
          const value = pick(gpu);
          if (value !== null) this.set({ gpu: gpu.index, name: gpu.name, uuid: gpu.uuid }, value);
        }
      },
    });
  };
  gauge('utilization_ratio', 'GPU busy fraction over the last sample period (0-1), from nvidia-smi', (g) => g.utilization);
  gauge('memory_utilization_ratio', 'GPU memory controller busy fraction (0-1), from nvidia-smi', (g) => g.memoryUtilization);
  gauge('memory_used_bytes', 'GPU memory in use, bytes', (g) => g.memoryUsedBytes);
  gauge('memory_total_bytes', 'GPU memory installed, bytes', (g) => g.memoryTotalBytes);
  gauge('temperature_celsius', 'GPU core temperature, degrees Celsius', (g) => g.temperatureCelsius);
  gauge('power_watts', 'GPU power draw, watts', (g) => g.powerWatts);
  gauge('power_limit_watts', 'GPU power limit, watts', (g) => g.powerLimitWatts);
  return state;
}
