// The agent's logger: one child per component, levels as bcfg2's -q/-v/-d, lines on stderr
// except the run summary, which goes to stdout as upstream prints it.
export type Level = "error" | "warn" | "info" | "debug";
const ORDER: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  /** Summary lines (Phase, Correct entries, …): printed at info level and above, on stdout. */
  summary(msg: string): void;
  child(component: string): Logger;
}

export function createLogger(level: Level, component = "agent", sink: { out: (s: string) => void; err: (s: string) => void } = {
  out: (s) => process.stdout.write(s + "\n"),
  err: (s) => process.stderr.write(s + "\n"),
}): Logger {
  const at = ORDER[level];
  const emit = (l: Level, msg: string) => {
    if (ORDER[l] <= at) sink.err(l === "info" ? msg : `${component}: ${l}: ${msg}`);
  };
  return {
    error: (m) => emit("error", m),
    warn: (m) => emit("warn", m),
    info: (m) => emit("info", m),
    debug: (m) => emit("debug", m),
    summary: (m) => {
      if (at >= ORDER.info) sink.out(m);
    },
    child: (c) => createLogger(level, `${component}.${c}`, sink),
  };
}

/** A logger that keeps its lines until flush(to) writes them to `to` (and to its children, by component), in order. */
export function deferredLogger(): { log: Logger; flush(to: Logger): void } {
  const lines: { path: string[]; level: Level | "summary"; msg: string }[] = [];
  const make = (path: string[]): Logger => {
    const keep = (level: Level | "summary") => (msg: string) => void lines.push({ path, level, msg });
    return { error: keep("error"), warn: keep("warn"), info: keep("info"), debug: keep("debug"), summary: keep("summary"), child: (c) => make([...path, c]) };
  };
  return {
    log: make([]),
    flush: (to) => {
      for (const l of lines.splice(0)) l.path.reduce((lg, c) => lg.child(c), to)[l.level](l.msg);
    },
  };
}
