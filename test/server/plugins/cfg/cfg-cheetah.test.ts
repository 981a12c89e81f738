// The Cheetah subset, checked against the real Cheetah (python3-cheetah, run with the compiler
// settings Bcfg2's CfgCheetahGenerator uses): the same templates and variables, set as template
// attributes as upstream does, must render byte-identically.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { compileCheetah } from "../../../../server/templates/cheetah/template.js";
import { templateVars } from "../../../../server/plugins/shared/template-data/template-data.js";
import { bcfg2RefKit } from "../../../support/paths.js";
import { clientMeta, CORPUS_VARS, probeValue, propertiesConnector } from "./plugin-fixture.js";

// Upstream: Template(data, compilerSettings=dict(useStackFrames=False)); setattr(template, k, v); respond().
// A "lab" request gets a metadata object shaped like upstream's ClientMetadata (attributes,
// Probes dict, Properties dict of objects whose .xdata is an lxml element).
const PY = `
import json, sys
from Cheetah.Template import Template
from lxml import etree
class Obj(object):
    pass
def lab(spec):
    m = Obj()
    m.hostname = spec["hostname"]
    m.profile = spec["profile"]
    m.Probes = dict(spec["probes"])
    m.Properties = {}
    for name, text in spec["properties"].items():
        p = Obj()
        p.xdata = etree.XML(text)
        m.Properties[name] = p
    return m
req = json.load(sys.stdin)
out = []
for case in req:
    try:
        t = Template(case["template"], compilerSettings=dict(useStackFrames=False))
        vars = dict(case["vars"])
        if "lab" in case:
            vars["metadata"] = lab(case["lab"])
        for k, v in vars.items():
            setattr(t, k, v)
        out.append(t.respond())
    except Exception as e:
        out.append("ERROR " + type(e).__name__)
json.dump(out, sys.stdout)
`;

const VARS = {
  ...CORPUS_VARS,
  word: "Mixed Case",
  flag: true,
  empty: "",
};

/** The corpus: [what it exercises, template]. */
const CORPUS: Array<[string, string]> = [
  ["plain text", "plain text, no markup\n# a shell comment stays\n#!/bin/sh too\n"],
  ["placeholders", "host $host, ${host}, $(host), $[host] n=$n done.\n"],
  ["dotted and items", "first=$nodes[0].name np=$nodes[1]['np'] $probes.cpus$probes['arch']"],
  ["autocalling (on in Bcfg2's settings)", "$word.upper $word.lower() $word.split()[1] ${word.swapcase if False else word.title()}\n"],
  ["expressions in enclosures", "${n + 1} $(n * 2) ${len(groups)} ${' '.join(sorted($groups))} ${n > 5 and 'big' or 'small'}\n"],
  ["None, booleans, silent", "[$nothing] [$flag] [$!undefined_thing] [$!host] [$empty]\n"],
  ["escapes", "cost \\$5 and \\$host, \\#if not a directive, $ alone, $1, a\\b\n"],
  ["line comments", "a ## trailing comment\n## whole-line comment\n  ## indented comment line\nb\n###\nc\n"],
  ["block comments", "a #* inline *# b\n#* whole\nlines *#\n  #* indented *#  \nc #* x\ny *# d\n#* nested #* inner *# still *#e\n"],
  ["#if/#elif/#else", "#if $n > 10\nbig\n#elif $n > 5\nmedium\n#else\nsmall\n#end if\ndone\n"],
  ["#if with indentation and inline forms", "  #if $flag\n    yes\n  #end if\nx #if $flag#inline#else#no#end if# y\n#if not $flag: never\n#if $flag: short $host\nz\n"],
  ["#for and nested loops", "#for $node in $nodes\n#for $g in $groups\n$node.name:$g\n#end for\n#end for\n"],
  ["#for with tuple targets and bare locals", "#for i, node in enumerate($nodes)\n${i}=$node['name'] ${node['np'] * 2}\n#end for\nlast=$i\n"],
  ["#set and locals", "#set x = $n * 3\n#set $y = [g.upper() for g in $groups if g != 'cluster']\n#set a, b = 1, 'two'\n#set x += 1\nx=$x y=$y a=$a b=$b\n"],
  ["#silent", "#silent $groups.append('extra')\n$groups\n  #silent len($groups)  \nend\n"],
  ["#slurp and EOL slurp", "one#slurp\ntwo #\nthree\n  #slurp\nfour\n#for g in $groups\n$g, #slurp\n#end for\n\n"],
  ["#raw", "#raw\n$host #if ## not parsed\n  #end if\n#end raw\nafter $host\nx #raw#$y#end raw# z\n"],
  ["directives with trailing comment and whitespace", "#if $flag   ## why\nA\n#end if ## done\n  #set q = 1 ## keeps indentation\n$q\n"],
  ["CRLF lines", "#if $flag\r\nyes $host\r\n#end if\r\nend\r\n"],
  ["directive at end without newline", "a\n  #if $flag\nb\n  #end if"],
  ["blank lines around directives", "\n\n#if $flag\n\n  inner\n\n#end if\n\n"],
  ["string literals with # and $", "#set s = 'a#b$c'\n$s ${'x # y'} ${\"$host\"}\n"],
  ["probes methods", "cpus=${probes['cpus'].strip()} $probes.arch.strip ${probes.get('nope', 'dflt')}\n"],
  ["comprehension in placeholder", "${', '.join(['%s=%d' % (x['name'], x['np']) for x in nodes])}\n"],
  ["adjacent placeholders, double backslash, literal text after enclosures", "$host$n.$host. \\\\$host \\\\#if $(n)(2)\n"],
  ["inline #for and single-line #if/#else", "#for $g in $groups#[$g]#end for#\n#if $flag: a\n#else: b\nc\n"],
  ["empty #if block is a compile error in both", "#if $flag\n## only a comment\n#end if\n"],
  ["undefined placeholder", "ok\n$undefined_name\n"],
  ["undefined bare name in directive", "#if host\nx\n#end if\n"],
];

describe("Cfg Cheetah subset", () => {
  const hasCheetah = existsSync("/usr/lib/python3/dist-packages/Cheetah/Template.py");
  const labTemplate = join(bcfg2RefKit, "repo/Cfg/var/spool/torque/mom_priv/config/config.cheetah");
  const labProps = join(bcfg2RefKit, "repo/Properties/cluster.xml");

  it(`renders ${CORPUS.length + 2} templates byte-identically to the real Cheetah`, function () {
    expect(hasCheetah, "python3-cheetah (test/setup/debian-packages.txt)").to.equal(true);
    const cluster = readFileSync(labProps, "utf8");
    const labVars = (host: string) => {
      const meta = clientMeta(host, {
        profile: "torque-client",
        groups: ["torque-client", "linux"],
        connectors: { Probes: { cpus: probeValue("2\n") }, Properties: propertiesConnector({ "cluster.xml": cluster }) },
      });
      return templateVars({ attrs: { name: "/var/spool/torque/mom_priv/config" } }, meta, labTemplate, "/repo", "entry");
    };
    const labCase = (host: string, template: string) => ({
      template,
      vars: { name: "/var/spool/torque/mom_priv/config", path: "/var/spool/torque/mom_priv/config", source_path: labTemplate, repo: "/repo" },
      lab: { hostname: host, profile: "torque-client", probes: { cpus: "2\n" }, properties: { "cluster.xml": cluster } },
    });
    const cases = [
      ...CORPUS.map(([, template]) => ({ template, vars: VARS })),
      labCase("node4", readFileSync(labTemplate, "utf8")),
      labCase("node2", "$metadata.hostname $metadata.profile $name $path\n#for $n in $metadata.Properties['cluster.xml'].xdata.findall('Node')\n$n.get('name') np=$n.get('np')\n#end for\n${metadata.Probes['cpus'].strip()}\n"),
    ];
    const expected = JSON.parse(execFileSync("/usr/bin/python3", ["-c", PY], { input: JSON.stringify(cases), encoding: "utf8" })) as string[];
    const ours = cases.map((c, i) => {
      try {
        const vars = "lab" in c ? labVars(c.lab.hostname) : structuredClone(c.vars);
        return compileCheetah(c.template, `t${i}.cheetah`).render(vars as never);
      } catch (e) {
        return `ERROR ${/: (\w*(?:Error|NotFound)): /.exec((e as Error).message)?.[1] ?? (e as Error).message}`;
      }
    });
    for (let i = 0; i < cases.length; i++) {
      const what = i < CORPUS.length ? CORPUS[i]![0] : "lab config.cheetah";
      expect(ours[i], `case ${i} (${what}): ${JSON.stringify(cases[i]!.template)}`).to.equal(expected[i]);
    }
    expect(expected.filter((x) => !x.startsWith("ERROR")).length).to.be.greaterThan(22);
  });
});
