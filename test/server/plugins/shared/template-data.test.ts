// The template data model against the real thing: lxml elements (python3-lxml, parsed as Bcfg2 parses
// Properties) navigated from the real Genshi, and PyYAML's yaml.load for YAML Properties.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseXml } from "../../../../protocol/xml.js";
import { xmlView } from "../../../../server/plugins/shared/template-data/xdata.js";
import { parseYamlProperty } from "../../../../server/plugins/shared/template-data/yaml-data.js";
import { compileGenshi } from "../../../../server/templates/genshi/text.js";
import { pyRepr } from "../../../../server/templates/python/values.js";
import { projectRoot } from "../../../support/paths.js";

const CLUSTER = readFileSync(join(projectRoot, "test/compat/genshi-site/Properties/cluster.xml"), "utf8");

/** Expressions over `x` (the Properties root), each rendered as ${expr} by Genshi. */
const XDATA_EXPRESSIONS = [
  "x.tag", "x.text", "len(x)", "[c.tag for c in x]", "x.find('Domain').text", "x.findtext('Search')", "x.findtext('Missing', 'dflt')",
  "x.findtext('Missing')", "x.find('Missing')", "[n.text for n in x.findall('Nameserver')]", "[n.get('name') for n in x.findall('Nodes/Node')]",
  "[n.get('name') for n in x.findall('.//Node')]", "x.find('Nodes/Node[2]').get('name')", "x.find('Nodes/Node[last()]').get('name')",
  "x.find(\"Nodes/Node[@rack='b']\").get('name')", "x.find('Nodes/Node[@gpu]').get('gpu')", "x.find('Nodes/Node[Note]').get('name')",
  "x.find(\"Nodes/Node[Note='has a GPU']\").get('np')", "len(x.findall('*'))", "len(x.findall('Nodes/*'))", "x.find('Nodes/').tag",
  "[e.get('path') for e in x.iterfind('Exports/Export')]", "[e.tag for e in x.iter('Export', 'Tuning')]", "len(list(x.iter()))",
  "x.find('Nodes').getparent().tag", "x.getparent()", "[c.get('name') for c in x.find('Nodes').iterchildren()]",
  "x.find(\"Nodes/Node[@name='node2']\").text", "x.find('.//Note').tail", "x.find('.//Note').text", "x.find('Domain').tail",
  "sorted(x.find('Nodes/Node').attrib.items())", "x.find('Nodes/Node').keys()", "x.find('Nodes/Node').items()",
  "x.find('Nodes/Node').get('nope', 'none')", "'np' in x.find('Nodes/Node').attrib", "len(x.find('Nodes/Node').attrib)",
  "x.find('Nodes/Node').attrib.get('rack')", "str(x.find('Nodes/Node').attrib)", "x.find('Nodes/Node').attrib['ip']",
  "[n.get('name') for n in sorted(x.findall('Nodes/Node'), key=lambda n: int(n.get('np')))]",
  "[n.get('name') for n in sorted(x.findall('Nodes/Node'), key=lambda n: (n.get('rack'), n.get('name')), reverse=True)]",
  "x.xpath('count(//Node)')", "x.xpath('sum(//Node/@np)')", "x.xpath('//Node/@name')", "x.xpath('//Nameserver/text()')",
  "x.xpath('string(//Domain)')", "x.xpath('boolean(//Node[@gpu])')", "x.xpath('name(/*)')",
  "[n.get('name') for n in x.xpath(\"//Node[contains(@name, 'node') and not(@gpu)]\")]", "[n.get('name') for n in x.xpath('//Node[@np > 4]')]",
  "[n.get('name') for n in x.xpath('//Node[position() < 3]')]", "x.xpath('//Node[last()]/@name')", "x.xpath('count(//Tuning[@key])')",
  "[t.get('key') for t in x.xpath('Tuning | Group/Tuning')]", "x.xpath(\"normalize-space(' a  b ')\")", "x.xpath('//Export[1]/@options')",
  "x[0].tag", "x[-1].get('key')", "bool(x.find('Exports'))", "x.findall('//Node')", "x.findall(\"Nodes/Node[contains(@name,'x')]\")",
  "x.xpath('//Node[')",
];

const PY = `
import json, sys
import lxml.etree
from genshi.template import NewTextTemplate
req = json.load(sys.stdin)
x = lxml.etree.XML(req["xml"].encode(), parser=lxml.etree.XMLParser(remove_blank_text=True))
out = []
for e in req["exprs"]:
    try:
        out.append(NewTextTemplate("\${" + e + "}").generate(x=x).render('text'))
    except Exception as err:
        out.append("ERROR " + type(err).__name__)
json.dump(out, sys.stdout)
`;

function oursOf(expr: string, x: unknown): string {
  try {
    return compileGenshi("${" + expr + "}", "t.genshi").render({ x });
  } catch (e) {
    return `ERROR ${/: (\w+): /.exec((e as Error).message)?.[1] ?? (e as Error).message}`;
  }
}

describe("template data model", () => {
  it("navigates Properties xdata as lxml does (ElementPath, XPath 1.0, attrib, text/tail, sorting)", () => {
    const expected = JSON.parse(execFileSync("/usr/bin/python3", ["-c", PY], { input: JSON.stringify({ xml: CLUSTER, exprs: XDATA_EXPRESSIONS }), encoding: "utf8" })) as string[];
    const x = xmlView(parseXml(CLUSTER));
    const diffs: string[] = [];
    XDATA_EXPRESSIONS.forEach((e, i) => {
      const ours = oursOf(e, x);
      // lxml's errors for a bad path differ by kind (SyntaxError, XPathEvalError): both must fail.
      const same = ours === expected[i] || (ours.startsWith("ERROR") && expected[i]!.startsWith("ERROR"));
      if (!same) diffs.push(`${e}\n  lxml:  ${expected[i]}\n  vacfg: ${ours}`);
    });
    expect(diffs, diffs.join("\n")).to.deep.equal([]);
  });

  it("reads YAML Properties as PyYAML's yaml.load does (YAML 1.1)", () => {
    const docs = [
      "a: 1\nb: 2.5\nc: yes\nd: off\ne: ~\nf: [x, 'y', 3]\ng: {h: i}\n",
      "- name: alice\n  uid: 1001\n  shell: /bin/bash\n- name: bob\n  groups: [a, b]\n  quota: 1e3\n",
      "anchors:\n  base: &b {x: 1}\n  copy: *b\nlist:\n- .5\n- -7\n- 0x1F\n- 'quoted: yes'\n- on\n- 1.5e3\n- 1.0e+3\n- 1_000\n- .inf\n",
    ];
    const PYY = `
import json, sys, yaml
print(json.dumps([repr(yaml.load(d, Loader=yaml.Loader)) for d in json.load(sys.stdin)]))
`;
    const expected = JSON.parse(execFileSync("/usr/bin/python3", ["-c", PYY], { input: JSON.stringify(docs), encoding: "utf8" })) as string[];
    expect(docs.map((d) => pyRepr(parseYamlProperty(d, "p.yaml")))).to.deep.equal(expected);
    expect(() => parseYamlProperty("a: [1, 2\n", "Properties/bad.yaml")).to.throw(/Could not load YAML data from Properties\/bad\.yaml:\d+/);
  });
});
