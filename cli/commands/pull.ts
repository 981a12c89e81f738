// `vacfg pull` (bcfg2-admin pull): an entry's current state on a client, from its last statistics
// in the store, written into the repository (server/admin/pull.ts).
import { createInterface, type Interface } from "node:readline";
import type { Command } from "commander";
import { pino } from "pino";
import { withExamples } from "../help.js";
import { openCore } from "../../server/admin/open-core.js";
import { describeChoice, pullEntry, type PullOptions, type PullRequest } from "../../server/admin/pull.js";
import type { Core } from "../../server/core/core.js";
import { addSiteOptions, siteSettings, type SiteOptions } from "./site-options.js";

interface PullCliOptions extends SiteOptions {
  interactive?: boolean;
  stdin?: boolean;
}

const HELP = `
As bcfg2-admin pull: the entry must be bad in the client's newest run (a dry run, bcfg2 -n, reports
what differs without changing it). Its current owner, group and mode (the configured ones where the
client reported none) and its current content go to the one plugin that generates the entry:
- Cfg writes the content as a plain file of the specificity the client gets now (the global file,
  a .G##_group file or its .H_client file), or, when that is not its own, where -I accepts; owner,
  group and mode go to the entry's info.xml when they change.
- SSHbase writes a host key to SSHbase/KEY.H_client.
The content is the file the client reported (current_bfile), or is rebuilt from the diff it
reported (current_bdiff) and what the server sends it now. Sensitive entries never carry content
and are refused, and so are templates and encrypted files (edit them by hand). Files are replaced
atomically; a running server sees the change on the next request.
With --stdin each line is "CLIENT TYPE NAME"; a line that fails is reported and the next is read.
Exit status 1 when an entry could not be pulled.`;

/** Answers read from stdin, one line per question (one reader: a second would lose buffered lines). */
function stdinAnswers(): { ask(question: string): Promise<string>; close(): void } {
  let rl: Interface | undefined;
  let lines: AsyncIterator<string> | undefined;
  return {
    async ask(question) {
      process.stderr.write(question);
      rl ??= createInterface({ input: process.stdin, terminal: false });
      lines ??= rl[Symbol.asyncIterator]();
      const next = await lines.next();
      return next.done ? "" : next.value;
    },
    close: () => rl?.close(),
  };
}

/** Upstream Choose: every place, best first, until one is accepted. */
function interactiveChooser(ask: (q: string) => Promise<string>): PullOptions["choose"] {
  return async (choice, isCurrent) => {
    process.stderr.write(`Plugin returned choice:\n${isCurrent ? "(current entry) \n" : ""} => ${describeChoice(choice)}\n`);
    return ["y", "Y"].includes((await ask("Use this entry? [yN]: ")).trim());
  };
}

async function pullOne(core: Core, req: PullRequest, opts: PullOptions): Promise<boolean> {
  try {
    const r = await pullEntry(core, req, opts);
    if (!r.choice) process.stderr.write(`vacfg pull: ${req.tag} ${req.name} for ${r.client}: no place accepted, nothing written\n`);
    else if (r.written.length === 0) process.stderr.write(`vacfg pull: ${req.tag} ${req.name} for ${r.client}: the repository already holds it\n`);
    for (const f of r.written) process.stderr.write(`vacfg pull: wrote ${f}\n`);
    return true;
  } catch (e) {
    process.stderr.write(`vacfg pull: ${(e as Error).message}\n`);
    return false;
  }
}

async function stdinLines(): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8").split("\n");
}

export function registerPull(program: Command): void {
  const cmd = program
    .command("pull")
    .description("retrieve an entry's current state from a client's statistics and integrate it into the repository (bcfg2-admin pull)")
    .argument("[hostname]", "the client")
    .argument("[entrytype]", "the entry's type (Path)")
    .argument("[entryname]", "the entry's name (an absolute path)")
    .option("-I, --interactive", "ask, for each place the entry could go, whether to use it")
    .option("-s, --stdin", "read lines of <hostname> <entrytype> <entryname> from stdin instead of the command line");
  addSiteOptions(cmd, "write into")
    .addHelpText("after", HELP)
    .action(async (hostname: string | undefined, entrytype: string | undefined, entryname: string | undefined, o: PullCliOptions) => {
      if (o.interactive && o.stdin) throw new Error("-I/--interactive reads answers from stdin and cannot be combined with -s/--stdin");
      if (!o.stdin && !(hostname && entrytype && entryname)) throw new Error("You must specify either --stdin or a hostname, entry type, and entry name on the command line.");
      if (o.stdin && hostname) throw new Error("with --stdin the entries come from stdin, not the command line");
      const requests: PullRequest[] = [];
      let failed = 0;
      if (o.stdin) {
        for (const line of await stdinLines()) {
          const words = line.trim().split(/\s+/);
          if (words.length === 1 && words[0] === "") continue;
          if (words.length !== 3) {
            process.stderr.write(`vacfg pull: Bad entry: ${line.trim()}\n`);
            failed++;
            continue;
          }
          requests.push({ client: words[0]!, tag: words[1]!, name: words[2]! });
        }
      } else requests.push({ client: hostname!, tag: entrytype!, name: entryname! });
      const { settings, storeUrl } = siteSettings(o, (line) => process.stderr.write(`vacfg pull: ${line}\n`));
      // Read-only core: no client is registered and no key generated; the writes are the pull's own.
      const { core, close } = await openCore(settings, storeUrl, pino({ level: "silent" }), { readOnly: true });
      const answers = stdinAnswers();
      try {
        const opts: PullOptions = o.interactive ? { choose: interactiveChooser((q) => answers.ask(q)) } : {};
        for (const req of requests) if (!(await pullOne(core, req, opts))) failed++;
      } finally {
        answers.close();
        await close();
      }
      if (failed) process.exitCode = 1;
    });
  withExamples(cmd, [
    "vacfg pull -c /srv/vacfg/vacfg.conf web3 Path /etc/motd",
    "vacfg pull -c /srv/vacfg/vacfg.conf -I web3 Path /etc/ntp.conf   # choose global, group or host file",
    "vacfg pull -c /srv/vacfg/vacfg.conf --stdin < entries.txt   # lines of: web3 Path /etc/ssh/ssh_host_ed25519_key.pub",
  ]);
}
