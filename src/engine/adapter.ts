/**
 * engine/adapter — finding and naming a WebGPU adapter (Dawn over Vulkan), free of tfjs.
 *
 * Split from engine/gpu so that a process that only needs to know which GPU is there (`kiln serve
 * --engine gpu`, which runs ONNX Runtime's own WebGPU execution provider) loads Dawn but never
 * TensorFlow.js. The rules: `--device auto` takes a hardware adapter only; `gpu` also accepts a
 * software one (lavapipe, how CI proves the GPU path). A hardware GPU's Vulkan driver reaches it
 * through a device node (a DRM render node, NVIDIA's, or WSL's /dev/dxg): without one, `auto`
 * does not load Dawn at all, which saves its start-up and the limit warnings Dawn prints while
 * enumerating a software adapter.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
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

/** Dawn as the process's navigator.gpu (engine/webgpu-shim), loaded once, on first use. */
export async function loadDawn(): Promise<GPU> {
  shim ??= import('./webgpu-shim.js').then((module) => module.dawnGpu);
  return shim;
}

/** The device nodes under `dev` through which a hardware GPU is reached: /dev/dri/renderD*, /dev/nvidia<N>, /dev/dxg. */
export function gpuDeviceNodes(dev = '/dev'): string[] {
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  return [
    ...list(join(dev, 'dri')).filter((name) => name.startsWith('renderD')).map((name) => join(dev, 'dri', name)),
    ...list(dev).filter((name) => /^nvidia\d+$/.test(name) || name === 'dxg').map((name) => join(dev, name)),
  ];
}

/**
 * Finds the adapter `choice` allows: a hardware one first (high-performance, then low-power);
 * a software one only for 'gpu'. 'auto' with no GPU device node (`nodes`) and no Vulkan driver
 * named by the environment answers at once. Never throws: a missing driver is a reason, not a crash.
 */
export async function probeAdapter(choice: Exclude<DeviceChoice, 'cpu'>, nodes: readonly string[] = gpuDeviceNodes()): Promise<AdapterProbe> {
  const driverNamed = Boolean(process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES);
  if (choice === 'auto' && nodes.length === 0 && !driverNamed) {
    return { ok: false, reason: 'no GPU device (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg); --device gpu also tries a software adapter' };
  }
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
