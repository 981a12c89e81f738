// `vacfg image patch` through the built CLI: a parameter file and --file uploads into bare ext4
// and qcow2 images without root, progress on stderr, and clear refusals that leave the image as it was.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CONTEXT_FILE_PATH } from "../../../protocol/params.js";
import { FIGURE1, FIGURE1_AS_PRINTED } from "../../support/figure1.js";
import { projectRoot } from "../../support/paths.js";
import { debugfsRaw, e2fsckClean, guestStat, mkExt4, sh, sha256 } from "./helpers.js";

const CLI = resolve(projectRoot, "dist/cli/vacfg.js");

function patch(args: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, "image", "patch", ...args], { encoding: "utf8" });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe("image: vacfg image patch", function () {
  this.timeout(120_000);
  let dir: string;
  let params: string;
  let motd: string;
  let key: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-image-patch-"));
    params = join(dir, "node1.xml");
    writeFileSync(params, FIGURE1, { mode: 0o600 });
    motd = join(dir, "motd");
    writeFileSync(motd, "welcome to the imagecli appliance\n");
    key = join(dir, "id.pub");
    writeFileSync(key, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIImagecliKeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxx admin\n");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("uploads the parameter file and two files into a bare ext4 image (bytes, modes, root owner)", () => {
    const img = join(dir, "root.ext4");
    mkExt4(img, 16);
    const r = patch([img, params, "--file", `${motd}:/etc/motd:0644`, "-f", `${key}:/root/.ssh/authorized_keys:600`]);
    expect(r.status, r.err).to.equal(0);
    expect(r.out).to.contain(`${CONTEXT_FILE_PATH}\t0600\t${Buffer.byteLength(FIGURE1)} bytes`).and.contain(`patched ${img} (ext)`);
    expect(r.err).to.contain("image patch: writing 3 file(s) with debugfs");
    expect(debugfsRaw(img, `cat ${CONTEXT_FILE_PATH}`).toString()).to.equal(FIGURE1);
    expect(guestStat(img, CONTEXT_FILE_PATH)).to.deep.equal({ type: "regular", mode: "0600", uid: 0, gid: 0 });
    expect(debugfsRaw(img, "cat /etc/motd").toString()).to.equal("welcome to the imagecli appliance\n");
    expect(guestStat(img, "/etc/motd")).to.deep.equal({ type: "regular", mode: "0644", uid: 0, gid: 0 });
    expect(guestStat(img, "/root/.ssh/authorized_keys")?.mode).to.equal("0600");
    e2fsckClean(img);
    // a world-readable parameter file (no secrets) goes in 0644
    chmodSync(params, 0o644);
    expect(patch([img, params, "-q"]).err).to.equal("");
    expect(guestStat(img, CONTEXT_FILE_PATH)?.mode).to.equal("0644");
  });

  it("patches a qcow2 image in place through a raw view, with progress lines", () => {
    const raw = join(dir, "root.ext4");
    mkExt4(raw, 32);
    const img = join(dir, "root.qcow2");
    sh("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, img]);
    const r = patch([img, "--file", `${motd}:/etc/motd:0444`]);
    expect(r.status, r.err).to.equal(0);
    expect(r.err).to.contain("qcow2: converting to a raw view").and.match(/qcow2: writing \d+ changed range/);
    const check = join(dir, "check.raw");
    sh("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", img, check]);
    expect(debugfsRaw(check, "cat /etc/motd").toString()).to.equal("welcome to the imagecli appliance\n");
    expect(guestStat(check, "/etc/motd")?.mode).to.equal("0444");
  });

  it("refuses bad input naming it, and leaves the image byte-identical", () => {
    const img = join(dir, "root.ext4");
    mkExt4(img, 16);
    const before = sha256(img);
    const cases: [string[], string][] = [
      [[join(dir, "missing.img"), params], `${join(dir, "missing.img")}: no such image`],
      [[img, "-f", `${motd}:etc/motd:0644`], `DEST "etc/motd" is not an absolute path in the image`],
      [[img, "-f", `${motd}:/etc/motd:0999`], `MODE "0999" is not octal permission bits`],
      [[img, "-f", `${motd}:/etc/motd`], "expected SRC:DEST:MODE"],
      [[img, "-f", `${motd}:/etc/../shadow:0644`], `DEST "/etc/../shadow" must be a file path without ".."`],
      [[img, "-f", `${join(dir, "nope")}:/etc/motd:0644`], `--file source ${join(dir, "nope")}: no such file`],
      [[img, "-f", `${motd}:/etc/motd:0644`, "-f", `${key}:/etc/motd:0644`], "/etc/motd is uploaded twice"],
      [[img], "nothing to upload"],
    ];
    const printed = join(dir, "printed.xml");
    writeFileSync(printed, FIGURE1_AS_PRINTED);
    cases.push([[img, printed], `${printed}:18:`]);
    const notExt = join(dir, "zeros.img");
    writeFileSync(notExt, Buffer.alloc(1 << 20));
    cases.push([[notExt, params], "neither an ext filesystem nor a partitioned disk"]);
    for (const [args, msg] of cases) {
      const r = patch(args);
      expect(r.status, `${args.join(" ")}: ${r.err}`).to.equal(1);
      expect(r.err, args.join(" ")).to.contain(msg);
    }
    expect(sha256(img)).to.equal(before);
    expect(readdirSync(dir).sort()).to.deep.equal(["id.pub", "motd", "node1.xml", "printed.xml", "root.ext4", "zeros.img"]);
  });
});
