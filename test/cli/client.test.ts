// `vacfg client add|update|del|list` against a running vacfg server's repository: each edit keeps
// clients.xml's comments, the server sees it on its next request, and bad input changes nothing.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { StartedServer } from "../../server/start-server.js";
import { startSiteServer } from "../support/site-server.js";
import { projectRoot } from "../support/paths.js";
import { upstreamCall } from "../support/upstream-bcfg2.js";
import { writeRepo } from "../server/core/harness.js";

const run = promisify(execFile);
const vacfg = join(projectRoot, "dist/cli/vacfg.js");

async function client(conf: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [vacfg, "client", ...args, "-c", conf], { encoding: "utf8" });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { status: err.code ?? 1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

describe("vacfg client add|update|del|list on a running server's repository", function () {
  this.timeout(120_000);
  let dir: string;
  let conf: string;
  let server: StartedServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-client-"));
    writeRepo(join(dir, "repo"), {
      "Metadata/groups.xml":
        '<Groups>\n  <Group name="web" profile="true" public="true" default="true"><Bundle name="webb"/></Group>\n  <Group name="db" profile="true" public="true"><Bundle name="dbb"/></Group>\n  <Group name="rack"/>\n</Groups>\n',
      "Metadata/clients.xml": '<Clients>\n  <!-- keep this comment -->\n  <Client name="web1" profile="web"/>\n</Clients>\n',
      "Bundler/webb.xml": '<Bundle><Action name="web" command="true" timing="post" when="always" status="ignore"/></Bundle>\n',
      "Bundler/dbb.xml": '<Bundle><Action name="db" command="true" timing="post" when="always" status="ignore"/></Bundle>\n',
    });
    ({ conf, server } = await startSiteServer(dir, "sitepw"));
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const clientsXml = () => readFileSync(join(dir, "repo/Metadata/clients.xml"), "utf8");
  const bundlesOf = async (name: string) => [...(await upstreamCall(server.url, name, "sitepw", "GetConfig")).matchAll(/<Bundle name="(\w+)"/g)].map((m) => m[1]);

  it("add writes the client with its attributes (comments kept) and the server serves it at once", async () => {
    const r = await client(conf, ["add", "web9", "profile=db", "address=127.0.0.1"]);
    expect(r.status, r.stderr).to.equal(0);
    expect(clientsXml()).to.include("<!-- keep this comment -->").and.include('<Client name="web9" profile="db" address="127.0.0.1"/>');
    expect(await bundlesOf("web9")).to.deep.equal(["dbb"]);
  });

  it("update changes attributes in place; del removes the element and the store's registration; list shows both sources", async () => {
    expect((await client(conf, ["update", "web9", "profile=web"])).status).to.equal(0);
    expect(clientsXml()).to.include('<Client name="web9" profile="web" address="127.0.0.1"/>');
    expect(await bundlesOf("web9")).to.deep.equal(["webb"]);
    await upstreamCall(server.url, "newbie", "sitepw", "DeclareVersion", "1.4.0pre2"); // registers itself
    expect((await client(conf, ["list"])).stdout.split("\n").filter(Boolean)).to.deep.equal(["newbie", "web1", "web9"]);
    expect((await client(conf, ["del", "newbie"])).status).to.equal(0);
    expect((await client(conf, ["del", "web9"])).status).to.equal(0);
    expect(clientsXml()).to.equal('<Clients>\n  <!-- keep this comment -->\n  <Client name="web1" profile="web"/>\n</Clients>\n');
    expect((await client(conf, ["list"])).stdout).to.equal("web1\n");
  });

  it("refuses, naming the problem, and changes nothing: an existing client, unknown attributes, bad values, non-profile groups", async () => {
    const before = clientsXml();
    const cases: Array<[string[], RegExp]> = [
      [["add", "web1"], /Client web1 already exists/],
      [["add", "x1", "colour=red"], /Attribute colour unknown.*profile, uuid, password, floating, secure, address, auth/],
      [["add", "x1", "address=not-an-ip"], /not an IP address/],
      [["add", "x1", "profile=rack"], /not a profile group/],
      [["add", "bad/name"], /client name/],
      [["del", "nobody"], /Client nobody does not exist/],
      [["frob", "x"], /mode must be one of/],
    ];
    for (const [args, why] of cases) {
      const r = await client(conf, args);
      expect(r.status, args.join(" ")).to.not.equal(0);
      expect(r.stderr, args.join(" ")).to.match(why);
    }
    expect(clientsXml()).to.equal(before);
    const help = await run(process.execPath, [vacfg, "client", "--help"], { encoding: "utf8" });
    expect(help.stdout).to.include("bcfg2-admin client").and.include("KEY=VALUE");
  });
});
