// Parameters a node asserts about itself (issue 10): over TLS, against the real server on the example
// repository, the real agent sends the parameter file patched into its root. Only a file the site
// signed for this very client turns `nodenames` into the slurm-head group; a worker that puts itself
// first (unsigned, re-signed with its own key, tampered, or signed for another node) gets no head bundle.
import { expect } from "chai";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONTEXT_FILE_PATH, serializeParameterFile, type ParamSignature, type ParameterFile } from "../../protocol/params.js";
import { signParameters } from "../../protocol/params-signature.js";
import { CTX_SIGNING_KEY, loadCtxSigningKey } from "../../server/admin/ctx-signing-key.js";
import type { StartedServer } from "../../server/start-server.js";
import { startTestSite, type TestSite } from "../server/http/site.js";
import { addShell, makeBaseRoot, removeDir, runAgentProcess, tempDir } from "./fixtures.js";

describe("signed contextualization parameters (real agent, real server over TLS)", function () {
  this.timeout(120_000);
  let site: TestSite;
  let work: string;
  let siteKey: KeyObject;
  const ownKey = generateKeyPairSync("ed25519").privateKey;
  before(async () => {
    // `vacfg init` made the site key and put its public half in vacfg.conf ([context] public_key)
    site = await startTestSite();
    work = tempDir("vacfg-signed-params-");
    siteKey = loadCtxSigningKey(join(site.dir, CTX_SIGNING_KEY));
  });
  after(async () => {
    await site?.cleanup();
    if (work) removeDir(work);
  });

  const nodenames = (...names: string[]): ParameterFile =>
    new Map([
      ["domain", { kind: "value", value: "cluster" }],
      ["nodenames", { kind: "list", items: names.map((value) => ({ value })) }],
    ]);

  /** Runs the agent (dry run) as `client` with `file` as its patched parameter file; returns the bundles it was sent. */
  async function bundlesFor(client: string, file: string, server: StartedServer = site.server): Promise<string[]> {
    const root = join(work, `${client}-${server.port}`);
    makeBaseRoot(root);
    addShell(root);
    mkdirSync(join(root, "etc/vacfg"), { recursive: true });
    writeFileSync(join(root, CONTEXT_FILE_PATH), file);
    const cache = join(work, `${client}-${server.port}.config.xml`);
    const r = await runAgentProcess(["-S", server.url, "-u", client, "-x", "labsecret", "--ca", join(site.tlsDir, "ca.crt"), "--root", root, "-n", "-c", cache]);
    expect(r.code, r.stderr).to.equal(0);
    return [...readFileSync(cache, "utf8").matchAll(/<Bundle name="([^"]+)"/g)].map((m) => m[1]);
  }
  const file = (params: ParameterFile, signature?: ParamSignature) => serializeParameterFile(params, signature);

  it("a file the site signed for the client derives its group (the head's bundle for the first of nodenames)", async () => {
    const p = nodenames("head-a", "node1", "node2");
    expect(await bundlesFor("head-a", file(p, signParameters(p, "head-a", siteKey)))).to.include("slurm-head");
    const w = nodenames("node0", "worker-a", "node2");
    const bundles = await bundlesFor("worker-a", file(w, signParameters(w, "worker-a", siteKey)));
    expect(bundles).to.include("slurm-worker").and.not.include("slurm-head");
  });

  it("a worker that puts itself first unsigned gets no head bundle", async () => {
    expect(await bundlesFor("worker-b", file(nodenames("worker-b", "node0")))).to.not.include("slurm-head");
  });

  it("…nor re-signed with a key of its own", async () => {
    const p = nodenames("worker-c", "node0");
    expect(await bundlesFor("worker-c", file(p, signParameters(p, "worker-c", ownKey)))).to.not.include("slurm-head");
  });

  it("…nor by editing a file the site signed (itself moved first)", async () => {
    const p = nodenames("node0", "worker-d");
    const signed = file(p, signParameters(p, "worker-d", siteKey));
    const tampered = signed.replace('<Item value="node0"/>', "@@").replace('<Item value="worker-d"/>', '<Item value="node0"/>').replace("@@", '<Item value="worker-d"/>');
    expect(tampered).to.not.equal(signed);
    expect(await bundlesFor("worker-d", tampered)).to.not.include("slurm-head");
  });

  it("…nor with a file the site signed for another node", async () => {
    const p = nodenames("worker-e", "node0");
    expect(await bundlesFor("worker-e", file(p, signParameters(p, "node4", siteKey)))).to.not.include("slurm-head");
  });

  it("[context] allow_unsigned (a lab setting) lets unsigned parameters derive groups and logs that it does", async () => {
    const lab = await site.another({ settings: { ...site.config.settings, contextAllowUnsigned: true } });
    try {
      expect(await bundlesFor("worker-f", file(nodenames("worker-f", "node0")), lab)).to.include("slurm-head");
      const log = readFileSync(site.logFile, "utf8");
      expect(log).to.contain("allow_unsigned is on").and.contain("accepting unsigned parameters");
    } finally {
      await lab.close();
    }
  });
});
