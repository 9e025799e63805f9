/**
 * tune/samplers/tpe/truncnorm — the normal-distribution special functions the Parzen estimator
 * needs, after Optuna's `_truncnorm` (itself a port of SciPy's): log Φ, Φ⁻¹ in log space, the
 * log Gaussian mass of an interval, and the truncated normal's ppf / log pdf.
 *
 * erfc is computed from the all-positive Taylor series of erf for |x| < 3 and from the Laplace
 * continued fraction beyond, where it is carried in log space so nothing underflows.
 */

const SQRT2 = Math.SQRT2;
const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** erf(x) for |x| < 3: erf(x) = 2/√π · e^{−x²} · Σ 2ⁿ x^{2n+1} / (2n+1)!! (all terms positive). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** log erfc(x) for x ≥ 3 by the continued fraction erfc(x) = e^{−x²}/√π · 1/(x + ½/(x + 1/(x + 3/2/(x + …)))). */
function logErfcLarge(x: number): number {
  // Modified Lentz on K = 1/(x + a1/(x + a2/(x + …))) with a_k = k/2.
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    c = x + a / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -x * x - LOG_SQRT_PI - Math.log(f);
}

/** Complementary error function. */
export function erfc(x: number): number {
  if (x >= 3) return Math.exp(logErfcLarge(x));
  if (x <= -3) return 2 - Math.exp(logErfcLarge(-x));
  return 1 - erfSeries(x);
}

/** Standard normal CDF Φ(x). */
export function ndtr(x: number): number {
  return 0.5 * erfc(-x / SQRT2);
}

/** log Φ(x), accurate far into the left tail. */
export function logNdtr(x: number): number {
  const z = -x / SQRT2;
  if (z >= 3) return Math.log(0.5) + logErfcLarge(z);
  if (z <= -3) return Math.log1p(-0.5 * Math.exp(logErfcLarge(-z)));
  return Math.log(0.5 * (1 - erfSeries(z)));
}

/** log of the standard normal density. */
export function normLogPdf(x: number): number {
  return -0.5 * x * x - LOG_SQRT_2PI;
}

// Acklam's rational approximation of Φ⁻¹, refined below by Newton steps.
const A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

function acklam(p: number): number {
  const pLow = 0.02425;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  }
  if (p <= 1 - pLow) {
    const q = p - 0.5;
    const r = q * q;
    return ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
  }
  return -acklam(1 - p);
}

/** The x with log Φ(x) = y (y ≤ 0): SciPy's ndtri_exp. */
export function ndtriExp(y: number): number {
  if (y >= 0) return Infinity;
  if (y === -Infinity) return -Infinity;
  let x: number;
  if (y > -1e-3) {
    // Φ(x) close to 1: 1 − Φ(x) = −expm1(y) is exact in floating point.
    x = -acklam(-Math.expm1(y));
  } else if (y > -700) {
    x = acklam(Math.exp(y));
  } else {
    // Left tail: log Φ(x) ≈ −x²/2 − log(−x) − log √(2π).
    const t = -2 * y;
    x = -Math.sqrt(t - Math.log(t) - Math.log(2 * Math.PI));
  }
  // Newton on log Φ(x) − y; d/dx log Φ = φ(x)/Φ(x).
  for (let i = 0; i < 3; i++) {
    const l = logNdtr(x);
    const slope = Math.exp(normLogPdf(x) - l);
    if (!Number.isFinite(slope) || slope === 0) break;
    const step = (l - y) / slope;
    x -= step;
    if (Math.abs(step) < 1e-14 * Math.max(1, Math.abs(x))) break;
  }
  return x;
}

/** log(e^p − e^q) for p ≥ q. */
function logDiff(p: number, q: number): number {
  return p + Math.log1p(-Math.exp(q - p));
}

/** log(e^p + e^q). */
export function logSum(p: number, q: number): number {
  const m = Math.max(p, q);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(Math.exp(p - m) + Math.exp(q - m));
}

/** log of the standard normal mass in [a, b]. */
export function logGaussMass(a: number, b: number): number {
  if (b <= 0) return logDiff(logNdtr(b), logNdtr(a));
  if (a > 0) return logDiff(logNdtr(-a), logNdtr(-b));
  return Math.log1p(-ndtr(a) - ndtr(-b));
}

/** Quantile q of the standard normal truncated to [a, b]. */
export function truncnormPpf(q: number, a: number, b: number): number {
  if (a === b) return NaN;
  if (q <= 0) return a;
  if (q >= 1) return b;
  if (a < 0) {
    const logPhi = logSum(logNdtr(a), Math.log(q) + logGaussMass(a, b));
    return ndtriExp(logPhi);
  }
  const logPhi = logSum(logNdtr(-b), Math.log1p(-q) + logGaussMass(a, b));
  return -ndtriExp(logPhi);
}

/** A draw from N(mu, sigma²) truncated to [low, high], by inversion of uniform `u` ∈ [0, 1). */
export function truncnormSample(u: number, mu: number, sigma: number, low: number, high: number): number {
  const x = truncnormPpf(u, (low - mu) / sigma, (high - mu) / sigma) * sigma + mu;
  return Math.min(high, Math.max(low, x));
}
