// The one error a Genshi template raises, compiling or rendering: REPO_TEMPLATE naming file:line.
import { VacfgError } from "../../../protocol/errors.js";

export class RenderError extends VacfgError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
    cause?: unknown,
  ) {
    super("REPO_TEMPLATE", `${file}:${line}: ${detail}`, cause === undefined ? undefined : { cause });
  }
}

/** A message for an error thrown while evaluating template code (a PyException carries "Type: message"). */
export function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
