// Request-size and timing limits of the HTTP front, and the bounded body reader that
// enforces them (the body is handed on chunk by chunk, never buffered).
import type { IncomingMessage } from "node:http";
import { VacfgError } from "../../protocol/errors.js";

/**
 * Default largest request body. A statistics upload of a big host (thousands of entries, diffs
 * included) stays well below; the server's memory under any body stays bounded by about this much
 * (test/server/http/memory-bound.test.ts measures it).
 */
export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;
/** Idle time after a response before a kept-alive connection is closed. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Whole-request deadline (headers + body), against clients that trickle bytes. */
export const REQUEST_TIMEOUT_MS = 120_000;
export const HEADERS_TIMEOUT_MS = 30_000;

function tooLarge(size: number | string, limit: number): VacfgError {
  return new VacfgError("BODY_TOO_LARGE", `request body of ${size} bytes exceeds the limit of ${limit} bytes`);
}

/**
 * The body when it came whole with the headers (a small call on a kept-alive connection: it is in the
 * stream's buffer already), as the chunks it arrived in; undefined while some of it is still to come.
 * Refuses a body over `limit`.
 */
export function takeBufferedBody(req: IncomingMessage, limit: number): Buffer[] | undefined {
  refuseDeclaredTooLarge(req, limit);
  if (!req.complete || req.readableFlowing !== null) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  // Paused, a read() takes all that is buffered: a second one only when more is left.
  for (let c = req.read() as Buffer | null; c !== null; c = req.readableLength > 0 ? (req.read() as Buffer | null) : null) {
    size += c.length;
    if (size > limit) throw tooLarge(`more than ${limit}`, limit);
    chunks.push(c);
  }
  return chunks;
}

function refuseDeclaredTooLarge(req: IncomingMessage, limit: number): void {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(declared, limit);
}

/**
 * Hands the body to `onChunk` as it arrives, refusing (before reading, when Content-Length says so)
 * anything over `limit`. An error thrown by `onChunk` stops the reading and rejects with it.
 */
export async function readBody(req: IncomingMessage, limit: number, onChunk: (chunk: Buffer) => void): Promise<void> {
  refuseDeclaredTooLarge(req, limit);
  return await new Promise<void>((resolve, reject) => {
    let size = 0;
    let done = false;
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
      if (err) reject(err);
      else resolve();
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) return finish(tooLarge(`more than ${limit}`, limit));
      try {
        onChunk(c);
      } catch (e) {
        finish(e);
      }
    };
    const onEnd = (): void => finish();
    const onError = (e: Error): void => finish(e);
    const onAborted = (): void => finish(new Error("client aborted the request"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}
