/**
 * Seeded pseudo-random numbers for the forest trainer.
 *
 * Why our own PRNG: reproducibility must not depend on which thread builds a tree, so every tree
 * gets its own generator whose seed is derived from (forest seed, tree index). xoshiro128** is
 * small, fast in 32-bit integer arithmetic (Math.imul) and statistically good enough for
 * bootstrap draws and feature sampling; splitmix32 spreads nearby seeds (42, 43, ...) apart.
 */

/** One step of splitmix32: a bijective 32-bit mixer, used to expand seeds. */
export function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Seed of tree `treeIndex` in a forest seeded with `seed`; independent of thread assignment. */
export function deriveSeed(seed: number, treeIndex: number): number {
  return splitmix32(splitmix32(seed >>> 0) ^ Math.imul(treeIndex + 1, 0x27d4eb2d)) >>> 0;
}

export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform float in [0, 1). */
  nextFloat(): number;
  /** Uniform integer in [0, n), n <= 2^32. */
  nextInt(n: number): number;
}

/** xoshiro128** seeded through splitmix32 (state must not be all zero; splitmix makes that practically impossible). */
export function createRng(seed: number): Rng {
  let s0 = splitmix32(seed >>> 0);
  let s1 = splitmix32(s0);
  let s2 = splitmix32(s1);
  let s3 = splitmix32(s2);
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;

  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  const nextFloat = (): number => nextUint32() / 4294967296;
  // Multiply-shift (Lemire) without the rejection step: the bias is < n / 2^32, irrelevant for
  // row counts in the millions, and it keeps the draw loop branch-free.
  const nextInt = (n: number): number => Math.floor(nextFloat() * n);
  return { nextUint32, nextFloat, nextInt };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
