// The appliance build's smaller parts against real inputs: apt source files in both formats,
// module dependencies read from the Debian cloud kernel's .ko files, the newc archive layout.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { VacfgError } from "../../../protocol/errors.js";
import { debianMirrorFor } from "../../../hypervisor/appliance/apt-mirror.js";
import { readAptSources } from "../../../lib/apt-sources.js";
import { bootCmdline } from "../../../hypervisor/appliance/boot-protocol.js";
import { resolveCacheDir } from "../../../hypervisor/appliance/cache.js";
import { writeCpioNewc } from "../../../hypervisor/appliance/cpio.js";
import { ensureUnpackedDeb } from "../../../hypervisor/appliance/deb.js";
import { BUSYBOX_STATIC_PACKAGE } from "../../../hypervisor/appliance/initramfs.js";
import { moduleDepends, resolveModules } from "../../../hypervisor/appliance/kmod.js";
import { tempDir, testBootBits } from "../helpers.js";

describe("hypervisor/appliance: build parts", function () {
  this.timeout(120_000);
  let dir: { path: string; remove: () => Promise<void> };
  before(async () => { dir = await tempDir("vap-"); });
  after(async () => dir.remove());

  it("finds the Debian mirror in one-line and deb822 apt sources, skipping -security and disabled stanzas", async () => {
    const etc = join(dir.path, "apt");
    mkdirSync(join(etc, "sources.list.d"), { recursive: true });
    writeFileSync(join(etc, "sources.list"), "# deb http://old.example/debian bookworm main\ndeb [arch=amd64] http://one.example/debian bullseye main contrib\n");
    writeFileSync(join(etc, "sources.list.d", "debian.sources"), [
      "Types: deb", "URIs: http://sec.example/debian-security", "Suites: bookworm-security", "Components: main", "",
      "Types: deb", "URIs: http://off.example/debian", "Suites: bookworm", "Components: main", "Enabled: no", "",
      "Types: deb-src deb", "URIs: http://deb.example/debian", "Suites: bookworm bookworm-updates", "Components: main", "",
    ].join("\n"));
    expect(await debianMirrorFor("bookworm", etc)).to.equal("http://deb.example/debian");
    expect(await debianMirrorFor("bullseye", etc)).to.equal("http://one.example/debian");
    const err = await debianMirrorFor("trixie", etc).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(VacfgError).and.have.property("code", "IMAGE");
    // This host's own sources name a mirror for the suite the appliance uses.
    expect((await readAptSources()).some((s) => s.suites.includes("bookworm"))).to.equal(true);
  });

  it("orders kernel modules so dependencies load first (from each .ko's .modinfo)", async () => {
    const { kernel } = await testBootBits();
    const mods = (await resolveModules(kernel.modulesDir, ["virtio_net", "virtio_blk"])).map((p) => basename(p, ".ko"));
    for (const [m, dep] of [["virtio_net", "net_failover"], ["net_failover", "failover"], ["virtio_net", "virtio_ring"], ["virtio_blk", "virtio"]]) {
      expect(mods.indexOf(dep), `${dep} before ${m}`).to.be.within(0, mods.indexOf(m) - 1);
    }
    const net = readFileSync((await resolveModules(kernel.modulesDir, ["virtio_net"])).at(-1)!);
    expect(moduleDepends(net)).to.include.members(["net_failover", "virtio", "virtio_ring"]);
    // ext4 is built in: asking for it adds nothing.
    expect(await resolveModules(kernel.modulesDir, ["ext4"])).to.deep.equal([]);
    const missing = await resolveModules(kernel.modulesDir, ["no_such_driver"]).then(() => null, (e: unknown) => e);
    expect(missing).to.be.instanceOf(VacfgError).and.have.property("message").that.matches(/no_such_driver not found/);
  });

  it("writes newc archives that cpio(1)-compatible readers unpack: files, dirs, symlinks, device nodes", async () => {
    const archive = writeCpioNewc([
      { type: "dir", name: "etc" },
      { type: "file", name: "etc/hello", data: Buffer.from("hi\n"), mode: 0o640 },
      { type: "symlink", name: "etc/link", target: "hello" },
      { type: "chardev", name: "console", major: 5, minor: 1 },
    ]);
    expect(archive.length % 4).to.equal(0);
    const file = join(dir.path, "a.cpio");
    writeFileSync(file, archive);
    // busybox cpio (from the unpacked busybox-static the initramfs uses) lists what the kernel would unpack.
    const { initrd } = await testBootBits();
    const busybox = join(await ensureUnpackedDeb(await resolveCacheDir(), BUSYBOX_STATIC_PACKAGE, () => undefined), "bin", "busybox");
    const listing = execFileSync(busybox, ["cpio", "-tv", "-F", file], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    expect(listing).to.match(/drwxr-xr-x.* etc\n/);
    expect(listing).to.match(/-rw-r-----.* 3 .*etc\/hello/);
    expect(listing).to.match(/lrwxrwxrwx.*etc\/link -> hello/);
    expect(listing).to.match(/crw------- .* console/);
    // busybox does not print device numbers: read rdevmajor/rdevminor from the newc header itself.
    const at = archive.indexOf(Buffer.from("console\0"));
    const header = archive.subarray(at - 110, at).toString();
    expect([header.slice(6 + 8 * 9, 6 + 8 * 10), header.slice(6 + 8 * 10, 6 + 8 * 11)]).to.deep.equal(["00000005", "00000001"]);
    // And the real initramfs starts with the newc magic and carries /init.
    const inner = gunzipSync(readFileSync(initrd));
    expect(inner.subarray(0, 6).toString()).to.equal("070701");
    expect(inner.includes(Buffer.from("init\0"))).to.equal(true);
  });

  it("carries the command base64-encoded so kernel argument parsing cannot change it", () => {
    const cmd = `echo "a  b" 'c' ; node -e 'console.log(1)'`;
    const line = bootCmdline({ command: cmd, root: "/dev/vda", switchRoot: true, addresses: ["10.0.0.2/24"] });
    expect(line).to.match(/^console=ttyS0 /);
    expect(line).to.contain("vacfg.root=/dev/vda vacfg.switch=1 vacfg.ip0=10.0.0.2/24");
    const b64 = /vacfg\.cmd=(\S+)/.exec(line)![1];
    expect(Buffer.from(b64, "base64").toString()).to.equal(cmd);
    // A command the kernel would truncate is refused instead.
    expect(() => bootCmdline({ command: "x".repeat(1600) })).to.throw(VacfgError, /x86 limit is 2047/).with.property("code", "CMDLINE_TOO_LONG");
  });
});
