// The vacfg-agent bundle as the package runs it (node with AGENT_NODE_OPTIONS vacfg-agent.cjs): the agent in
// local mode (its module, the shared module and the --local server core, one instance each), its V8
// code cache written after a run that went to its end and used by the next, and a bundle changed
// since its cache was made running its new code.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addShell, makeBaseRoot } from "../../agent/image-root.js";
import { AGENT_NODE_OPTIONS, asciiOnly, bundleAgent } from "../../packaging/agent-bundle.js";
import { AGENT_CODE_CACHE_ENV, AGENT_ENTRY, AGENT_MODULE } from "../../packaging/agent-layout.js";
import { exampleRepo, projectRoot } from "../support/paths.js";

describe("packaging: the agent bundle and its code cache", function () {
  this.timeout(120_000);
  let work: string;
  let bundle: string;
  let files: string[];
  let repo: string;
  let cache: string;
  const motd = readFileSync(join(exampleRepo, "Cfg/etc/motd/motd.H_node1"), "utf8");

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "vacfg-agent-bundle-"));
    bundle = join(work, "bundle");
    files = await bundleAgent(projectRoot, bundle);
    repo = join(work, "repo");
    cpSync(exampleRepo, repo, { recursive: true });
    cache = join(work, "cache");
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  /** The bundle run as /usr/sbin/vacfg-agent runs it, with the cache directory `cache`. */
  const agent = (args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, [AGENT_CODE_CACHE_ENV]: cache };
    delete env.NODE_EXTRA_CA_CERTS;
    return spawnSync(process.execPath, [...AGENT_NODE_OPTIONS, join(bundle, AGENT_ENTRY), ...args], { env, encoding: "utf8" });
  };
  /** The files of base for node1, from the repository shipped beside it (no server), into a fresh root. */
  const localRun = (name: string) => {
    const root = join(work, name);
    mkdirSync(root);
    makeBaseRoot(root);
    addShell(root);
    const r = agent(["--local", repo, "-u", "node1", "-p", "torque-worker", "-b", "base", "-C", "/dev/null", "--root", root, "-q"]);
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(readFileSync(join(root, "etc/motd"), "utf8")).to.equal(motd);
  };
  /** Each cache file's inode: a file written again is a new inode (temp + rename). */
  const cacheFiles = () => Object.fromEntries(readdirSync(cache).map((f) => [f, statSync(join(cache, f)).ino]));

  it("is the launcher, the agent module, the shared modules, the --local server core and the kernel command line's decoder, all ASCII", () => {
    expect(files[0]).to.equal(AGENT_ENTRY);
    expect(files).to.include(AGENT_MODULE);
    // loaded when asked for: the server core for --local, the decoder (and zlib) for a root with a command line
    expect(files.filter((f) => /^vacfg-agent-(agent-local|ctx-cmdline)-\w+\.cjs$/.test(f))).to.have.length(2);
    expect(files.filter((f) => /^vacfg-agent-chunk-\w+\.cjs$/.test(f))).to.have.length(2);
    expect(files).to.have.length(6);
    // one character beyond ASCII (the agent's comments have "…") and V8 holds the whole source at two bytes a character
    for (const f of files) expect(readFileSync(join(bundle, f)).every((b) => b < 0x80), f).to.equal(true);
  });

  it("writes characters beyond ASCII as escapes that mean the same in code", () => {
    const code = 'const s = "caf\\u00e9 \\u2026"; const r = /\\u2192/; const t = `\\ud83d\\ude00`;';
    const raw = 'const s = "café …"; const r = /→/; const t = `😀`;';
    const escaped = asciiOnly(raw);
    expect(escaped).to.equal(code);
    const run = (src: string) => new Function(`${src} return [s, r.test("→"), t];`)() as unknown[];
    expect(run(escaped)).to.deep.equal(run(raw));
  });

  it("writes no cache for --help, one after a local-mode run, and the next run uses it (not written again)", () => {
    const help = agent(["--help"]);
    expect(help.status).to.equal(0);
    expect(help.stdout).to.match(/^usage: vacfg agent/);
    expect(() => readdirSync(cache)).to.throw(/ENOENT/);
    localRun("root1");
    const written = cacheFiles();
    // every module the run loaded: all but the command line's decoder (the root has no /proc/cmdline)
    expect(Object.keys(written).sort()).to.deep.equal(files.slice(1).filter((f) => !f.includes("-ctx-cmdline-")).map((f) => `${f}.v8cache`).sort());
    localRun("root2");
    expect(cacheFiles()).to.deep.equal(written);
  });

  it("runs a module changed since its cache was made (same length) from its new source, and writes its cache again", () => {
    const before = cacheFiles();
    const main = join(bundle, AGENT_MODULE);
    const text = readFileSync(main, "utf8");
    expect(text.split("print this help and exit")).to.have.length(2);
    writeFileSync(main, text.replace("print this help and exit", "print this help and EXIT"));
    expect(agent(["--help"]).stdout).to.contain("print this help and EXIT");
    localRun("root3");
    const after = cacheFiles();
    expect(after[`${AGENT_MODULE}.v8cache`]).to.not.equal(before[`${AGENT_MODULE}.v8cache`]);
    for (const f of files.slice(1).filter((f) => f !== AGENT_MODULE)) expect(after[`${f}.v8cache`], f).to.equal(before[`${f}.v8cache`]);
  });
});
