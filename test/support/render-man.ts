// Renders a manual page as a reader would see it: `man -l` (man-db, which reads .gz and converts the
// input encoding), or groff's man macros where man-db is missing; every groff warning enabled.
import { spawnSync } from "node:child_process";

export interface RenderedMan {
  text: string;
  /** What the formatter said on stderr (warnings); empty for a clean page. */
  warnings: string;
  tool: string;
}

const has = (tool: string): boolean => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;

export function renderMan(file: string, width = 80): RenderedMan {
  const env = { ...process.env, MANWIDTH: String(width), MAN_KEEP_FORMATTING: "", LC_ALL: "C.UTF-8", MANPAGER: "cat", PAGER: "cat" };
  const [tool, args] = has("man") ? ["man", ["--warnings=all", "-l", file]] : ["groff", ["-k", "-man", "-Tutf8", "-wall", "-P-c", `-rLL=${width}n`, file]];
  const r = spawnSync(tool, args, { env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  // man -l prints through col -b when not on a terminal: no overstrikes left. groff's raw output may have SGR codes.
  return { text: r.stdout.replace(/\x1b\[[0-9;]*m/g, ""), warnings: r.stderr, tool };
}
