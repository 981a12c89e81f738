// The POSIX tool on real files in a sandbox root: every Path type, owners from the root's own
// passwd, symlinks that must not escape the root, paranoid backups, diffs and binary files.
import { expect } from "chai";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PosixTool } from "../../agent/tools/posix.js";
import { el, type XmlElement } from "../../protocol/xml.js";
import { makeBaseRoot, removeDir, tempDir } from "./fixtures.js";
import { RecordingRootSync, toolContext } from "./tool-context.js";

const file = (name: string, text: string, attrs: Record<string, string> = {}) => el("Path", { name, type: "file", owner: "root", group: "root", mode: "0644", ...attrs }, [], text);

describe("agent POSIX tool", () => {
  let root: string;
  const tool = new PosixTool();
  beforeEach(() => {
    root = tempDir("vacfg-posix-");
    makeBaseRoot(root);
    // an account only the image has: the host has no uid 2345
    writeFileSync(join(root, "etc/passwd"), readFileSync(join(root, "etc/passwd"), "utf8") + "hpc:x:2345:2346:HPC:/home/hpc:/bin/bash\n");
    writeFileSync(join(root, "etc/group"), readFileSync(join(root, "etc/group"), "utf8") + "hpc:x:2346:\n");
  });
  afterEach(() => removeDir(root));

  const apply = async (e: XmlElement, over = {}) => {
    const ctx = toolContext(root, over);
    const before = await tool.verify(e, ctx);
    const after = (await tool.install([e], ctx)).get(e);
    return { before, after, ctx };
  };

  it("resolves owner and group through the root's passwd and group, and creates ~/.ssh 0700 for its owner", async () => {
    const e = file("/home/hpc/.ssh/authorized_keys", "ssh-ed25519 AAAA key\n", { owner: "hpc", group: "hpc", mode: "0600" });
    const r = await apply(e);
    expect(r).to.include({ before: false, after: true });
    const st = statSync(join(root, "home/hpc/.ssh/authorized_keys"));
    expect([st.uid, st.gid, st.mode & 0o7777]).to.deep.equal([2345, 2346, 0o600]);
    const dir = statSync(join(root, "home/hpc/.ssh"));
    expect([dir.uid, dir.mode & 0o7777]).to.deep.equal([2345, 0o700]);
    expect(statSync(join(root, "home/hpc")).mode & 0o7777).to.equal(0o755);
  });

  it("reports an owner the root does not know instead of guessing", async () => {
    const ctx = toolContext(root);
    const e = file("/etc/x", "x\n", { owner: "nosuchuser" });
    expect(await tool.verify(e, ctx)).to.equal(false);
    expect(ctx.lines.join("\n")).to.contain('owner "nosuchuser" is not in');
  });

  it("never follows an absolute symlink inside the root out to the host", async () => {
    mkdirSync(join(root, "etc/torque"), { recursive: true });
    symlinkSync("/etc/torque", join(root, "etc/cluster"));
    const e = file("/etc/cluster/escape-test.conf", "inside\n");
    expect((await apply(e)).after).to.equal(true);
    expect(readFileSync(join(root, "etc/torque/escape-test.conf"), "utf8")).to.equal("inside\n");
    expect(existsSync("/etc/torque/escape-test.conf")).to.equal(false);
  });

  it("handles directory, symlink, hardlink, permissions, device and fifo entries", async () => {
    expect((await apply(el("Path", { name: "/srv/d", type: "directory", owner: "hpc", group: "root", mode: "2750" }))).after).to.equal(true);
    expect(statSync(join(root, "srv/d")).mode & 0o7777).to.equal(0o2750);
    expect((await apply(el("Path", { name: "/srv/link", type: "symlink", to: "/srv/d" }))).after).to.equal(true);
    expect(readlinkSync(join(root, "srv/link"))).to.equal("/srv/d");
    await apply(file("/srv/a", "A\n"));
    expect((await apply(el("Path", { name: "/srv/b", type: "hardlink", to: "/srv/a", owner: "root", group: "root", mode: "0644" }))).after).to.equal(true);
    expect(statSync(join(root, "srv/b")).ino).to.equal(statSync(join(root, "srv/a")).ino);
    expect((await apply(el("Path", { name: "/srv/a", type: "permissions", owner: "hpc", group: "hpc", mode: "0400" }))).after).to.equal(true);
    expect(statSync(join(root, "srv/a")).mode & 0o7777).to.equal(0o400);
    const missing = await apply(el("Path", { name: "/srv/none", type: "permissions", owner: "root", group: "root", mode: "0644" }));
    expect(missing.after).to.equal(false);
    expect((await apply(el("Path", { name: "/srv/null", type: "device", dev_type: "char", major: "1", minor: "3", owner: "root", group: "root", mode: "0666" }))).after).to.equal(true);
    const dev = lstatSync(join(root, "srv/null"));
    expect([dev.isCharacterDevice(), Math.floor(dev.rdev / 256), dev.rdev % 256]).to.deep.equal([true, 1, 3]);
    expect((await apply(el("Path", { name: "/srv/fifo", type: "device", dev_type: "fifo", owner: "root", group: "root", mode: "0600" }))).after).to.equal(true);
    expect(lstatSync(join(root, "srv/fifo")).isFIFO()).to.equal(true);
  });

  it("removes nonexistent paths, a non-empty directory only with recursive=true", async () => {
    mkdirSync(join(root, "srv/old/sub"), { recursive: true });
    writeFileSync(join(root, "srv/old/sub/f"), "x");
    expect((await apply(el("Path", { name: "/srv/old", type: "nonexistent" }))).after).to.equal(false);
    expect(existsSync(join(root, "srv/old/sub/f"))).to.equal(true);
    expect((await apply(el("Path", { name: "/srv/old", type: "nonexistent", recursive: "true" }))).after).to.equal(true);
    expect(existsSync(join(root, "srv/old"))).to.equal(false);
  });

  it("reports a text diff, a binary file as current_bfile, and nothing for sensitive files", async () => {
    const ctx = toolContext(root);
    writeFileSync(join(root, "etc/motd"), "old\n");
    const e = file("/etc/motd", "new\n");
    expect(await tool.verify(e, ctx)).to.equal(false);
    expect(Buffer.from(e.attrs.current_bdiff!, "base64").toString()).to.equal("--- /etc/motd (on disk)\n\n+++ /etc/motd (from bcfg2)\n\n@@ -1,2 +1,2 @@\n\n-old\n+new\n ");
    writeFileSync(join(root, "etc/logo.bin"), Buffer.from([0xff, 0xfe, 0x00]));
    const b = el("Path", { name: "/etc/logo.bin", type: "file", owner: "root", group: "root", mode: "0644", encoding: "base64" }, [], Buffer.from("PNG").toString("base64"));
    expect(await tool.verify(b, ctx)).to.equal(false);
    expect(b.attrs.current_bfile).to.equal(Buffer.from([0xff, 0xfe, 0x00]).toString("base64"));
    const s = file("/etc/motd", "secret\n", { sensitive: "true" });
    expect(await tool.verify(s, ctx)).to.equal(false);
    expect(s.attrs.current_bdiff).to.equal(undefined);
  });

  it("with -P backs up a replaced paranoid file under the root, keeping max_copies", async () => {
    writeFileSync(join(root, "etc/motd"), "first\n");
    await apply(file("/etc/motd", "second\n", { paranoid: "true" }), { paranoid: true });
    await apply(file("/etc/motd", "third\n", { paranoid: "true" }), { paranoid: true, paranoidCopies: 2 });
    await apply(file("/etc/motd", "fourth\n", { paranoid: "false" }), { paranoid: true });
    const dir = join(root, "var/cache/vacfg/paranoid");
    const backups = readdirSync(dir).sort();
    expect(backups).to.have.length(2);
    expect(backups.map((b) => readFileSync(join(dir, b), "utf8"))).to.deep.equal(["first\n", "second\n"]);
    expect(readFileSync(join(root, "etc/motd"), "utf8")).to.equal("fourth\n");
  });

  it("keeps every paranoid backup made within one millisecond: none replaces another", async () => {
    writeFileSync(join(root, "etc/issue"), "v0\n");
    const ctx = toolContext(root, { paranoid: true, paranoidCopies: 20 });
    // Five installs back to back, the clock held: the stamps are the same microsecond unless moved on.
    const now = performance.now;
    const frozen = now.call(performance);
    performance.now = () => frozen;
    try {
      for (let i = 1; i <= 5; i++) await tool.install([file("/etc/issue", `v${i}\n`, { paranoid: "true" })], ctx);
    } finally {
      performance.now = now;
    }
    const dir = join(root, "var/cache/vacfg/paranoid");
    const backups = readdirSync(dir).filter((b) => b.startsWith("_etc_issue_")).sort();
    expect(backups.map((b) => readFileSync(join(dir, b), "utf8"))).to.deep.equal(["v0\n", "v1\n", "v2\n", "v3\n", "v4\n"]);
  });

  it("fsyncs what it changed in the background, not in line: every changed file, directory and parent, waited for by the run", async () => {
    const rootSync = new RecordingRootSync(root);
    const ctx = toolContext(root, { rootSync });
    const entries = [
      file("/etc/vacfg-new/motd", "hello\n"),
      el("Path", { name: "/etc/vacfg-link", type: "symlink", to: "/etc/vacfg-new/motd" }),
      el("Path", { name: "/etc/passwd", type: "permissions", owner: "root", group: "root", mode: "0600" }),
    ];
    expect([...(await tool.install(entries, ctx)).values()]).to.deep.equal([true, true, true]);
    expect(rootSync.seen).to.deep.equal(["/etc/vacfg-new directory", "/etc/vacfg-new/motd file", "/etc/vacfg-link entry", "/etc/passwd file"]);
    expect(await rootSync.flush()).to.deep.equal([]);
    // already right: verified, nothing installed, nothing to sync; a path gone since is no error
    const again = new RecordingRootSync(root);
    expect(await tool.verify(file("/etc/vacfg-new/motd", "hello\n"), toolContext(root, { rootSync: again }))).to.equal(true);
    expect(again.seen).to.deep.equal([]);
    again.changed(join(root, "etc/vacfg-gone"), "file");
    expect(await again.flush()).to.deep.equal([]);
  });

  it("writes atomically: the target is replaced by rename, never truncated in place", async () => {
    writeFileSync(join(root, "etc/motd"), "old\n");
    const ino = statSync(join(root, "etc/motd")).ino;
    await apply(file("/etc/motd", "new\n"));
    expect(statSync(join(root, "etc/motd")).ino).to.not.equal(ino);
    expect(readdirSync(join(root, "etc")).filter((n) => n.includes("vacfg-tmp"))).to.deep.equal([]);
  });
});
