// vacfg(1), the manual page, generated from the same command tree as --help and docs/cli.md: each
// command's usage, description, arguments and options as commander's Help presents them, and the text a
// command adds after its help (examples, notes). `npm run docs` writes docs/vacfg.1; the vacfg Debian
// package ships it; test/cli/man-page.test.ts fails when it is stale or when man warns rendering it.
import type { EventEmitter } from "node:events";
import type { Command, Help } from "commander";
import { USAGE as AGENT_USAGE } from "../agent/options.js";
import { createProgram } from "./program.js";

/**
 * Roff text for one line of input: backslashes and hyphens escaped (a hyphen in an option must stay
 * an ASCII minus when rendered), non-ASCII as \[uXXXX] (groff's input encoding need not be UTF-8),
 * and a leading dot or quote made literal.
 */
export function roffText(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\e";
    else if (ch === "-") out += "\\-";
    else if (cp > 0x7e || cp < 0x20) out += cp < 0x20 ? " " : `\\[u${cp.toString(16).toUpperCase().padStart(4, "0")}]`;
    else out += ch;
  }
  return /^[.']/.test(out) ? `\\&${out}` : out;
}

/** Paragraphs of filled text (blank lines separate paragraphs). */
function paragraphs(text: string): string[] {
  const out: string[] = [];
  for (const para of text.trim().split(/\n\s*\n/)) {
    if (out.length) out.push(".PP");
    out.push(...para.split("\n").map((l) => roffText(l.trim())).filter((l) => l !== ""));
  }
  return out;
}

/** Text kept as it is laid out (examples, tables), indented. */
function preformatted(text: string): string[] {
  const lines = text.replace(/^\n+|\s+$/g, "").split("\n");
  return [".RS 2", ".nf", ...lines.map((l) => (l.trim() === "" ? ".sp" : roffText(l))), ".fi", ".RE"];
}

/** What a command's addHelpText("before"/"after") listeners print, by emitting the help events into a buffer. */
function addedHelp(cmd: Command, event: "beforeHelp" | "afterHelp"): string {
  let out = "";
  // A Command is an EventEmitter at run time; commander's typings leave emit out.
  (cmd as unknown as EventEmitter).emit(event, { error: false, write: (s: string) => (out += s), command: cmd });
  return out;
}

function items(title: string, list: Array<[string, string]>): string[] {
  if (!list.length) return [];
  const out = [`.PP`, `\\fB${title}\\fR`];
  for (const [term, description] of list) out.push(".TP", `.B ${roffText(term)}`, ...paragraphs(description || " "));
  return out;
}

function commandSection(help: Help, cmd: Command, path: string): string[] {
  const out = [`.SS "${roffText(`${path} ${help.commandUsage(cmd).split(" ").slice(path.split(" ").length).join(" ")}`.trim())}"`];
  // The agent parses bcfg2's options itself: its part is the agent's own usage text.
  if (path === "vacfg agent") return [...out, ...paragraphs(help.commandDescription(cmd)), ...preformatted(AGENT_USAGE)];
  const before = addedHelp(cmd, "beforeHelp");
  if (before.trim()) out.push(...preformatted(before));
  out.push(...paragraphs(help.commandDescription(cmd)));
  out.push(...items("Arguments", help.visibleArguments(cmd).map((a) => [help.argumentTerm(a), help.argumentDescription(a)])));
  out.push(...items("Options", help.visibleOptions(cmd).map((o) => [help.optionTerm(o), help.optionDescription(o)])));
  out.push(...items("Commands", help.visibleCommands(cmd).map((c) => [help.subcommandTerm(c), help.subcommandDescription(c)])));
  const after = addedHelp(cmd, "afterHelp");
  if (after.trim()) out.push(".PP", ...preformatted(after));
  return out;
}

function walk(cmd: Command, path: string): Array<{ path: string; cmd: Command }> {
  return cmd.commands.flatMap((c) => [{ path: `${path} ${c.name()}`, cmd: c }, ...walk(c, `${path} ${c.name()}`)]);
}

export function renderManPage(program: Command = createProgram()): string {
  const help = program.createHelp();
  const version = program.version() ?? "";
  const out = [
    `.\\" vacfg(1): generated from the command definitions by \`npm run docs\` (cli/man-page.ts). Do not edit.`,
    `.TH VACFG 1 "" "vacfg ${roffText(version)}" "User Commands"`,
    // Option names and paths read better unhyphenated and ragged-right.
    ".nh",
    ".ad l",
    ".SH NAME",
    `vacfg \\- ${roffText(program.description())}`,
    ".SH SYNOPSIS",
    ".B vacfg",
    ".I command",
    "[\\fIoptions\\fR] [\\fIarguments\\fR]",
    ".br",
    ".B vacfg",
    "[\\fB\\-V\\fR | \\fB\\-\\-version\\fR | \\fB\\-h\\fR | \\fB\\-\\-help\\fR]",
    ".SH DESCRIPTION",
    "vacfg is a configuration system that speaks Bcfg2's protocol: a server holding a profile repository in",
    "Bcfg2's layout, an agent that configures a machine from it, reports of the clients' runs, and the",
    "tools that contextualize, attest, build and deploy virtual appliance images. Every part is a command",
    "below; \\fBvacfg\\fR \\fIcommand\\fR \\fB\\-\\-help\\fR prints the same text.",
    ".PP",
    ...items("Options", help.visibleOptions(program).map((o) => [help.optionTerm(o), help.optionDescription(o)])),
    ".SH COMMANDS",
  ];
  for (const c of walk(program, "vacfg")) out.push(...commandSection(help, c.cmd, c.path));
  out.push(
    ".SH ENVIRONMENT",
    ".TP",
    ".B VACFG_ADMIN_PASSWORD",
    "The reporting UI's admin password; without it the server uses (and creates) the file admin\\-password in its data directory.",
    ".SH EXIT STATUS",
    "0 on success; 1 on an error (the message says what and where) or a bad command line. Commands whose",
    "status tells more say so above (\\fBvacfg attest verify\\fR, \\fBvacfg lint\\fR, \\fBvacfg agent\\fR).",
    ".SH SEE ALSO",
    ".BR bcfg2 (1),",
    ".BR bcfg2\\-server (8),",
    ".BR systemctl (1).",
    "The guides (administration, appliance authors, sites) and the error catalogue are in the project's docs/ directory.",
  );
  return out.join("\n") + "\n";
}
