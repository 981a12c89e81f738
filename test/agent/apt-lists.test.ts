// Whether a root's package lists are as new as their archives (agent/tools/apt-lists), against the
// lists real apt-get update wrote: a flat file: repository and a signed http archive, unchanged,
// republished, with a source added, and through an archive that answers 304.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { startAptArchive, type AptArchive } from "../../harness/apt-archive.js";
import { staleListsReason, uriToFileName } from "../../agent/tools/apt-lists.js";
import { buildAptRepo, makeBaseRoot, removeDir, tempDir } from "./fixtures.js";

// asynchronous: the http archive answers from this process
const aptUpdate = (root: string) => promisify(execFile)("apt-get", ["-q", "-o", `Dir=${root}`, "-o", `Dir::State::status=${root}/var/lib/dpkg/status`, "update"]);
const check = (root: string) => staleListsReason({ etcApt: join(root, "etc/apt"), listsDir: join(root, "var/lib/apt/lists"), filePath: (p) => p });

describe("agent: are the package lists as new as their archives (no apt-get update)", function () {
  this.timeout(120_000);
  let work: string;
  let archive: AptArchive;
  before(async () => {
    work = tempDir("vacfg-apt-lists-");
    archive = await startAptArchive([{ name: "hello", version: "1.0-1" }]);
  });
  after(async () => {
    await archive?.close();
    if (work) removeDir(work);
  });

  it("names lists files as apt does (scheme and credentials dropped, unsafe characters quoted)", () => {
    expect(uriToFileName("http://user:pw@127.0.0.1:8080/debian/dists/bookworm/InRelease")).to.equal("127.0.0.1:8080_debian_dists_bookworm_InRelease");
    expect(uriToFileName("file:/srv/my_repo/./Packages")).to.equal("_srv_my%5frepo_._Packages");
    expect(uriToFileName("https://deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages")).to.equal("deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages");
  });

  it("a flat file: repository: current after apt-get update, stale once its Packages is rewritten, current again after the next update", async () => {
    const repo = buildAptRepo(join(work, "flat"), [{ name: "foo", version: "1.0-1", files: { "usr/share/doc/foo/x": "x\n" } }]);
    const root = join(work, "flat-root");
    makeBaseRoot(root, repo); // runs apt-get update
    expect(readdirSync(join(root, "var/lib/apt/lists"))).to.include(`${uriToFileName(`file:${repo}/./Packages`)}.lz4`);
    expect(await check(root)).to.equal(undefined);
    const later = new Date(Date.now() + 5000);
    utimesSync(join(repo, "Packages"), later, later);
    expect(await check(root)).to.match(/Packages changed/);
    await aptUpdate(root);
    expect(await check(root)).to.equal(undefined);
  });

  it("a repository inside the root, read by apt chrooted there: a lists symlink to the archive's own file is current; without lists, stale", async () => {
    const root = join(work, "chroot-root");
    makeBaseRoot(root);
    buildAptRepo(join(root, "srv"), [{ name: "bar", version: "1.0-1", files: { "usr/share/doc/bar/x": "x\n" } }]); // root/srv/repo
    writeFileSync(join(root, "etc/apt/sources.list"), "deb [trusted=yes] file:/srv/repo ./\n");
    const inside = (p: string) => join(root, p);
    const chrootCheck = () => staleListsReason({ etcApt: join(root, "etc/apt"), listsDir: join(root, "var/lib/apt/lists"), filePath: inside });
    expect(await chrootCheck()).to.match(/no package list yet/);
    // what apt-get update inside the root leaves for an uncompressed file: index
    symlinkSync("/srv/repo/./Packages", join(root, "var/lib/apt/lists", uriToFileName("file:/srv/repo/./Packages")));
    expect(await chrootCheck()).to.equal(undefined);
    expect(await check(root), "the same path on the host does not exist").to.match(/Packages changed|no Packages/);
  });

  it("a signed http archive: current after apt-get update, stale after a publish and when a source has no lists yet", async () => {
    const root = join(work, "http-root");
    makeBaseRoot(root);
    mkdirSync(join(root, "etc/apt/trusted.gpg.d"), { recursive: true });
    copyFileSync(archive.keyring, join(root, "etc/apt/trusted.gpg.d/test.gpg"));
    writeFileSync(join(root, "etc/apt/sources.list"), `deb ${archive.url}/ bookworm main\n`);
    expect(await check(root)).to.match(/no package list yet/);
    await aptUpdate(root);
    expect(await check(root)).to.equal(undefined);
    archive.publish([{ name: "hello", version: "1.1-1" }]);
    expect(await check(root)).to.match(/InRelease changed/);
    await aptUpdate(root);
    expect(await check(root)).to.equal(undefined);
    writeFileSync(join(root, "etc/apt/sources.list.d/more.list"), `deb ${archive.url}/ bookworm contrib\n`);
    expect(await check(root)).to.match(/contrib|no package list yet/);
  });

  it("an archive answering 304 to If-Modified-Since is unchanged; one that cannot be reached is stale", async () => {
    const root = join(work, "ims-root");
    makeBaseRoot(root);
    const lists = join(root, "var/lib/apt/lists");
    let seen: string | undefined;
    const server = createServer((req, res) => {
      seen = req.headers["if-modified-since"];
      res.writeHead(304).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/debian/`;
    try {
      writeFileSync(join(root, "etc/apt/sources.list"), `deb ${url} bookworm main\n`);
      writeFileSync(join(lists, uriToFileName(`${url}dists/bookworm/InRelease`)), "signed release\n");
      writeFileSync(join(lists, uriToFileName(`${url}dists/bookworm/main/binary-amd64/Packages`)), "");
      expect(await check(root)).to.equal(undefined);
      expect(seen, "If-Modified-Since").to.be.a("string");
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    expect(await check(root)).to.match(/InRelease changed/); // the server is gone: apt-get update decides
    expect(readFileSync(join(lists, uriToFileName(`${url}dists/bookworm/InRelease`)), "utf8")).to.equal("signed release\n");
  });
});
