/**
 * engine/kernel-pack — swaps kernels of the tfjs 'wasm' backend for the engine's own.
 *
 * Modes:
 *  - 'blas': BatchMatMul, _FusedMatMul, Conv2D, FusedConv2D, Conv2DBackpropInput and
 *    Conv2DBackpropFilter through cblas_sgemm; MaxPoolGrad and leading-axes Sum in JS/sgemv;
 *    Identity and same-dtype Cast without copying (data shared by reference count); Tile as
 *    block copies.
 *  - 'js':   no BLAS. Adds Conv2DBackpropFilter (wasm lacks it) and a faster Conv2DBackpropInput,
 *    both built on the untransposed (fast) wasm BatchMatMul, plus the JS MaxPoolGrad and Sum.
 *  - 'none': the stock wasm kernels plus Conv2DBackpropFilter only (the baseline for benchmarks).
 * Every replacement falls back to the original kernel for cases it does not handle.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import type { Blas } from './blas.js';
import { isSupportedActivation } from './activation.js';
import { blasMatMul } from './matmul.js';
import {
  blasConv2D,
  blasConv2DBackpropFilter,
  blasConv2DBackpropInput,
  geomFromInfo,
  wasmConv2DBackpropFilter,
  wasmConv2DBackpropInput,
  clearConvCache,
} from './conv.js';
import { leadingSum, maxPoolGrad } from './pool-reduce.js';
import { tile } from './tile.js';
import { asWasmBackend, heapF32, offsetOf, sizeOf } from './wasm-heap.js';
import { setStockKernelsPack, withoutPackedCopies } from './packed-weights.js';

export type KernelMode = 'blas' | 'js' | 'none';

const BACKEND = 'wasm';
/** Kernel configs that were registered before the pack (null: there was none). */
const originals = new Map<string, KernelConfig | null>();
/** Stock kernels that cache their weights packed by tensor id (see packed-weights.ts). */
const PACKING_KERNELS: ReadonlySet<string> = new Set([tf.BatchMatMul, tf._FusedMatMul, tf.Conv2D, tf.FusedConv2D]);

type KernelArgs = { inputs: NamedTensorInfoMap; backend: object; attrs?: NamedAttrMap };
type Impl = (args: KernelArgs, fallback: KernelFunc) => TensorInfo | TensorInfo[] | null;

function input(inputs: NamedTensorInfoMap, name: string): TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`kiln engine: missing input '${name}'`);
  return t;
}

function opt(inputs: NamedTensorInfoMap, name: string): TensorInfo | undefined {
  return inputs[name] ?? undefined;
}

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type Pair = number | [number, number];

function attrsOf(args: KernelArgs): Record<string, unknown> {
  return (args.attrs ?? {}) as Record<string, unknown>;
}

function convInfo(
  inShape: number[],
  filterShape: number[],
  a: Record<string, unknown>,
  withDilations: boolean,
): tf.backend_util.Conv2DInfo | null {
  const dataFormat = (a.dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC' || inShape.length !== 4 || filterShape.length !== 4) return null;
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides as Pair,
    withDilations ? ((a.dilations as Pair | undefined) ?? 1) : 1,
    a.pad as Pad,
    a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

function requireBlas(blas: Blas | null): Blas {
  if (blas === null) throw new Error('kiln engine: BLAS kernel used without BLAS');
  return blas;
}

function buildImpls(mode: KernelMode, blas: Blas | null): Map<string, Impl> {
  const impls = new Map<string, Impl>();
  const matMulOriginal = originals.get(tf.BatchMatMul) ?? tf.getKernel(tf.BatchMatMul, BACKEND);

  impls.set(tf.Conv2DBackpropFilter, (args) => {
    const a = attrsOf(args);
    const x = input(args.inputs, 'x');
    const dy = input(args.inputs, 'dy');
    const info = convInfo(x.shape, a.filterShape as number[], a, false);
    if (info === null) throw new Error('kiln engine: Conv2DBackpropFilter supports NHWC only');
    const backend = asWasmBackend(args.backend);
    const g = geomFromInfo(info);
    if (mode === 'blas') {
      const r = blasConv2DBackpropFilter(backend, requireBlas(blas), x, dy, g);
      if (r !== null) return r;
    }
    if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('kiln engine: Conv2DBackpropFilter needs float32');
    if (matMulOriginal === null || matMulOriginal === undefined) throw new Error('kiln engine: wasm BatchMatMul missing');
    return wasmConv2DBackpropFilter(backend, matMulOriginal.kernelFunc, x, dy, g);
  });
  if (mode === 'none') return impls;

  impls.set(tf.MaxPoolGrad, (args) => {
    const a = attrsOf(args);
    const x = input(args.inputs, 'input');
    if (x.shape.length !== 4) return null;
    const info = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      a.filterSize as Pair,
      a.strides as Pair,
      1,
      a.pad as Pad,
      a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    );
    return maxPoolGrad(asWasmBackend(args.backend), input(args.inputs, 'dy'), x, input(args.inputs, 'output'), info);
  });

  // Identity and same-dtype Cast share the data (refCount + 1) instead of copying it, as the
  // 'cpu' backend does; the stock wasm kernels copy (e.g. every relu gradient cast x to float32).
  // Writers that mutate data in place must check refCount === 1 (see inplace.ts).
  const share = (args: KernelArgs, x: TensorInfo): TensorInfo | null => {
    if (x.dtype === 'string') return null;
    asWasmBackend(args.backend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  impls.set(tf.Identity, (args) => share(args, input(args.inputs, 'x')));
  impls.set(tf.Cast, (args) => {
    const x = input(args.inputs, 'x');
    return attrsOf(args).dtype === x.dtype ? share(args, x) : null;
  });

  // Mean over leading axes (batch-norm statistics of NHWC activations) is that Sum, scaled; the
  // stock kernel transposes the whole activation first.
  impls.set(tf.Mean, (args) => {
    const a = attrsOf(args);
    const x = input(args.inputs, 'x');
    const backend = asWasmBackend(args.backend);
    const out = leadingSum(backend, blas, x, a.axis as number | number[], a.keepDims === true);
    if (out === null) return null;
    const count = sizeOf(x.shape) / Math.max(1, sizeOf(out.shape));
    const heap = heapF32(backend);
    const at = offsetOf(backend, out);
    for (let i = at, end = at + sizeOf(out.shape); i < end; i++) heap[i]! /= count;
    return out;
  });
  impls.set(tf.Tile, (args) => tile(asWasmBackend(args.backend), input(args.inputs, 'x'), attrsOf(args).reps as number[]));

  impls.set(tf.Sum, (args) => {
    const a = attrsOf(args);
    return leadingSum(asWasmBackend(args.backend), blas, input(args.inputs, 'x'), a.axis as number | number[], a.keepDims === true);
  });
  if (mode === 'js') {
    impls.set(tf.Conv2DBackpropInput, (args) => {
      const a = attrsOf(args);
      const dy = input(args.inputs, 'dy');
      const filter = input(args.inputs, 'filter');
      const info = convInfo(a.inputShape as number[], filter.shape, a, false);
      if (info === null || dy.dtype !== 'float32' || filter.dtype !== 'float32' || matMulOriginal == null) return null;
      return wasmConv2DBackpropInput(asWasmBackend(args.backend), matMulOriginal.kernelFunc, dy, filter, geomFromInfo(info));
    });
    return impls;
  }

  const b = requireBlas(blas);
  impls.set(tf.BatchMatMul, (args) => {
    const a = attrsOf(args);
    return blasMatMul(asWasmBackend(args.backend), b, {
      a: input(args.inputs, 'a'),
      b: input(args.inputs, 'b'),
      transposeA: a.transposeA === true,
      transposeB: a.transposeB === true,
    });
  });

  impls.set(tf._FusedMatMul, (args) => {
    const a = attrsOf(args);
    if (!isSupportedActivation(a.activation)) return null;
    return blasMatMul(asWasmBackend(args.backend), b, {
      a: input(args.inputs, 'a'),
      b: input(args.inputs, 'b'),
      transposeA: a.transposeA === true,
      transposeB: a.transposeB === true,
      bias: opt(args.inputs, 'bias'),
      activation: (a.activation as string | undefined) ?? 'linear',
      leakyreluAlpha: (a.leakyreluAlpha as number | undefined) ?? 0.2,
    });
  });

  const conv = (fused: boolean): Impl => (args) => {
    const a = attrsOf(args);
    if (fused && !isSupportedActivation(a.activation)) return null;
    const x = input(args.inputs, 'x');
    const filter = input(args.inputs, 'filter');
    const info = convInfo(x.shape, filter.shape, a, true);
    if (info === null) return null;
    return blasConv2D(asWasmBackend(args.backend), b, {
      x,
      filter,
      geom: geomFromInfo(info),
      bias: fused ? opt(args.inputs, 'bias') : undefined,
      activation: fused ? ((a.activation as string | undefined) ?? 'linear') : 'linear',
      leakyreluAlpha: (a.leakyreluAlpha as number | undefined) ?? 0.2,
    });
  };
  impls.set(tf.Conv2D, conv(false));
  impls.set(tf.FusedConv2D, conv(true));

  impls.set(tf.Conv2DBackpropInput, (args) => {
    const a = attrsOf(args);
    const dy = input(args.inputs, 'dy');
    const filter = input(args.inputs, 'filter');
    const info = convInfo(a.inputShape as number[], filter.shape, a, false);
    if (info === null) return null;
    return blasConv2DBackpropInput(asWasmBackend(args.backend), b, dy, filter, geomFromInfo(info));
  });
  return impls;
}

const stats = new Map<string, { calls: number; fallbacks: number }>();

/** Calls and fallbacks (to the original kernel) per replaced kernel since the last install. */
export function kernelPackStats(): Record<string, { calls: number; fallbacks: number }> {
  const out: Record<string, { calls: number; fallbacks: number }> = {};
  for (const [name, s] of stats) out[name] = { ...s };
  return out;
}

/** Restores every kernel the pack replaced. */
export function uninstallKernelPack(): void {
  for (const [name, config] of originals) {
    if (tf.getKernel(name, BACKEND) !== undefined) tf.unregisterKernel(name, BACKEND);
    if (config !== null) tf.registerKernel(config);
  }
  originals.clear();
  setStockKernelsPack(true);
}

/** Installs the pack in the given mode (replacing a previous install); returns the kernel names. */
export function installKernelPack(mode: KernelMode, blas: Blas | null): string[] {
  uninstallKernelPack();
  stats.clear();
  clearConvCache();
  // Remember the stock kernels first, so fallbacks never call into the pack itself.
  const impls = buildImpls(mode, blas);
  for (const name of impls.keys()) originals.set(name, tf.getKernel(name, BACKEND) ?? null);
  const installed: string[] = [];
  // Under BLAS nothing writes weights in place with the stock kernels in mind: the few calls that
  // fall back to a packing kernel repack their inputs instead.
  setStockKernelsPack(mode !== 'blas');
  for (const [name, impl] of impls) {
    const original = originals.get(name) ?? null;
    const guard = mode === 'blas' && PACKING_KERNELS.has(name);
    const fallback: KernelFunc = (args) => {
      if (original === null) throw new Error(`kiln engine: no fallback for ${name}`);
      if (guard) return withoutPackedCopies(asWasmBackend(args.backend), args.inputs, () => original.kernelFunc(args));
      return original.kernelFunc(args);
    };
    const counter = { calls: 0, fallbacks: 0 };
    stats.set(name, counter);
    const kernelFunc: KernelFunc = (args) => {
      counter.calls++;
      const r = impl(args, fallback);
      if (r !== null) return r;
      counter.fallbacks++;
      return fallback(args);
    };
    if (original !== null) tf.unregisterKernel(name, BACKEND);
    tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc });
    installed.push(name);
  }
  return installed.sort();
}

/** Wraps every kernel of the wasm backend with a timer (for benchmarks). Returns an unwrap function. */
export function instrumentKernels(times: Map<string, { ms: number; calls: number }>): () => void {
  const configs = tf.getKernelsForBackend(BACKEND).slice();
  for (const config of configs) {
    const inner = config.kernelFunc;
    const name = config.kernelName;
    tf.unregisterKernel(name, BACKEND);
    tf.registerKernel({
      ...config,
      setupFunc: undefined,
      kernelFunc: (args) => {
        const t0 = performance.now();
        const r = inner(args);
        const dt = performance.now() - t0;
        const e = times.get(name);
        if (e === undefined) times.set(name, { ms: dt, calls: 1 });
        else {
          e.ms += dt;
          e.calls++;
        }
        return r;
      },
    });
  }
  return () => {
    for (const config of configs) {
      tf.unregisterKernel(config.kernelName, BACKEND);
      tf.registerKernel({ ...config, setupFunc: undefined });
    }
  };
}
