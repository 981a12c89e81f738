// mulberry32: a seeded random number generator for randomized tests, so a failure replays with its seed.
export function seededRandom(seed: number): { rnd: () => number; pick: <T>(xs: readonly T[]) => T } {
  let s = seed | 0;
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { rnd, pick: (xs) => xs[Math.floor(rnd() * xs.length)]! };
}
