// Turns any driver failure into the catalogue's STORE error, naming the engine and operation.
import { VacfgError, isVacfgError } from "../../protocol/errors.js";

export function storeError(engine: string, op: string, e: unknown): VacfgError {
  if (isVacfgError(e)) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return new VacfgError("STORE", `${engine} store: ${op} failed: ${detail}`, { cause: e });
}

/** Runs one store operation, so callers only ever see VacfgError("STORE", ...). */
export async function storeOp<T>(engine: string, op: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw storeError(engine, op, e);
  }
}
