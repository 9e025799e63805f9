/**
 * common/random — the seeded pseudo-random source every area uses.
 *
 * Reproducibility is a contract in Kiln (same seed, same machine, same metrics), so nothing
 * that shuffles, splits, augments or initialises may call Math.random. This is sfc32, a small
 * fast generator with a 128-bit state that passes PractRand; seeds are expanded by splitmix32
 * so that nearby seeds (1, 2, 3, …) give unrelated streams.
 *
 * @example
 * const rng = new Random(42);
 * rng.float();          // uniform in [0, 1)
 * rng.int(10);          // uniform integer in [0, 10)
 * rng.shuffle(indices); // in-place Fisher–Yates
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Standard normal sample (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles `values` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [index: number]: number }>(values: T): T {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = values[i];
      values[i] = values[j];
      values[j] = tmp;
    }
    return values;
  }

  /**
   * Fills `out` with an inverted-dropout mask: each entry is `scale` with probability `keep`,
   * else 0. Draws 16 bits per entry (two entries per 32-bit output), so `keep` is honoured to
   * 1/65536; this is the trainer's hottest random loop, hence the inlined generator.
   */
  fillBernoulli(out: Float32Array, keep: number, scale: number): Float32Array {
    const threshold = Math.round(keep * 65536);
    let { a, b, c, d } = this;
    const n = out.length;
    for (let i = 0; i < n; i += 2) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      out[i] = (t & 0xffff) < threshold ? scale : 0;
      if (i + 1 < n) out[i + 1] = t >>> 16 < threshold ? scale : 0;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    return out;
  }

  /** A derived, independent generator (for giving each consumer its own stream). */
  fork(): Random {
    return new Random(this.uint32());
  }
}
