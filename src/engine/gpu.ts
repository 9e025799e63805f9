/**
 * engine/gpu — the GPU path: WebGPU adapter selection (Dawn over Vulkan) and the tfjs 'webgpu'
 * backend on the chosen adapter.
 *
 * `--device auto` trains on a hardware adapter (discrete or integrated) when one exists and never
 * on a software one: lavapipe/llvmpipe or SwiftShader are slower than the wasm path and exist
 * for tests. `--device gpu` asks for the GPU explicitly and accepts a software adapter (how CI
 * proves the path on lavapipe). Dawn and the backend load only when a GPU is asked for, so
 * `--device cpu` never touches the native addon.
 */
import * as tf from '@tensorflow/tfjs';
import type { DeviceChoice } from './device-choice.js';

/** What the adapter says about itself, for logs and run tags. */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** lavapipe/llvmpipe, SwiftShader or Dawn's fallback adapter: a CPU pretending to be a GPU. */
  software: boolean;
}

export type AdapterProbe = { ok: true; adapter: GPUAdapter; info: AdapterInfo } | { ok: false; reason: string };

export const GPU_DRIVER_HINT =
  'a real GPU needs its vendor\'s Vulkan driver (and libvulkan1); check with `kiln train --device gpu --dry-run`';

const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|software rasterizer/i;

/** True for adapters that run on the CPU: Mesa's lavapipe (llvmpipe), SwiftShader, fallbacks. */
export function isSoftwareAdapter(info: Omit<AdapterInfo, 'software'> & { isFallbackAdapter?: boolean }): boolean {
  if (info.isFallbackAdapter === true || info.architecture.toLowerCase() === 'software') return true;
  return SOFTWARE_NAMES.test(`${info.vendor} ${info.device} ${info.description}`);
}

function describe(adapter: GPUAdapter): AdapterInfo {
  const raw = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const base = { vendor: raw.vendor, architecture: raw.architecture, device: raw.device, description: raw.description };
  return { ...base, software: isSoftwareAdapter({ ...base, isFallbackAdapter: raw.isFallbackAdapter }) };
}

/** One line for logs: "nvidia hopper (NVIDIA H100 80GB HBM3)". */
export function adapterLabel(info: AdapterInfo): string {
  const name = [info.vendor, info.architecture].filter((part) => part !== '').join(' ') || 'unknown adapter';
  return `${name}${info.description !== '' ? ` (${info.description})` : ''}${info.software ? ' [software]' : ''}`;
}

let shim: Promise<GPU> | null = null;

async function loadDawn(): Promise<GPU> {
  shim ??= import('./webgpu-shim.js').then((module) => module.dawnGpu);
  return shim;
}

/**
 * Finds the adapter `choice` allows: a hardware one first (high-performance, then low-power);
 * a software one only for 'gpu'. Never throws: a missing driver is a reason, not a crash.
 */
export async function probeAdapter(choice: Exclude<DeviceChoice, 'cpu'>): Promise<AdapterProbe> {
  let gpu: GPU;
  try {
    gpu = await loadDawn();
  } catch (error) {
    return { ok: false, reason: `WebGPU (Dawn) could not load: ${error instanceof Error ? error.message : String(error)}` };
  }
  const seen: { adapter: GPUAdapter; info: AdapterInfo }[] = [];
  for (const powerPreference of ['high-performance', 'low-power'] as const) {
    const adapter = await gpu.requestAdapter({ powerPreference }).catch(() => null);
    if (adapter === null) continue;
    const info = describe(adapter);
    if (!info.software) return { ok: true, adapter, info };
    seen.push({ adapter, info });
  }
  if (seen.length === 0) return { ok: false, reason: `no WebGPU adapter found (no Vulkan driver?); ${GPU_DRIVER_HINT}` };
  if (choice === 'gpu') return { ok: true, ...seen[0] };
  return { ok: false, reason: `only a software adapter is present (${adapterLabel(seen[0].info)}); --device gpu uses it explicitly` };
}

/** Device limits tfjs's own registration asks for (the defaults are too small for big buffers). */
function deviceDescriptor(adapter: GPUAdapter): GPUDeviceDescriptor {
  const limits = adapter.limits;
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  return {
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  };
}

let registered: AdapterInfo | null = null;

/**
 * Registers tfjs's 'webgpu' backend on `adapter` (replacing the package's own registration, which
 * picks an adapter by itself) and makes it the current backend.
 */
export async function useWebGpuBackend(adapter: GPUAdapter, info: AdapterInfo): Promise<void> {
  await loadDawn();
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  if (registered === null || registered.description !== info.description) {
    if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
    // Priority 0: a bare tf.ready() elsewhere must never pick the GPU by itself.
    tf.registerBackend('webgpu', async () => new WebGPUBackend(await adapter.requestDevice(deviceDescriptor(adapter)), adapter.info), 0);
    registered = info;
  }
  if (tf.getBackend() !== 'webgpu' && !(await tf.setBackend('webgpu'))) {
    throw new Error(`kiln engine: the tfjs webgpu backend failed to initialise on ${adapterLabel(info)}`);
  }
  await tf.ready();
}
