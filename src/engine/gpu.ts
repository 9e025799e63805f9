/**
 * engine/gpu — the GPU path: the tfjs 'webgpu' backend on the adapter engine/adapter chose
 * (WebGPU through Dawn over Vulkan).
 *
 * `--device auto` trains on a hardware adapter (discrete or integrated) when one exists and never
 * on a software one: lavapipe/llvmpipe or SwiftShader are slower than the wasm path and exist
 * for tests. `--device gpu` asks for the GPU explicitly and accepts a software adapter (how CI
 * proves the path on lavapipe). Dawn and the backend load only when a GPU is asked for, so
 * `--device cpu` never touches the native addon.
 */
import * as tf from '@tensorflow/tfjs';
import { type AdapterInfo, adapterLabel, loadDawn } from './adapter.js';

export { type AdapterInfo, type AdapterProbe, adapterLabel, GPU_DRIVER_HINT, isSoftwareAdapter, probeAdapter } from './adapter.js';

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
