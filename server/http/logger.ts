// The server's structured logger: one pino root (JSON lines), one child per component,
// so every line says which part of the server wrote it.
import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger } from "pino";

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** File to append JSON lines to; default stderr (fd 2). */
  file?: string;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const dest = opts.file ? pino.destination({ dest: opts.file, sync: true, mkdir: true }) : pino.destination(2);
  return pino({ level: opts.level ?? (process.env.VACFG_LOG_LEVEL as LevelWithSilent | undefined) ?? "info" }, dest);
}

/** A child logger for one component ("http", "xmlrpc", "core", …). */
export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}
