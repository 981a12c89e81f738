// Repository lint against real files in a temp copy of repo/: schema validation with
// libxml2, well-formedness, DOCTYPE refusal, templates, cross-file references.
import { expect } from "chai";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultSchemaDir, lintRepository, loadSchemaDir, runLibxml, runLint, type LintProblem } from "../../../server/lint/index.js";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
const exampleRepo = join(projectRoot, "repo");

describe("repository lint", function () {
  let sandbox: string;
  let repo: string;

  beforeEach(() => {
    sandbox = mkdtempSync(join(tmpdir(), "vacfg-lint-"));
    repo = join(sandbox, "repo");
    cpSync(exampleRepo, repo, { recursive: true });
  });
  afterEach(() => rmSync(sandbox, { recursive: true, force: true }));

  const write = (rel: string, text: string) => writeFileSync(join(repo, rel), text);
  const only = (problems: LintProblem[], file: string) => problems.filter((p) => p.file === file);

  it("finds nothing wrong in the example repository", async () => {
    expect(await lintRepository(exampleRepo)).to.deep.equal([]);
  });

  it("reports a groups.xml that is not well formed at its file and line", async () => {
    write("Metadata/groups.xml", '<Groups>\n  <Group name="base">\n    <Bundle name="base"/>\n</Groups>\n');
    const problems = await lintRepository(repo);
    const mine = only(problems, "Metadata/groups.xml");
    expect(mine).to.have.length(1);
    expect(mine[0].code).to.equal("xml-failed-to-parse");
    expect(mine[0].line).to.equal(4);
    expect(mine[0].message).to.match(/mismatch|closing tag/i);
  });

  it("reports an unquoted attribute and trailing garbage with their lines", async () => {
    write("Rules/ssh.xml", '<Rules priority="10">\n  <Service name=ssh status="on"/>\n</Rules>\n');
    write("Defaults/defaults.xml", '<Defaults priority="1"/>\n\n<Defaults priority="2"/>\n');
    const problems = await lintRepository(repo);
    expect(only(problems, "Rules/ssh.xml").map((p) => [p.line, p.code])).to.deep.equal([[2, "xml-failed-to-parse"]]);
    expect(only(problems, "Defaults/defaults.xml").map((p) => [p.line, p.code])).to.deep.equal([[3, "xml-failed-to-parse"]]);
  });

  it("rejects an unknown attribute and an unknown element in a bundle, with lines", async () => {
    write(
      "Bundler/base.xml",
      '<Bundle>\n  <Path name="/etc/hosts" colour="red"/>\n  <Path name="/etc/motd"/>\n  <Fil name="/etc/resolv.conf"/>\n</Bundle>\n',
    );
    const mine = only(await lintRepository(repo), "Bundler/base.xml");
    expect(mine.map((p) => [p.line, p.code])).to.deep.equal([
      [2, "xml-failed-to-verify"],
      [4, "xml-failed-to-verify"],
    ]);
    expect(mine[0].message).to.contain("colour");
    expect(mine[1].message).to.contain("Fil");
  });

  it("validates Context/groups.xml (vacfg's Context plugin) against context.xsd", async () => {
    write("Context/groups.xml", '<ContextGroups>\n  <Group name="torque-head" param="nodenames" position="middle"/>\n  <Group name="x"/>\n</ContextGroups>\n');
    const mine = only(await lintRepository(repo), "Context/groups.xml");
    expect(mine.map((p) => [p.line, p.code])).to.deep.equal([
      [2, "xml-failed-to-verify"],
      [3, "xml-failed-to-verify"],
    ]);
    expect(mine[0].message).to.contain("middle");
    expect(mine[1].message).to.contain("param");
  });

  it("validates GroupPatterns/config.xml against upstream's grouppatterns.xsd", async () => {
    mkdirSync(join(repo, "GroupPatterns"));
    write("GroupPatterns/config.xml", "<GroupPatterns>\n  <GroupPattern><NamePattern>^n(\\d+)</NamePattern><Group>g$1</Group></GroupPattern>\n  <GroupPattern><Host>x</Host></GroupPattern>\n</GroupPatterns>\n");
    const mine = only(await lintRepository(repo), "GroupPatterns/config.xml");
    expect(mine.map((p) => [p.line, p.code])).to.deep.equal([[3, "xml-failed-to-verify"]]);
    expect(mine[0].message).to.contain("Host");
  });

  it("validates Packages/sources.xml against upstream's packages.xsd", async () => {
    mkdirSync(join(repo, "Packages"));
    write(
      "Packages/sources.xml",
      '<Sources>\n  <Group name="debian">\n    <Source type="apt" url="http://127.0.0.1/debian" version="bookworm"><Component>main</Component><Arch>amd64</Arch></Source>\n  </Group>\n  <Source type="deb" url="http://x/"><Arch>amd64</Arch></Source>\n  <Source type="apt" url="http://x/"><Suite>main</Suite></Source>\n</Sources>\n',
    );
    const mine = only(await lintRepository(repo), "Packages/sources.xml");
    expect(mine.map((p) => [p.line, p.code])).to.deep.equal([
      [5, "xml-failed-to-verify"],
      [6, "xml-failed-to-verify"],
    ]);
    expect(mine[0].message).to.contain("deb");
    expect(mine[1].message).to.contain("Suite");
  });

  it("checks Rules values against upstream's enumerations", async () => {
    write("Rules/ssh.xml", '<Rules priority="10">\n  <Service name="ssh" status="maybe"/>\n  <Package name="x"/>\n</Rules>\n');
    const mine = only(await lintRepository(repo), "Rules/ssh.xml");
    expect(mine.map((p) => p.line)).to.deep.equal([2, 3]);
    expect(mine[0].message).to.contain("maybe");
    expect(mine[1].message).to.contain("type"); // Package type is required in Rules
  });

  it("accepts everything upstream's schemas allow in bundles, rules and info.xml", async () => {
    write(
      "Bundler/kitchen.xml",
      `<Bundle xmlns:py="http://genshi.edgewall.org/" description="all" independent="false" version="1" lax_decryption="true">
  <Path glob="/etc/*.conf" altsrc="/etc/x"/>
  <Package name="p" group="g" verify="true" type="mandatory" recommended="false"/>
  <Service name="s" verify="x"/><Action name="a"/><POSIXUser name="u"/><POSIXGroup name="g"/>
  <SEBoolean name="b"/><SEModule name="m" disabled="true"/>
  <BoundPath name="/b" type="symlink" to="/a"/><BoundPackage name="bp" type="deb" version="1"/>
  <BoundService name="bs" status="ignore" restart="interactive" type="upstart" bootstatus="on"/>
  <BoundAction name="ba" command="true" when="always" timing="both" status="ignore" build="false" shell="false"/>
  <BoundPOSIXUser name="bu" uid="1"><MemberOf group="x">y</MemberOf></BoundPOSIXUser><BoundPOSIXGroup name="bg" gid="3"/>
  <BoundSEPort name="80/tcp" selinuxtype="http_port_t"/>
  <Group name="base" negate="true"><Client name="node1"><RequiredBundle name="ssh" inherit_modification="true"/></Client></Group>
  <py:if test="True"><Path name="/g"/></py:if>
</Bundle>
`,
    );
    write(
      "Rules/kitchen.xml",
      `<Rules priority="1">
  <Path name="/d" type="device" dev_type="char" major="1" minor="3" mode="0666" owner="root" group="root" secontext="__default__" important="true" recursive="false" prune="false"/>
  <Path name="/a" type="augeas" lens="Hosts"><Initial>x</Initial><Set path="p" value="v"/><Remove path="r"/><Insert path="i" label="l" where="after"/></Path>
  <Path name="/v" type="vcs" vcstype="git" revision="main" sourceurl="https://example.org/r.git"><ACL type="access" scope="user" user="u" perms="rw"/></Path>
  <Package name="k" type="yum"><Instance arch="x86_64" epoch="1" version="2" release="3" pkg_verify="false" install_missing="true"/></Package>
  <Service name="s" type="chkconfig" FMRI="f" sequence="1" target="t" parameters="p" install="true"/>
  <POSIXUser name="u" uid="5"><Group name="base"><MemberOf>x</MemberOf></Group></POSIXUser>
  <SEFcontext name="/x" selinuxtype="t" filetype="regular"/><SENode name="10.0.0.0/255.0.0.0" selinuxtype="t" proto="ipv4"/>
  <SELogin name="l" selinuxuser="u"/><SEUser name="u" roles="r" prefix="p"/><SEInterface name="eth0" selinuxtype="t"/><SEPermissive name="p"/>
  <Client name="node1" negate="true"><Action name="x" command="y"/></Client>
</Rules>
`,
    );
    write(
      "Cfg/etc/motd/info.xml",
      `<FileInfo lax_decryption="false">
  <Client name="node1"><Info owner="root" group="adm" mode="0640" encoding="base64" secontext="x" paranoid="false" sensitive="true" important="true"/></Client>
  <Path name="/etc/motd"><Group name="base"><Info/></Group></Path>
  <Group name="torque-head" negate="true"><Info><ACL type="default" scope="group" group="adm" perms="r"/></Info></Group>
</FileInfo>
`,
    );
    // What the schemas accept; the semantic checks (RequiredAttrs, Bundler, …) have their own tests.
    expect(await lintRepository(repo, { config: { checks: new Set(["Validate", "Metadata"]) } })).to.deep.equal([]);
  });

  it("reports a Jinja2 template that does not parse, with its line", async () => {
    write("Cfg/etc/hosts/hosts.jinja2", "127.0.0.1 localhost\n{% for n in nodes %}\n{{ n }\n{% endfor %}\n");
    write("Cfg/etc/resolv.conf/resolv.conf.jinja2", "search x\n{% if a %}\nnameserver 1.1.1.1\n");
    const problems = await lintRepository(repo);
    const hosts = only(problems, "Cfg/etc/hosts/hosts.jinja2");
    expect(hosts.map((p) => [p.line, p.code])).to.deep.equal([[3, "jinja2-syntax-error"]]);
    const resolv = only(problems, "Cfg/etc/resolv.conf/resolv.conf.jinja2");
    expect(resolv.map((p) => p.code)).to.deep.equal(["jinja2-syntax-error"]);
    expect(resolv[0].message).to.match(/endif/);
  });

  it("compiles Cfg Genshi and Cheetah templates with the server's subsets and names the line of what it refuses", async () => {
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(repo, "Cfg/etc/motd"), { recursive: true });
    write("Cfg/etc/motd/motd.genshi", "Welcome to ${metadata.hostname}\n{% if True %}\nok\n{% end %}\n");
    write("Cfg/etc/motd/motd.H_node1.cheetah", "Hello $metadata.hostname\n#include \"/etc/passwd\"\n");
    write("Cfg/etc/motd/motd.H_node2.cheetah", "#for $n in $range(3)\n$n\n#end for\n");
    const problems = await lintRepository(repo);
    expect(only(problems, "Cfg/etc/motd/motd.genshi")).to.deep.equal([]);
    expect(only(problems, "Cfg/etc/motd/motd.H_node2.cheetah")).to.deep.equal([]);
    const bad = only(problems, "Cfg/etc/motd/motd.H_node1.cheetah");
    expect(bad.map((p) => [p.line, p.code])).to.deep.equal([[2, "cheetah-syntax-error"]]);
    expect(bad[0].message).to.match(/include/);
  });

  it("reports an xi:include the server would refuse at the including line: missing file, cycle, a way out", async () => {
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(repo, "Metadata/parts"), { recursive: true });
    const xi = 'xmlns:xi="http://www.w3.org/2001/XInclude"';
    const groups = readFileSync(join(repo, "Metadata/groups.xml"), "utf8");
    write("Metadata/groups.xml", groups.replace(/<\/Groups>\s*$/, `  <xi:include ${xi} href="parts/a.xml"/>\n</Groups>\n`));
    write("Metadata/parts/a.xml", `<Groups ${xi}>\n  <xi:include href="b.xml"/>\n</Groups>\n`);
    write("Metadata/parts/b.xml", `<Groups ${xi}>\n\n  <xi:include href="a.xml"/>\n</Groups>\n`);
    write("Rules/escape.xml", `<Rules ${xi} priority="1">\n  <xi:include href="../../outside.xml"/>\n  <xi:include href="missing.xml"/>\n</Rules>\n`);
    writeFileSync(join(sandbox, "outside.xml"), "<Rules/>\n");
    const problems = (await lintRepository(repo)).filter((p) => p.code === "xinclude-failed");
    const at = (f: string) => only(problems, f).map((p) => p.line);
    expect(at("Metadata/parts/b.xml"), JSON.stringify(problems)).to.deep.equal([3]);
    expect(only(problems, "Metadata/parts/b.xml")[0].message).to.match(/cycle|loop|recurs/i);
    expect(at("Rules/escape.xml")).to.have.length(1);
    expect(only(problems, "Rules/escape.xml")[0].message).to.match(/outside|leav|escape/i);
    expect(only(problems, "Rules/escape.xml")[0].message).to.not.include(sandbox);
  });

  it("refuses a DOCTYPE or entity declaration and never expands it", async () => {
    write(
      "Metadata/clients.xml",
      '<?xml version="1.0"?>\n<!DOCTYPE Clients [\n  <!ENTITY x SYSTEM "file:///etc/passwd">\n]>\n<Clients>&x;</Clients>\n',
    );
    const mine = only(await lintRepository(repo), "Metadata/clients.xml");
    expect(mine).to.have.length(1);
    expect(mine[0].code).to.equal("xml-doctype");
    expect(mine[0].line).to.equal(2);
    expect(mine[0].message).not.to.contain("root:");
  });

  it("reports a bundle Group that groups.xml does not define", async () => {
    write("Bundler/users.xml", '<Bundle>\n  <POSIXGroup name="cluster"/>\n  <Group name="gpu-nodes">\n    <POSIXUser name="torqueadm"/>\n  </Group>\n</Bundle>\n');
    const mine = only(await lintRepository(repo), "Bundler/users.xml");
    expect(mine.map((p) => [p.line, p.code])).to.deep.equal([[3, "undefined-group"]]);
    expect(mine[0].message).to.contain("gpu-nodes");
  });

  it("reports clients with unknown or non-profile groups, and groups.xml bundles without a file", async () => {
    write(
      "Metadata/clients.xml",
      '<Clients>\n  <Client name="node0" profile="torque-head"/>\n  <Client name="node1" profile="torque-wrker"/>\n  <Client name="node2" profile="base"/>\n  <Client name="node0" profile="torque-head"/>\n</Clients>\n',
    );
    const groups = readFileSync(join(repo, "Metadata/groups.xml"), "utf8").replace('<Bundle name="users"/>', '<Bundle name="users"/><Bundle name="nope"/>');
    write("Metadata/groups.xml", groups);
    const problems = await lintRepository(repo);
    expect(only(problems, "Metadata/clients.xml").map((p) => [p.line, p.code])).to.deep.equal([
      [3, "nonexistent-profile-group"],
      [4, "non-profile-set-as-profile"],
      [5, "duplicate-client"],
    ]);
    expect(only(problems, "Metadata/groups.xml").map((p) => p.code)).to.deep.equal(["bundle-not-found"]);
  });

  it("reports clients.xml names, aliases, uuids and addresses the server would ignore, at their lines", async () => {
    write(
      "Metadata/clients.xml",
      '<Clients>\n  <Client name="node0" profile="torque-head"/>\n  <Client name="x/../y" profile="torque-head"/>\n  <Client name="node1" profile="torque-head" uuid="a b">\n    <Alias name="*"/>\n  </Client>\n  <Client name="node2" profile="torque-head" address="node2.example"/>\n  <Client name="" profile="torque-head"/>\n</Clients>\n',
    );
    const mine = only(await lintRepository(repo), "Metadata/clients.xml").filter((p) => p.code === "invalid-client-name");
    expect(mine.map((p) => [p.line, p.message])).to.deep.equal([
      [3, `name "x/../y" may hold only letters, digits, '.', '-' and '_', and must start with a letter, digit or '_'; the server ignores this client`],
      [4, `uuid "a b" may hold only letters, digits, '.', '-' and '_', and must start with a letter, digit or '_'; the server ignores this client`],
      [5, `name "*" (an alias) may hold only letters, digits, '.', '-' and '_', and must start with a letter, digit or '_'; the server ignores this client`],
      [7, `address "node2.example" is not an IP address; the server ignores this client`],
      [8, `name "" is empty; the server ignores this client`],
    ]);
  });

  it("checks Cfg and Probes specificity suffixes and probe names", async () => {
    write("Cfg/etc/motd/motd.G60_nosuchgroup", "x\n");
    write("Probes/bad name", "#!/bin/sh\necho x\n");
    write("Probes/vacfg-context.G50_base", "#!/bin/sh\necho '{}'\n");
    const problems = await lintRepository(repo);
    expect(problems.map((p) => [p.file, p.code])).to.deep.equal([
      ["Cfg/etc/motd/motd.G60_nosuchgroup", "undefined-group"],
      ["Probes/bad name", "invalid-probe-name"],
    ]);
  });

  it("validates Properties against a sibling .xsd when there is one, as upstream does", async () => {
    write(
      "Properties/users.xsd",
      '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema">\n  <xsd:element name="Properties">\n    <xsd:complexType><xsd:sequence><xsd:element name="User" maxOccurs="unbounded"><xsd:complexType><xsd:attribute name="name" use="required"/></xsd:complexType></xsd:element></xsd:sequence></xsd:complexType>\n  </xsd:element>\n</xsd:schema>\n',
    );
    const mine = only(await lintRepository(repo), "Properties/users.xml");
    expect(mine.length).to.be.greaterThan(0);
    expect(mine.every((p) => p.code === "xml-failed-to-verify")).to.equal(true);
  });

  it("runLint prints file:line: message lines and returns 1, or 0 when clean", async () => {
    const lines: string[] = [];
    expect(await runLint(exampleRepo, { write: (l) => lines.push(l) })).to.equal(0);
    expect(lines).to.deep.equal(["0 errors, 0 warnings"]);
    lines.length = 0;
    write("Bundler/base.xml", '<Bundle>\n  <Path name="/etc/hosts" bogus="1"/>\n</Bundle>\n');
    expect(await runLint(repo, { write: (l) => lines.push(l) })).to.equal(1);
    expect(lines).to.have.length(2);
    expect(lines[1]).to.equal("1 error, 0 warnings");
    expect(lines[0]).to.match(new RegExp(`^${join(repo, "Bundler/base.xml").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2: .*bogus`));
  });

  it("reports a folder that is not a repository", async () => {
    const problems = await lintRepository(join(sandbox, "nothing-here"));
    expect(problems.map((p) => p.code)).to.deep.equal(["repo-not-found"]);
  });
});

describe("params.xsd (contextualization parameter file)", () => {
  const schema = () => ({ main: "params.xsd", files: loadSchemaDir(defaultSchemaDir()) });
  const good = `<?xml version="1.0" encoding="UTF-8"?>
<Parameters>
  <Param name="domain" value="cluster.local"/>
  <Param name="DNSServer">
    <List><Item value="10.0.0.2"/><Item value="10.0.0.3"/></List>
  </Param>
  <Param name="nodenames"><List><Item value="head"/><Item value="w1"/></List></Param>
  <Param name="users"><List><Item name="alice" value="ssh-ed25519 AAAA"/></List></Param>
</Parameters>
`;

  it("accepts values and lists of (named) items", async () => {
    expect(await runLibxml([{ file: "context.xml", contents: good }], schema())).to.deep.equal([]);
  });

  it("rejects a repeated name, an Item without value, and text content", async () => {
    const bad = good
      .replace('<Param name="nodenames">', '<Param name="domain">')
      .replace('<Item name="alice" value="ssh-ed25519 AAAA"/>', '<Item name="alice"/>')
      .replace('value="cluster.local"/>', 'value="cluster.local">text</Param>');
    const msgs = await runLibxml([{ file: "context.xml", contents: bad }], schema());
    expect(msgs.map((m) => m.line)).to.deep.equal([3, 7, 8]);
    expect(msgs.every((m) => m.kind === "schema")).to.equal(true);
  });
});
