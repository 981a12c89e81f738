// Client paths under a target root (agent/root.ts inRoot), resolved as a chroot would: on a real
// tree of directories and symbolic links made for each case.
import { expect } from "chai";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inRoot } from "../../agent/root.js";
import { removeDir, tempDir } from "./fixtures.js";

describe("agent paths under a root (inRoot)", () => {
  let root: string;
  beforeEach(() => {
    root = tempDir("vacfg-inroot-");
    for (const d of ["usr/lib/systemd/system", "etc/torque", "var/spool"]) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, "etc/hosts"), "");
    symlinkSync("usr/lib", join(root, "lib")); // merged /usr, as Debian's
    symlinkSync("/etc/torque", join(root, "etc/cluster")); // absolute: inside the root, never the host's
    symlinkSync("../var/spool", join(root, "etc/spool"));
    symlinkSync("nowhere/../../lib", join(root, "etc/odd")); // through a missing directory
    symlinkSync("/etc/hosts/x", join(root, "etc/notdir"));
    symlinkSync("loop-b", join(root, "loop-a"));
    symlinkSync("loop-a", join(root, "loop-b"));
  });
  afterEach(() => removeDir(root));

  it("follows every link but the last inside the root, relative and absolute", () => {
    expect(inRoot(root, "/lib/systemd/system/pbs.service")).to.equal(join(root, "usr/lib/systemd/system/pbs.service"));
    expect(inRoot(root, "/etc/cluster/server_name")).to.equal(join(root, "etc/torque/server_name"));
    expect(inRoot(root, "/etc/spool/torque")).to.equal(join(root, "var/spool/torque"));
    expect(inRoot(root, "/lib")).to.equal(join(root, "lib")); // the last component is the link itself
    expect(inRoot(root, "/etc/../lib/./systemd")).to.equal(join(root, "usr/lib/systemd"));
  });

  it("takes a path literally below a component that does not exist, or is not a directory", () => {
    expect(inRoot(root, "/opt/missing/lib/x")).to.equal(join(root, "opt/missing/lib/x"));
    expect(inRoot(root, "/etc/hosts/lib/x")).to.equal(join(root, "etc/hosts/lib/x"));
    expect(inRoot(root, "/etc/notdir/lib/y")).to.equal(join(root, "etc/hosts/x/lib/y"));
    // a link's own ".." climbs back out of the missing directory, and links below it resolve again
    expect(inRoot(root, "/etc/odd/z")).to.equal(join(root, "usr/lib/z"));
  });

  it("stays in the root above its top and says when links loop", () => {
    expect(inRoot(root, "/../../etc/hosts")).to.equal(join(root, "etc/hosts"));
    expect(inRoot(`${root}/`, "/")).to.equal(`${root}/`);
    expect(inRoot(root, "/")).to.equal(root);
    expect(() => inRoot(root, "/loop-a/x")).to.throw(/too many levels of symbolic links/);
    expect(inRoot("/", "/etc/../lib")).to.equal("/lib");
  });
});
