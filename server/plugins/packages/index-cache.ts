// The sources' Packages indexes on disk: downloaded (http://, https://, file://) into the cache
// directory under upstream's names (the URL with "/" as "@"), read back and parsed once per
// change. The parse is keyed by the files' signatures, so a refresh made by another server
// process sharing the cache is seen on the next request.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { writeFileAtomic } from "../../../lib/atomic-file.js";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { fileSignature } from "../../core/file-cache.js";
import { readIndexes, type SourceData } from "./apt-index.js";
import { indexArch, indexUrls, type AptSource } from "./sources.js";

/** Largest index accepted, compressed and uncompressed (Debian's main/amd64 is ~50 MiB uncompressed). */
const MAX_INDEX_BYTES = 512 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 120_000;

/** Fetches one URL's body (http, https or file), bounded in size and time. */
async function fetchUrl(url: string): Promise<Buffer> {
  if (url.startsWith("file://")) return readFile(fileURLToPath(url));
  const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: "follow" });
  if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
  const len = Number(res.headers.get("content-length") ?? 0);
  if (len > MAX_INDEX_BYTES) throw new Error(`${len} bytes is over the ${MAX_INDEX_BYTES}-byte limit`);
  const body = Buffer.from(await res.arrayBuffer());
  if (body.length > MAX_INDEX_BYTES) throw new Error(`${body.length} bytes is over the ${MAX_INDEX_BYTES}-byte limit`);
  return body;
}

/** Upstream's cache file name for a URL ("/" → "@"); a name too long for a file system is hashed. */
export function cacheName(url: string): string {
  const name = url.replace(/\//g, "@");
  return Buffer.byteLength(name) <= 200 ? name : `url-${createHash("sha256").update(url).digest("hex")}`;
}

/** What makes two sources read the same files the same way (upstream's Source.cachekey, plus `essential`). */
function sourceKey(src: AptSource): string {
  return JSON.stringify([src.version, src.components, src.url, src.rawurl, src.arches, src.essential]);
}

export interface LoadResult {
  data: SourceData;
  /** Index URLs that are not in the cache (never fetched, or their download failed). */
  missing: string[];
}

export class IndexCache {
  private parsed = new Map<string, { sig: string; result: LoadResult }>();
  constructor(readonly dir: string) {}

  private path(url: string): string {
    return join(this.dir, cacheName(url));
  }

  /** The signature of a source's cached files (changes when any is downloaded again). */
  signature(src: AptSource): string {
    return indexUrls(src)
      .map((u) => fileSignature(this.path(u)) ?? "-")
      .join("|");
  }

  /** Downloads the source's indexes that are not cached (all of them with `force`); errors are collected, old files kept. */
  async download(src: AptSource, force: boolean): Promise<string[]> {
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    const errors: string[] = [];
    for (const url of indexUrls(src)) {
      const dest = this.path(url);
      if (!force && fileSignature(dest) !== undefined) continue;
      try {
        const body = await fetchUrl(url);
        gunzipSync(body, { maxOutputLength: MAX_INDEX_BYTES }); // refuse a corrupt download before it replaces a good one
        writeFileAtomic(dest, body);
      } catch (e) {
        errors.push(`${url}: ${(e as Error).message}`);
      }
    }
    return errors;
  }

  /** The parsed data of a source's cached indexes (files that are missing count as empty). */
  load(src: AptSource): LoadResult {
    const key = sourceKey(src);
    const sig = this.signature(src);
    const have = this.parsed.get(key);
    if (have && have.sig === sig) return have.result;
    const missing: string[] = [];
    const files = indexUrls(src).flatMap((url) => {
      try {
        const text = gunzipSync(readFileSync(this.path(url)), { maxOutputLength: MAX_INDEX_BYTES }).toString("utf8");
        return [{ arch: indexArch(src, url), text }];
      } catch {
        missing.push(url);
        return [];
      }
    });
    const result = { data: readIndexes(files, src.essential), missing };
    this.parsed.set(key, { sig, result });
    return result;
  }

  /** Removes cached files no current source uses (upstream does so on every load). */
  prune(sources: AptSource[]): void {
    const keep = new Set(sources.flatMap((s) => indexUrls(s).map(cacheName)));
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    // Only index files (URL names, hashed names): never a temp file another process is writing.
    for (const n of names) if (!keep.has(n) && /^(url-[0-9a-f]{64}|[a-z]+:@@.*\.gz)$/.test(n)) rmSync(join(this.dir, n), { force: true });
    const live = new Set(sources.map(sourceKey));
    for (const k of [...this.parsed.keys()]) if (!live.has(k)) this.parsed.delete(k);
  }
}
