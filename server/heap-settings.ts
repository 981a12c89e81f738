// V8's heap settings for a server process. Left to itself, V8 lets the old generation grow to two to
// four times what is live before it collects it again; with a live heap of 60-90 MiB (100,000 clients:
// clients.xml's model, the build cache) that was most of the server's RSS. A collection once the heap
// is a fifth above what was live after the last one keeps it near that, for about 1 % more CPU
// (bench/scale: 40,000 new clients, peak RSS 330 → 207 MiB; major collections 12 → 58, 0.1 → 0.9 s).
// The flag is read at every collection, so it can be set once the process runs. An operator's own
// --heap-growing-percent (node's command line, NODE_OPTIONS) wins.
import { setFlagsFromString } from "node:v8";

export const HEAP_GROWING_PERCENT = 20;

export function tuneServerHeap(): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS?.split(/\s+/) ?? [])].some((a) => /^--heap[-_]growing[-_]percent\b/.test(a));
  if (!given) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
