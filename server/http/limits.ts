// Request-size and timing limits of the HTTP front, and the bounded body reader that
// enforces them (the body is never buffered past the limit).
import type { IncomingMessage } from "node:http";
import { VacfgError } from "../../protocol/errors.js";

/** Default largest request body: a statistics upload of a big host stays well below. */
export const DEFAULT_BODY_LIMIT = 32 * 1024 * 1024;
/** Idle time after a response before a kept-alive connection is closed. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Whole-request deadline (headers + body), against clients that trickle bytes. */
export const REQUEST_TIMEOUT_MS = 120_000;
export const HEADERS_TIMEOUT_MS = 30_000;

function tooLarge(size: number | string, limit: number): VacfgError {
  return new VacfgError("BODY_TOO_LARGE", `request body of ${size} bytes exceeds the limit of ${limit} bytes`);
}

/** Reads the whole body, refusing (before reading, when Content-Length says so) anything over `limit`. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(declared, limit);
  return await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        chunks.length = 0;
        finish(tooLarge(`more than ${limit}`, limit));
        return;
      }
      chunks.push(c);
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
