// `vacfg pull` (bcfg2-admin pull): an entry's current state on a client, from its last statistics
// (pull-source.ts), written into the repository by the one generator that serves the entry, at
// the place that generator offers first (or, interactively, the one the admin accepts).
import { posix } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import { el } from "../../protocol/xml.js";
import { bindOne, exactGenerators } from "../core/build-config.js";
import { checkClientName } from "../core/client-name.js";
import type { Core } from "../core/core.js";
import type { ClientMetadata } from "../core/metadata.js";
import type { PullChoice, PulledEntry } from "../core/roles.js";
import { currentState, type CurrentState } from "./pull-source.js";
import { restoreFromDiff } from "./restore-from-diff.js";

export interface PullRequest {
  client: string;
  tag: string;
  name: string;
}

export interface PullOptions {
  /** -I: asked for each place, best first ("current entry" for the first); true takes it (upstream Choose). */
  choose?: (choice: PullChoice, isCurrent: boolean) => Promise<boolean>;
}

export interface PullResult {
  client: string;
  /** Where it went; undefined when every place was declined. */
  choice?: PullChoice;
  written: string[];
}

function fail(message: string): never {
  throw new VacfgError("PULL", message);
}

/** Upstream pulls what Reporting keeps owner, group, mode and content of: Path entries. */
function checkEntry(tag: string, name: string): void {
  if (tag !== "Path") fail(`only Path entries can be pulled (the statistics keep owner, group, mode and content for Path entries only), not ${JSON.stringify(tag.slice(0, 40))}`);
  if (name.length > 4096 || !name.startsWith("/") || name.includes("\0") || posix.normalize(name) !== name || name === "/") {
    fail(`entry name ${JSON.stringify(name.slice(0, 80))} is not a normalized absolute path`);
  }
}

export function describeChoice(c: PullChoice): string {
  if (c.kind === "all") return "global entry";
  if (c.kind === "group") return `group entry: ${c.group} (prio ${c.prio})`;
  return `host entry: ${c.hostname}`;
}

/**
 * The client's file: as it sent it, or rebuilt from its diff and what the server sends it now.
 * A diff taken against other content (the repository changed since that run) is refused.
 */
async function contentOf(core: Core, meta: ClientMetadata, name: string, state: CurrentState): Promise<Buffer | undefined> {
  if (!state.content) return undefined;
  if (state.content.kind === "file") return state.content.data;
  const entry = await bindOne(el("Path", { name, type: "file" }), meta, { plugins: core.plugins, logger: core.logger, timings: core.timings });
  if (entry.attrs.failure !== undefined) fail(`cannot rebuild ${name} from ${meta.hostname}'s diff: the server cannot bind it now: ${entry.attrs.failure}`);
  const text = entry.text ?? "";
  const served = entry.attrs.encoding === "base64" ? Buffer.from(text, "base64").toString("utf8") : text;
  const restored = restoreFromDiff(state.content.diff, served);
  if (restored === undefined) {
    fail(`${meta.hostname}'s diff of ${name} (run of ${new Date(state.received).toISOString()}) does not apply to what the server sends it now; run the client again (bcfg2 -n) and pull then`);
  }
  return Buffer.from(restored, "utf8");
}

export async function pullEntry(core: Core, req: PullRequest, opts: PullOptions = {}): Promise<PullResult> {
  const client = checkClientName(req.client);
  checkEntry(req.tag, req.name);
  const meta = await core.buildMetadata(client);
  const state = await currentState(core.store, meta.hostname, req.tag, req.name);
  const gens = await exactGenerators(req.tag, req.name, meta, core.plugins);
  if (gens.length !== 1) fail(`Got wrong numbers of matching generators for entry: ${JSON.stringify(gens.map((g) => g.name))}`);
  const gen = gens[0]!;
  if (!gen.acceptChoices || !gen.acceptPullData) fail(`Configuration upload not supported by plugin ${gen.name}`);
  const entry: PulledEntry = { tag: req.tag, name: req.name };
  for (const k of ["owner", "group", "mode"] as const) if (state[k]) entry[k] = state[k];
  const content = await contentOf(core, meta, req.name, state);
  if (content !== undefined) entry.content = content;
  const choices = gen.acceptChoices(entry, meta);
  let choice: PullChoice | undefined;
  if (!opts.choose) choice = choices[0];
  else {
    for (const [i, c] of choices.entries()) {
      if (await opts.choose(c, i === 0)) {
        choice = c;
        break;
      }
    }
  }
  if (!choice) return { client: meta.hostname, written: [] };
  return { client: meta.hostname, choice, written: await gen.acceptPullData(choice, entry, meta) };
}
