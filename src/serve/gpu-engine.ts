/**
 * serve/gpu-engine — what `kiln serve --engine gpu` needs before any model loads: a WebGPU
 * adapter, named for the startup line and /info, or a coded error that says why there is none.
 *
 * Inference itself runs in ONNX Runtime's WebGPU execution provider (bundled in onnxruntime-node
 * on Linux x64, its own Dawn inside). That provider does not say which adapter it took, so Kiln
 * asks Dawn the same question first (engine/adapter: high-performance, then low-power, over the
 * same Vulkan drivers) and reports that adapter. The probe also turns "no GPU" into a clear error
 * before the server listens, instead of ONNX Runtime's "No supported adapters" at the first load.
 * Software adapters (lavapipe) are accepted: the GPU is asked for explicitly, as `--device gpu`.
 */
import { KilnError } from '../common/errors.js';
import type { AdapterInfo } from '../engine/adapter.js';

export const GPU_SERVE_ERROR = 'KILN_ERR_GPU_UNAVAILABLE';

export const GPU_SERVE_HINT =
  'serve on the CPU with --engine auto (the default), or install the GPU vendor\'s Vulkan driver and libvulkan1; `kiln doctor` lists the adapters Kiln sees';

/** `--engine gpu` on a machine where no WebGPU adapter answers. */
export class GpuUnavailableError extends KilnError {
  readonly hint = GPU_SERVE_HINT;

  constructor(reason: string) {
    super(GPU_SERVE_ERROR, `--engine gpu: ${reason}`);
    this.name = 'GpuUnavailableError';
  }
}

let probed: Promise<AdapterInfo> | null = null;

/**
 * The adapter GPU inference will run on; throws GpuUnavailableError when there is none. Probed
 * once per process (every model a server loads runs on the same GPU).
 */
export async function servingAdapter(): Promise<AdapterInfo> {
  probed ??= (async () => {
    const { probeAdapter } = await import('../engine/adapter.js');
    const probe = await probeAdapter('gpu');
    if (!probe.ok) throw new GpuUnavailableError(probe.reason);
    return probe.info;
  })();
  // A failed probe is not kept: the next load asks again.
  return probed.catch((error: unknown) => {
    probed = null;
    throw error;
  });
}
