// The Genshi markup engine against the real Genshi (python3-genshi, as Bcfg2's Bundler runs it:
// MarkupTemplate, comments filtered out, rendered as XML with whitespace kept, read by lxml):
// every template must give the same tree, or both must fail.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { serializeXml } from "../../../protocol/xml.js";
import { compileMarkup } from "../../../server/templates/genshi/markup.js";

const PY = `
import json, sys
import lxml.etree
import genshi.core
from genshi.template import MarkupTemplate
def removecomment(stream):
    for kind, data, pos in stream:
        if kind is not genshi.core.COMMENT:
            yield kind, data, pos
req = json.load(sys.stdin)
out = []
for t in req["templates"]:
    try:
        s = MarkupTemplate(t).generate(**req["vars"]).filter(removecomment).render('xml', strip_whitespace=False)
        out.append(lxml.etree.tostring(lxml.etree.XML(s.encode())).decode())
    except Exception as e:
        out.append("ERROR " + type(e).__name__)
json.dump(out, sys.stdout)
`;

const NS = 'xmlns:py="http://genshi.edgewall.org/"';
const VARS = {
  host: "node1",
  groups: ["compute", "debian", "linux"],
  users: [
    { name: "alice", uid: 1001, shell: "/bin/bash" },
    { name: "bob", uid: 1002, shell: null },
  ],
  n: 3,
  empty: [],
  opts: { mode: "0644", owner: "root" },
};

export const MARKUP_TEMPLATES = [
  `<Bundle ${NS}>\n  <Path name="/etc/motd"/>\n  <!-- a comment -->\n  <Package name="vim"/>\n</Bundle>`,
  `<Bundle ${NS}>\n  <py:if test="'compute' in groups">\n    <Package name="slurmd"/>\n  </py:if>\n  <Package name="x" py:if="'nope' in groups"/>\n</Bundle>`,
  `<Bundle ${NS}>\n  <POSIXUser py:for="u in users" name="\${u['name']}" uid="\${u['uid']}" shell="\${u['shell']}"/>\n</Bundle>`,
  `<Bundle ${NS}>\n  <py:for each="g in groups">\n    <POSIXGroup name="$g"/>\n  </py:for>\n</Bundle>`,
  `<Bundle ${NS}>\n  <py:choose test="host">\n    <Service name="a" py:when="'node0'"/>\n    <Service name="b" py:when="'node1'"/>\n    <Service name="c" py:otherwise=""/>\n  </py:choose>\n</Bundle>`,
  `<Bundle ${NS}>\n  <py:choose>\n    <py:when test="n &gt; 5"><Package name="big"/></py:when>\n    <py:when test="n &gt; 1"><Package name="medium"/></py:when>\n    <py:otherwise><Package name="small"/></py:otherwise>\n  </py:choose>\n</Bundle>`,
  `<Bundle ${NS}>\n  <py:with vars="a = n * 2; b = host.upper()">\n    <Path name="/tmp/\${a}-\${b}"/>\n  </py:with>\n</Bundle>`,
  `<Bundle ${NS}>\n  <py:def function="pkg(name, v='1')">\n    <Package name="\${name}" version="\${v}"/>\n  </py:def>\n  \${pkg('a')}\n  \${pkg('b', v='2')}\n</Bundle>`,
  `<Bundle ${NS}>\n  <Path py:def="path(p)" name="\${p}" type="file"/>\n  <py:for each="p in ['/a', '/b']">\${path(p)}</py:for>\n</Bundle>`,
  `<Bundle ${NS}>\n  <Path name="/x" py:attrs="opts"/>\n  <Path name="/y" mode="0600" py:attrs="{'mode': None, 'group': 'adm'}"/>\n</Bundle>`,
  `<Bundle ${NS}>\n  <Group name="x" py:strip="">\n    <Package name="inside"/>\n  </Group>\n  <Group name="y" py:strip="n &lt; 0"><Package name="kept"/></Group>\n</Bundle>`,
  `<Bundle ${NS}>\n  <Path name="/motd" py:content="'hello ' + host"/>\n  <Package name="gone" py:replace="'replaced'"/>\n</Bundle>`,
  `<Bundle ${NS}>\n  <?python\n    pkgs = sorted(['b', 'a'])\n    if n > 2:\n        pkgs.append('many')\n    else:\n        pkgs.append('few')\n  ?>\n  <Package py:for="p in pkgs" name="$p"/>\n</Bundle>`,
  `<Bundle ${NS}>\n  <Path name="/etc/\${host}.conf" mode="\${None}" owner="\${''}" group="a\${None}b"/>\n</Bundle>`,
  `<Bundle ${NS}>\n  <Path name="\${undefined_name}"/>\n</Bundle>`,
  `<Bundle ${NS}>\n  <Service py:when="True" name="x"/>\n</Bundle>`,
  `<Bundle ${NS}>\n  <py:for each="i, u in enumerate(users)">\n    <POSIXUser name="\${u['name']}" uid="\${1000 + i}" home="/home/\${u['name']}"/>\n  </py:for>\n  <Path name="/n" py:if="not empty"/>\n</Bundle>`,
  `<Bundle ${NS}>\n  <Action name="a" command="echo \${' '.join(groups)} &amp;&amp; true" when="modified"/>\n  <Path name="/f" type="file">text \${n} &lt;here&gt;</Path>\n</Bundle>`,
  `<Bundle ${NS}>\n  <py:if test="n == 3"><Package name="three"/></py:if><py:if test="n != 3"><Package name="other"/></py:if>\n  <Package name="\${[1, 2]}"/>\n  <Package name="\${4 / 2}"/>\n  <Package name="\${True}"/>\n</Bundle>`,
  `<Bundle ${NS}>\n  <?python\n    def label(u):\n        return '%s:%d' % (u['name'], u['uid'])\n    total = 0\n    for u in users:\n        total += u['uid']\n  ?>\n  <Path py:for="u in users" name="/\${label(u)}"/>\n  <Path name="/total/\${total}"/>\n</Bundle>`,
  `<Bundle ${NS}>\n  <py:for each="g in groups">\n    <?python seen = g ?>\n  </py:for>\n  <Path name="/\${seen}"/>\n</Bundle>`,
  `<Bundle ${NS} name="templated">\n  <Package name="p" py:for="x in range(n)" version="\${x}" py:if="x % 2 == 0"/>\n</Bundle>`,
];

function ours(t: string): string {
  try {
    return serializeXml(compileMarkup(t, "t.xml").render(VARS));
  } catch (e) {
    const m = /(\w+(?:Error|Exception)):/.exec((e as Error).message);
    return `ERROR ${m?.[1] ?? (e as Error).message}`;
  }
}

describe("Genshi markup templates (Bcfg2 bundles)", () => {
  it("render like the real Genshi MarkupTemplate, read back by lxml", () => {
    const expected = JSON.parse(
      execFileSync("/usr/bin/python3", ["-c", PY], { input: JSON.stringify({ templates: MARKUP_TEMPLATES, vars: VARS }), encoding: "utf8" }),
    ) as string[];
    const failures: string[] = [];
    MARKUP_TEMPLATES.forEach((t, i) => {
      const got = ours(t);
      if (got !== expected[i]) failures.push(`template ${i}:\n${t}\n--- genshi:\n${expected[i]}\n--- vacfg:\n${got}`);
    });
    expect(failures, failures.join("\n\n")).to.deep.equal([]);
  });

  it("names file:line for an undefined name and for a bad directive", () => {
    expect(() => compileMarkup(`<Bundle ${NS}>\n\n  <Path name="\${nope}"/>\n</Bundle>`, "Bundler/b.xml").render({})).to.throw(/Bundler\/b\.xml:3: UndefinedError: "nope" not defined/);
    expect(() => compileMarkup(`<Bundle ${NS}>\n  <Path py:frobnicate="x"/>\n</Bundle>`, "Bundler/b.xml")).to.throw(/Bundler\/b\.xml:2: TemplateSyntaxError: bad directive "py:frobnicate"/);
    expect(() => compileMarkup(`<Bundle ${NS}>\n  <py:match path="x"/>\n</Bundle>`, "b.xml")).to.throw(/b\.xml:2: .*py:match is not supported/);
    expect(() => compileMarkup(`<Bundle ${NS}>\n  <Path>\n</Bundle>`, "b.xml")).to.throw(/b\.xml:[23]: ParseError/);
  });
});
