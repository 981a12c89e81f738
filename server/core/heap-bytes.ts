// What a value costs in V8's heap, roughly and on the high side, so that a cache bounded by it stays
// within its bound: 64-bit words without pointer compression (Node's default), as the heap snapshot
// counts them. Strings are counted whole even where they are shared (group names), objects reached
// twice once. The build cache's test compares the estimate with the heap it really frees.

const WORD = 8;
/** A header word per object and, for hash tables, their backing arrays' headers. */
const OBJECT = 3 * WORD;
const ARRAY = 4 * WORD + 2 * WORD;
/** A Set or Map object, its hash table's header and its smallest bucket array. */
const HASH_TABLE = 4 * WORD + 5 * WORD + 2 * WORD;

const align = (n: number): number => Math.ceil(n / WORD) * WORD;

/** A string's bytes: a two-word header, then one byte per character (two when any is beyond Latin-1). */
export function stringBytes(s: string): number {
  // eslint-disable-next-line no-control-regex
  return 2 * WORD + align(/[^\u0000-\u00ff]/.test(s) ? 2 * s.length : s.length);
}

/** A hash table's slots are a power of two (at least 4), with half as many buckets; `words` per entry. */
function hashTableBytes(size: number, words: number): number {
  let capacity = 4;
  while (capacity < size) capacity *= 2;
  return HASH_TABLE + capacity * (words + 0.5) * WORD;
}

/** Bytes of `value` and everything it reaches through arrays, Sets, Maps and own enumerable properties. */
export function heapBytes(value: unknown, seen = new Set<object>()): number {
  if (typeof value === "string") return stringBytes(value);
  if (typeof value === "number") return Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? 0 : 2 * WORD;
  if (value === null || typeof value !== "object") return 0;
  if (seen.has(value)) return 0;
  seen.add(value);
  let n = 0;
  if (Array.isArray(value)) {
    n = ARRAY + value.length * WORD;
    for (const x of value) n += heapBytes(x, seen);
  } else if (value instanceof Set) {
    n = hashTableBytes(value.size, 2);
    for (const x of value) n += heapBytes(x, seen);
  } else if (value instanceof Map) {
    n = hashTableBytes(value.size, 3);
    for (const [k, x] of value) n += heapBytes(k, seen) + heapBytes(x, seen);
  } else {
    const keys = Object.keys(value);
    n = OBJECT + keys.length * WORD;
    for (const k of keys) n += heapBytes((value as Record<string, unknown>)[k], seen);
  }
  return n;
}
