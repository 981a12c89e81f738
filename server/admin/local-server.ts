// Local mode: the same core a server runs, in process, for one client and without a network,
// so an agent can render a repository it ships (`vacfg agent --local REPO`, `vacfg image build`).
// It works on a private copy of the repository and the memory store (server/store/memory-store.ts:
// no database, no native module, so the bundled agent runs it on an appliance's Node 18): a local
// run registers no client, keeps no statistics beyond the run and writes no key into the repository
// it was given.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import type { MethodCall, XmlRpcValue } from "../../protocol/xmlrpc/values.js";
import { XmlRpcFault } from "../../protocol/errors.js";
import { XmlRpcDispatcher } from "../http/xmlrpc-handler.js";
import { DEFAULT_PLUGINS } from "./server-config.js";
import { MemoryStore } from "../store/memory-store.js";
import { startCore } from "./start-core.js";
import { checkRepositoryDir } from "./repository-check.js";

export interface LocalServerOptions {
  /** The repository (Bcfg2 layout) to render. */
  repo: string;
  /** The client name every call is made as. */
  client: string;
  logger: Logger;
  /** [context] public_key PEMs: parameters signed with one of them derive groups (as on a server). */
  contextKeys?: string[];
}

/** What the agent calls instead of its XML-RPC proxy: the same methods, answers and faults. */
export interface LocalServer {
  call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue>;
  close(): Promise<void>;
}

export async function openLocalServer(o: LocalServerOptions): Promise<LocalServer> {
  checkRepositoryDir(resolve(o.repo));
  const scratch = mkdtempSync(join(tmpdir(), "vacfg-local-"));
  try {
    const repo = join(scratch, "repo");
    cpSync(resolve(o.repo), repo, { recursive: true, verbatimSymlinks: true });
    const settings = {
      repo,
      dataDir: join(scratch, "data"),
      password: "",
      plugins: DEFAULT_PLUGINS,
      defaultAuth: "cert+password" as const,
      allowedProbeGroups: [],
      contextKeys: o.contextKeys ?? [],
    };
    const store = new MemoryStore();
    // One run: no build cache, no repository watch.
    const core = await startCore(settings, store, o.logger, { buildCache: false });
    const dispatcher = new XmlRpcDispatcher(core, o.logger);
    return {
      async call(method, ...params) {
        const call: MethodCall = { methodName: method, params };
        // The caller is this machine: loopback, as the admin ACL expects of a local caller.
        const out = await dispatcher.dispatch(call, { client: o.client, address: "127.0.0.1" });
        if (out.kind === "denied") throw new XmlRpcFault(-32500, out.reason);
        if (out.response.kind === "fault") throw new XmlRpcFault(out.response.faultCode, out.response.faultString);
        return out.response.value;
      },
      async close() {
        try {
          await core.close();
          await store.close();
        } finally {
          rmSync(scratch, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    throw e;
  }
}
