/**
 * engine/blas — loads a CBLAS library (OpenBLAS preferred) through koffi.
 *
 * Pointers are passed as Float32Array views; koffi hands the view's backing memory to C
 * without copying, which is what lets the kernels read and write the wasm heap in place.
 */
import { existsSync } from 'node:fs';

const CBLAS_ROW_MAJOR = 101;

/** Multiply-adds (m*n*k) from which an sgemm uses more than one thread; measured by bench:train. */
const PARALLEL_MIN_WORK = Number(process.env.KILN_BLAS_PARALLEL_MIN_WORK ?? 64 * 1024 * 1024);
const CBLAS_NO_TRANS = 111;
const CBLAS_TRANS = 112;

/** The subset of CBLAS the kernel pack needs, in row-major terms. */
export interface Blas {
  /** Path or soname the library was loaded from. */
  readonly library: string;
  /** C = alpha * op(A) @ op(B) + beta * C (row-major; views start at the first element). */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  /** y = alpha * op(A) @ x + beta * y (row-major, A is m x n). */
  sgemv(
    trans: boolean,
    m: number,
    n: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    x: Float32Array,
    incx: number,
    beta: number,
    y: Float32Array,
    incy: number,
  ): void;
  /** Sets the library's thread count (no-op for libraries without the call). */
  setThreads(threads: number): void;
  /** The library's thread count, or 1 when the library cannot say. */
  getThreads(): number;
}

export type BlasLoadResult = { ok: true; blas: Blas } | { ok: false; reason: string };

/** Where OpenBLAS usually lives; the first that loads and exports cblas_sgemm wins. */
export function blasCandidates(): string[] {
  const list: string[] = [];
  const env = process.env.KILN_BLAS_LIBRARY;
  if (env !== undefined && env !== '') list.push(env);
  list.push(
    '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0',
    '/usr/lib/x86_64-linux-gnu/libopenblas.so.0',
    '/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0',
    '/usr/lib/aarch64-linux-gnu/libopenblas.so.0',
    '/usr/lib64/libopenblas.so.0',
    '/usr/lib/libopenblas.so.0',
    '/usr/local/lib/libopenblas.so.0',
    '/opt/homebrew/opt/openblas/lib/libopenblas.dylib',
    '/usr/local/opt/openblas/lib/libopenblas.dylib',
    'libopenblas.so.0',
  );
  return list;
}

interface KoffiFn {
  (...args: unknown[]): unknown;
}
interface KoffiLib {
  func(definition: string): KoffiFn;
}
interface KoffiModule {
  load(path: string): KoffiLib;
}

async function importKoffi(): Promise<KoffiModule | string> {
  try {
    const mod = (await import('koffi')) as unknown as { default?: KoffiModule } & KoffiModule;
    return mod.default ?? mod;
  } catch (err) {
    return `koffi (FFI) could not be loaded: ${(err as Error).message}`;
  }
}

/** Tries the candidates in order; never throws. */
export async function loadBlas(candidates: string[] = blasCandidates()): Promise<BlasLoadResult> {
  const koffi = await importKoffi();
  if (typeof koffi === 'string') return { ok: false, reason: koffi };
  const failures: string[] = [];
  for (const path of candidates) {
    if (path.startsWith('/') && !existsSync(path)) continue;
    let lib: KoffiLib;
    try {
      lib = koffi.load(path);
    } catch (err) {
      failures.push(`${path}: ${(err as Error).message}`);
      continue;
    }
    let sgemmFn: KoffiFn;
    let sgemvFn: KoffiFn;
    try {
      sgemmFn = lib.func(
        'void cblas_sgemm(int, int, int, int, int, int, float, float *, int, float *, int, float, float *, int)',
      );
      sgemvFn = lib.func('void cblas_sgemv(int, int, int, int, float, float *, int, float *, int, float, float *, int)');
    } catch (err) {
      failures.push(`${path}: no cblas_sgemm/cblas_sgemv (${(err as Error).message})`);
      continue;
    }
    let setT: KoffiFn | null = null;
    let getT: KoffiFn | null = null;
    try {
      setT = lib.func('void openblas_set_num_threads(int)');
      getT = lib.func('int openblas_get_num_threads()');
    } catch {
      setT = null;
      getT = null;
    }
    // Threads pay off only on large products: below PARALLEL_MIN_WORK multiply-adds a call runs
    // on one thread (waking the pool costs more than it saves on an MLP's 128x784x128 products).
    let maxThreads = getT !== null ? Number(getT()) : 1;
    let activeThreads = maxThreads;
    const useThreads = (wanted: number): void => {
      if (setT !== null && wanted !== activeThreads) {
        setT(wanted);
        activeThreads = wanted;
      }
    };
    const blas: Blas = {
      library: path,
      sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
        if (maxThreads > 1) useThreads(m * n * k >= PARALLEL_MIN_WORK ? maxThreads : 1);
        sgemmFn(
          CBLAS_ROW_MAJOR,
          transA ? CBLAS_TRANS : CBLAS_NO_TRANS,
          transB ? CBLAS_TRANS : CBLAS_NO_TRANS,
          m,
          n,
          k,
          alpha,
          a,
          lda,
          b,
          ldb,
          beta,
          c,
          ldc,
        );
      },
      sgemv(trans, m, n, alpha, a, lda, x, incx, beta, y, incy) {
        sgemvFn(CBLAS_ROW_MAJOR, trans ? CBLAS_TRANS : CBLAS_NO_TRANS, m, n, alpha, a, lda, x, incx, beta, y, incy);
      },
      setThreads(threads) {
        maxThreads = Math.max(1, Math.floor(threads));
        useThreads(maxThreads);
      },
      getThreads() {
        return getT !== null ? maxThreads : 1;
      },
    };
    // Smoke test: a 2x2 product must come out right, or the library is unusable.
    const a = new Float32Array([1, 2, 3, 4]);
    const b = new Float32Array([5, 6, 7, 8]);
    const c = new Float32Array(4);
    try {
      blas.sgemm(false, true, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2);
    } catch (err) {
      failures.push(`${path}: sgemm call failed (${(err as Error).message})`);
      continue;
    }
    if (c[0] !== 17 || c[1] !== 23 || c[2] !== 39 || c[3] !== 53) {
      failures.push(`${path}: sgemm smoke test gave wrong values`);
      continue;
    }
    return { ok: true, blas };
  }
  const tried = failures.length > 0 ? ` (${failures.join('; ')})` : '';
  return { ok: false, reason: `no OpenBLAS library found${tried}` };
}
