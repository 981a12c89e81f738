// dpkg version ordering: our comparison against `dpkg --compare-versions` on every pair of a
// set chosen to hit epochs, revisions, '~', letters vs symbols, leading zeros and empty parts.
import { spawnSync } from "node:child_process";
import { expect } from "chai";
import { compareDebianVersions, parseDebianVersion } from "../../../hypervisor/attest/debian-version.js";

const VERSIONS = [
  "0", "0.0", "00", "1", "1.0", "1.0-0", "1.0-1", "1.0-1.1", "1.0-2", "1.0-10", "1.0~rc1", "1.0~rc1-1", "1.0~~", "1.0~~a", "1.0~",
  "1.0+b1", "1.0.1", "1.0a", "1.0A", "1.0-a", "1.0-1~bpo12+1", "1.00", "1.001", "1.0.0", "1:0.9", "1:1.0", "2:0", "10:0.1",
  "2.36-9+deb12u4", "2.36-9+deb12u10", "2.36-9", "2.36-9+b1", "3.0.11-1~deb12u2", "3.0.11-1", "3.0.11-1+deb12u1",
  "9.2p1-2+deb12u2", "9.2p1-2", "12", "12.5", "12.10", "12.9", "1.2.3.4", "1.2-3-4", "1.2:3", "1:1.2:3-4", "a1.0" ,
  "1.0+dfsg-1", "1.0.dfsg-1", "1.0-1+", "1.0-1.", "1.0-1~", "0.0.0~0", "1.0ubuntu1", "1.0-0ubuntu1",
  // dpkg only warns about these and still compares them; a package database may hold them
  "1.0_1", "abc", "1.0-1_2", "1.0_2",
  // dpkg refuses these outright (exit 2); dropped below by asking dpkg itself
  "a:1.0", "1.0-",
].filter((v) => spawnSync("dpkg", ["--compare-versions", v, "eq", v]).status !== 2);

function dpkgCompare(a: string, b: string): number {
  const run = (op: string) => spawnSync("dpkg", ["--compare-versions", a, op, b]).status;
  if (run("lt") === 0) return -1;
  if (run("eq") === 0) return 0;
  return 1;
}

describe("attest: Debian version comparison", () => {
  it("orders every pair exactly as dpkg --compare-versions does", function () {
    this.timeout(120_000);
    expect(VERSIONS.length).to.be.greaterThan(45);
    const wrong: string[] = [];
    let pairs = 0;
    for (let i = 0; i < VERSIONS.length; i++) {
      for (let j = i; j < VERSIONS.length; j++) {
        const a = VERSIONS[i];
        const b = VERSIONS[j];
        // both directions through our code, one dpkg call set per unordered pair
        const want = dpkgCompare(a, b);
        pairs++;
        if (compareDebianVersions(a, b) !== want || compareDebianVersions(b, a) !== -want) wrong.push(`${a} vs ${b}: dpkg ${want}, ours ${compareDebianVersions(a, b)}`);
      }
    }
    expect(pairs).to.be.greaterThan(1000);
    expect(wrong).to.deep.equal([]);
  });

  it("agrees on the classic cases", () => {
    expect(compareDebianVersions("1.0~rc1", "1.0")).to.equal(-1);
    expect(compareDebianVersions("1.0", "1.0+b1")).to.equal(-1);
    expect(compareDebianVersions("1:0.1", "2.0")).to.equal(1);
    expect(compareDebianVersions("1.0a", "1.0+")).to.equal(-1);
    expect(compareDebianVersions("1.01", "1.1")).to.equal(0);
    expect(compareDebianVersions("12.10", "12.9")).to.equal(1);
  });

  it("refuses malformed versions with dpkg's reason (and, stricter, what dpkg only warns about)", () => {
    expect(parseDebianVersion("")).to.equal("version string is empty");
    expect(parseDebianVersion("a:1.0")).to.equal("epoch in version is empty");
    expect(parseDebianVersion("1a:1.0")).to.equal("epoch in version is not number");
    expect(parseDebianVersion("1:")).to.equal("nothing after colon in version number");
    expect(parseDebianVersion("1.0-")).to.equal("revision number is empty");
    expect(parseDebianVersion("abc")).to.equal("version number does not start with digit");
    expect(parseDebianVersion("1.0_1")).to.equal("invalid character in version number");
    expect(parseDebianVersion("1.0-1_2")).to.equal("invalid character in revision number");
    for (const bad of ["a:1.0", "1:", "1.0-", "1 0"]) {
      const r = spawnSync("dpkg", ["--compare-versions", bad, "lt", "1"], { encoding: "utf8" });
      expect(r.status, bad).to.equal(2);
      expect(r.stderr, bad).to.contain(parseDebianVersion(bad) as string);
    }
    // What we refuse and the installed dpkg only warns about (dpkg >= 1.17 exits 0/1 with a
    // warning; older dpkg refused with exit 2): whichever it does, it names the same reason.
    for (const lax of ["1.0_1", "abc", "1.0-1_2"]) {
      const r = spawnSync("dpkg", ["--compare-versions", lax, "lt", "1"], { encoding: "utf8" });
      expect(r.status, lax).to.be.oneOf([0, 1, 2]);
      expect(r.stderr, lax).to.match(r.status === 2 ? /error/ : /warning/);
      expect(r.stderr, lax).to.contain(parseDebianVersion(lax) as string);
    }
    expect(parseDebianVersion("1:2.3-4")).to.deep.equal({ epoch: 1, upstream: "2.3", revision: "4" });
  });
});
