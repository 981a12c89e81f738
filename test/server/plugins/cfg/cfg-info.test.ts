// File metadata on Cfg entries: upstream's defaults and attribute order, info.xml with
// Group/Client/Path conditionals and negate, legacy :info, binary and empty files.
import { expect } from "chai";
import { CfgPlugin } from "../../../../server/plugins/cfg/index.js";
import { DEFAULT_PATH_METADATA, withDefaultPathMetadata } from "../../../../server/plugins/cfg/file-info.js";
import { el, serializeXml } from "../../../../protocol/xml.js";
import { bindPath, clientMeta, pluginContext, tempRepo, xml, type TempRepo } from "./plugin-fixture.js";

describe("Cfg file metadata and encodings", () => {
  let repo: TempRepo;
  let cfg: CfgPlugin;
  before(() => {
    repo = tempRepo();
    repo.write("Cfg/etc/plain/plain", "hello\n");
    repo.write("Cfg/etc/motd/motd", "motd\n");
    repo.write(
      "Cfg/etc/motd/info.xml",
      `<FileInfo>
  <Group name="head"><Info owner="root" group="root" mode="0644" important="true"/></Group>
  <Group name="head" negate="true">
    <Client name="node9"><Info owner="node9" group="adm" mode="0600"/></Client>
    <Info owner="root" group="root" mode="0644"/>
  </Group>
</FileInfo>`,
    );
    repo.write("Cfg/etc/paths/paths", "p\n");
    repo.write(
      "Cfg/etc/paths/info.xml",
      `<FileInfo><Path name="/etc/other"><Info mode="0000"/></Path><Path name="/etc/paths"><Info owner="www" mode="0640" paranoid="false"/></Path></FileInfo>`,
    );
    repo.write("Cfg/etc/legacy/legacy", "l\n");
    repo.write("Cfg/etc/legacy/:info", "owner: daemon\ngroup: daemon\nperms: 0755\n");
    repo.write("Cfg/etc/empty.conf/empty.conf", "");
    repo.write("Cfg/etc/logo.bin/logo.bin", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00, 0x0a]));
    repo.write("Cfg/etc/logo2.bin/logo2.bin", Buffer.from([0x89, 0x50, 0xff]));
    repo.write("Cfg/etc/logo2.bin/info.xml", `<FileInfo><Info owner="root" group="root" mode="0644" encoding="base64"/></FileInfo>`);
    repo.write("Cfg/etc/b64text/b64text", "text as base64\n");
    repo.write("Cfg/etc/b64text/info.xml", `<FileInfo><Info encoding="base64"/></FileInfo>`);
    repo.write("Cfg/etc/utf8/utf8", "caf\u00e9 \uFFFD ok\n");
    cfg = new CfgPlugin(pluginContext(repo.root));
  });
  after(() => repo.cleanup());

  it("emits upstream's attribute set and order with mode 644 when there is no info.xml", async () => {
    expect(xml(await bindPath(cfg, "/etc/plain", clientMeta("n")))).to.equal(
      '<Path name="/etc/plain" owner="root" group="root" mode="644" secontext="__default__" important="false" paranoid="true" sensitive="false" type="file">hello\n</Path>',
    );
  });

  it("gives an entry with more than its name the same defaults in the same order (the one-literal path and the general one agree)", async () => {
    expect(Object.entries(withDefaultPathMetadata("/x"))).to.deep.equal([["name", "/x"], ...DEFAULT_PATH_METADATA]);
    const entry = el("Path", { name: "/etc/plain", important: "true" });
    await cfg.bindEntry(entry, clientMeta("n"));
    expect(serializeXml(entry)).to.equal(
      '<Path name="/etc/plain" important="false" owner="root" group="root" mode="644" secontext="__default__" paranoid="true" sensitive="false" type="file">hello\n</Path>',
    );
  });

  it("applies the info.xml block whose Group/Client conditionals hold, negate included", async () => {
    expect(xml(await bindPath(cfg, "/etc/motd", clientMeta("node0", { groups: ["head"] })))).to.equal(
      '<Path name="/etc/motd" owner="root" group="root" mode="0644" secontext="__default__" important="true" paranoid="true" sensitive="false" type="file">motd\n</Path>',
    );
    expect(xml(await bindPath(cfg, "/etc/motd", clientMeta("node4", { groups: ["compute"] })))).to.equal(
      '<Path name="/etc/motd" owner="root" group="root" mode="0644" secontext="__default__" important="false" paranoid="true" sensitive="false" type="file">motd\n</Path>',
    );
    const n9 = await bindPath(cfg, "/etc/motd", clientMeta("node9", { groups: ["compute"] }));
    expect([n9.attrs.owner, n9.attrs.group, n9.attrs.mode]).to.deep.equal(["node9", "adm", "0600"]);
  });

  it("selects <Path name> blocks by entry name", async () => {
    const e = await bindPath(cfg, "/etc/paths", clientMeta("n"));
    expect(xml(e)).to.equal(
      '<Path name="/etc/paths" owner="www" group="root" mode="0640" secontext="__default__" important="false" paranoid="false" sensitive="false" type="file">p\n</Path>',
    );
  });

  it("reads legacy :info files", async () => {
    const e = await bindPath(cfg, "/etc/legacy", clientMeta("n"));
    expect([e.attrs.owner, e.attrs.group, e.attrs.mode]).to.deep.equal(["daemon", "daemon", "0755"]);
  });

  it("serves an empty file with no text and empty=\"true\" after type", async () => {
    expect(xml(await bindPath(cfg, "/etc/empty.conf", clientMeta("n")))).to.equal(
      '<Path name="/etc/empty.conf" owner="root" group="root" mode="644" secontext="__default__" important="false" paranoid="true" sensitive="false" type="file" empty="true"/>',
    );
  });

  it("serves a file that is not UTF-8 as base64 with encoding before type", async () => {
    expect(xml(await bindPath(cfg, "/etc/logo.bin", clientMeta("n")))).to.equal(
      '<Path name="/etc/logo.bin" owner="root" group="root" mode="644" secontext="__default__" important="false" paranoid="true" sensitive="false" encoding="base64" type="file">iVBOR//+AAo=</Path>',
    );
    expect(xml(await bindPath(cfg, "/etc/logo2.bin", clientMeta("n")))).to.equal(
      '<Path name="/etc/logo2.bin" owner="root" group="root" mode="0644" secontext="__default__" important="false" paranoid="true" sensitive="false" encoding="base64" type="file">iVD/</Path>',
    );
  });

  it("base64-encodes a text file when info.xml asks for it, and keeps valid UTF-8 (even U+FFFD) as text", async () => {
    expect((await bindPath(cfg, "/etc/b64text", clientMeta("n"))).text).to.equal(Buffer.from("text as base64\n").toString("base64"));
    const u = await bindPath(cfg, "/etc/utf8", clientMeta("n"));
    expect(u.attrs.encoding).to.equal(undefined);
    expect(u.text).to.equal("caf\u00e9 \uFFFD ok\n");
  });

  it("fails the entry when info.xml has no Info for the client", async () => {
    repo.write("Cfg/etc/noinfo/noinfo", "x\n");
    repo.write("Cfg/etc/noinfo/info.xml", `<FileInfo><Group name="nope"><Info mode="0600"/></Group></FileInfo>`);
    const e = await bindPath(cfg, "/etc/noinfo", clientMeta("n"));
    expect(e.attrs.failure).to.match(/^bind error: Failed to set metadata for file \/etc\/noinfo/);
  });

  it("fails the entry with file:line when info.xml is malformed", async () => {
    repo.write("Cfg/etc/badinfo/badinfo", "x\n");
    repo.write("Cfg/etc/badinfo/info.xml", `<FileInfo>\n<Info mode="0600">\n</FileInfo>`);
    const e = await bindPath(cfg, "/etc/badinfo", clientMeta("n"));
    expect(e.attrs.failure).to.match(/^bind error: .*\/Cfg\/etc\/badinfo\/info\.xml:\d+: /);
  });
});
