// The file caches trust a file's signature (inode, size, mtime, ctime) only once the file is older
// than the clock tick its times are stamped from: two same-size edits within one tick get the same
// times (kernels stamp from a coarse clock), so a file read that recently is read again next time.
import { expect } from "chai";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { FileCache, fileSignature } from "../../../server/core/file-cache.js";

describe("server core: file caches and files changed within a clock tick", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-file-cache-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Waits until `path` changed longer ago than any tick the caches allow for (sub-second stamps). */
  async function aged(path: string): Promise<void> {
    expect(statSync(path).ctimeMs % 1000, "this filesystem stamps whole seconds").to.not.equal(0);
    await sleep(50);
  }

  it("reads a file again while its change is within a tick of the read, then trusts its signature", async () => {
    const parses: string[] = [];
    const files = new FileCache((text) => (parses.push(text), text));
    const f = join(dir, "f");
    writeFileSync(f, "one\n");
    expect(files.get(f)).to.equal("one\n");
    // Unchanged signature, but the file was read within a tick of its change: a same-size rewrite in
    // that tick would look the same, so the cache does not vouch for it.
    expect(files.get(f)).to.equal("one\n");
    expect(parses).to.deep.equal(["one\n", "one\n"]);
    await aged(f);
    expect(files.get(f)).to.equal("one\n");
    expect(files.get(f)).to.equal("one\n");
    expect(parses).to.deep.equal(["one\n", "one\n", "one\n"]);
    writeFileSync(f, "two\n");
    expect(files.get(f)).to.equal("two\n");
  });

  it("parses a file again while a file its parse read (an XInclude) changed within a tick of the read", async () => {
    const parses: string[] = [];
    const dep = join(dir, "dep");
    const files = new FileCache((text, _p, deps) => {
      deps.set(dep, fileSignature(dep));
      parses.push(text);
      return text;
    });
    const f = join(dir, "f");
    writeFileSync(f, "main\n");
    await aged(f);
    writeFileSync(dep, "dep\n");
    files.get(f);
    files.get(f);
    expect(parses).to.have.length(2);
    await aged(dep);
    files.get(f);
    files.get(f);
    expect(parses).to.have.length(3);
  });
});
