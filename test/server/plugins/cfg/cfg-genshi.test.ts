// The Genshi subset, checked against the real Genshi (python3-genshi, as the upstream server
// uses it): the same templates and variables must render byte-identically.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { compileGenshi } from "../../../../server/templates/genshi/text.js";
import { CfgPlugin } from "../../../../server/plugins/cfg/index.js";
import { bindPath, clientMeta, CORPUS_VARS, pluginContext, probeValue, propertiesConnector, tempRepo } from "./plugin-fixture.js";

const PY = `
import json, sys
from genshi.template import NewTextTemplate
req = json.load(sys.stdin)
out = []
for t in req["templates"]:
    try:
        out.append(NewTextTemplate(t).generate(**req["vars"]).render('text'))
    except Exception as e:
        out.append("ERROR " + type(e).__name__)
json.dump(out, sys.stdout)
`;

const TEMPLATES = [
  "plain text, no markup\n",
  "host ${host} short $host $$literal and $ alone; ${n + 1} ${n // 2} ${n % 4} ${-n}\n",
  "{% for node in nodes %}\\\n${node.name} np=${node.np} ${node.props.replace(',', ' ')}\n{% end %}\\\ndone\n",
  "{% for node in nodes %}\n${node['name']}\n{% end %}\n",
  "{% if 'cluster' in groups %}in cluster{% end %}{% if 'x' not in groups %}, not in x{% end %}\n",
  "groups=${' '.join(sorted(groups))} first=${groups[0]} last=${groups[-1]} n=${len(groups)} slice=${groups[1:]}\n",
  "cpus=${probes.get('cpus', 'unknown').strip()} none=${probes.get('nope')} dflt=${probes.get('nope', 'd')}\n",
  "{% python\n    big = [x['name'] for x in nodes if x['np'] > 10]\n    total = sum(x['np'] for x in nodes)\n%}\\\nbig=${big} total=${total}\n",
  "{% choose %}{% when n > 10 %}big{% end %}{% when n > 5 %}medium{% end %}{% otherwise %}small{% end %}{% end %}\n",
  "{% choose host %}{% when 'node1' %}one{% end %}{% when 'node0' %}zero{% end %}{% end %}\n",
  "{% with a = n * 2; b = host.upper() %}${a} ${b}{% end %}\n",
  "{# a comment #}escaped \\{% not a directive %} and \\\\ backslash\n",
  "${'%s has %d cpus' % (host, 8)} ${'%-6s|' % 'ab'} ${nothing} ${[1, 'a']} ${True and 'yes' or 'no'} ${'a' if n else 'b'}\n",
  "${str(n) + 'x'} ${int('42') + 1} ${', '.join(['%s=%s' % (k, v.strip()) for k, v in sorted(probes.items())])}\n",
  // {% python %} statements in the forms Bcfg2's documentation shows
  "{% python\n    if n > 10:\n        size = 'big'\n    elif n > 5:\n        size = 'medium'\n    else:\n        size = 'small'\n%}\\\nsize=$size\n",
  "{% python\n    grp = None\n    for g in groups:\n        if g.startswith('torque-'):\n            grp = g\n            break\n    else:\n        grp = 'none'\n%}\\\ngroup=$grp\n",
  "{% python\n    from genshi.template import TemplateError\n    for g in groups:\n        if g.startswith('ganglia-'):\n            break\n    else:\n        raise TemplateError('Missing group')\n%}\\\nnever\n",
  "{% python\n    def slots(node, factor=2):\n        total = 0\n        for i in range(node['np']):\n            if i % 2:\n                continue\n            total += factor\n        return total\n    acc = 1\n    acc += slots(nodes[0])\n    acc *= 3\n    acc -= 2\n    acc //= 4\n    names = []\n    names += [x['name'] for x in nodes]\n%}\\\nacc=$acc slots=${slots(nodes[1], factor=1)} names=$names\n",
  "{% python\n    table = {}\n    for node in nodes:\n        for p in node['props'].split(','):\n            table.setdefault(p, []).append(node['name'])\n    pairs = [(k, v) for k in sorted(table) for v in table[k]]\n    a, b = 1, 2\n    a, b = b, a\n    x = y = 'same'\n    table['gpu'][0] = 'renamed'\n%}\\\n$pairs ${sorted(table.items())} $a$b $x$y\n",
  "{% python\n    seen = 0\n%}{% for g in groups %}{% python seen = seen + 1 %}{% end %}seen=$seen\n",
  "${4 / 2} ${7 / 2} ${2 ** -1} ${1e-07} ${1e16} ${0.1 + 0.2} ${float('3')} ${round(2.5)} ${round(3.5)} ${round(2.675, 2)} ${abs(-2.0)} ${int(7.9)} ${10 % 3.0} ${True + 1}\n",
  "${(1,)} ${(1, 'a')} ${str(('x',))} ${str({'k': (1, 2)})} ${str(set())} ${sorted(set(groups) & set(['cluster', 'x']))} ${len(set(groups) | set(['x']))} ${str(None)} ${repr('it\\'s')}\n",
  "${'%05.1f|%-6s|%x|%X|%o|%e|%+d|%5s|%c' % (3.14159, 'ab', 255, 255, 8, 12345.678, 3, 'r', 65)} ${'%(a)s-%(b)03d' % {'a': 'x', 'b': 7}} ${'%d%%' % 50}\n",
  "${'a-b c'.title()} ${'x,y,,z'.split(',')} ${'  pad '.strip()} ${'aXbXc'.replace('X', '.')} ${'abc'.upper().lower()} ${'-'.join(sorted(['b', 'a']))} ${'7'.zfill(3)}\n",
  "${sorted(nodes, key=lambda x: -x['np'])[0]['name']} ${max(nodes, key=lambda x: x['np'])['name']} ${min([3, 1, 2])} ${sorted(['b', 'A', 'a'], reverse=True)} ${[x * 2 for x in range(3) if x]} ${list(zip('ab', [1, 2]))}\n",
  "${'%y' % 3}\n",
  "${undefined_name}\n",
  "${host.nosuchmethod()}\n",
];

describe("Cfg Genshi subset", () => {
  const hasGenshi = existsSync("/usr/lib/python3/dist-packages/genshi/template/text.py");

  it("renders like the real Genshi NewTextTemplate", function () {
    expect(hasGenshi, "python3-genshi (test/setup/debian-packages.txt)").to.equal(true);
    const expected = JSON.parse(
      execFileSync("/usr/bin/python3", ["-c", PY], { input: JSON.stringify({ templates: TEMPLATES, vars: CORPUS_VARS }), encoding: "utf8" }),
    ) as string[];
    const ours = TEMPLATES.map((t, i) => {
      try {
        return compileGenshi(t, `t${i}.genshi`).render(CORPUS_VARS);
      } catch (e) {
        return `ERROR ${/: (\w+Error): /.exec((e as Error).message)?.[1] ?? (e as Error).message}`;
      }
    });
    for (let i = 0; i < TEMPLATES.length; i++) expect(ours[i], `template ${i}: ${JSON.stringify(TEMPLATES[i])}`).to.equal(expected[i]);
  });

  it("refuses statements outside the subset when compiling, naming file:line, never running them", () => {
    expect(() => compileGenshi("ok\n{% python\n    x = 1\n    import os\n%}\n", "t.genshi")).to.throw(/t\.genshi:4: TemplateSyntaxError: SyntaxError: "import" statements are not supported/);
    expect(() => compileGenshi("{% python\n    while n < 0:\n        pass\n%}", "t.genshi")).to.throw(/t\.genshi:2: TemplateSyntaxError: SyntaxError: "while" statements are not supported/);
    expect(() => compileGenshi("{% python\n    class A:\n        pass\n%}", "t.genshi")).to.throw(/t\.genshi:2: .*"class" statements are not supported/);
    expect(() => compileGenshi("{% python\n    if n:\n    x = 1\n%}", "t.genshi")).to.throw(/t\.genshi:\d: .*IndentationError/);
  });

  it("renders the lab's Genshi files through Cfg, and fails a broken one with file:line", async () => {
    const repo = tempRepo();
    try {
      repo.write(
        "Cfg/etc/resolv.conf/resolv.conf.genshi",
        "{% python\n    props = metadata.Properties['cluster.xml'].xdata\n    nameservers = [ns.text for ns in props.findall('Nameserver')]\n    search = props.find('Search').text\n%}\\\n# resolv.conf for ${metadata.hostname} (profile ${metadata.profile}), generated by Bcfg2\nsearch ${search}\n{% for ns in nameservers %}\\\nnameserver ${ns}\n{% end %}\\\noptions timeout:2 attempts:3\n",
      );
      repo.write(
        "Cfg/etc/torque/cpus/cpus.genshi",
        "# probed CPU count for ${metadata.hostname}\ncpus=${metadata.Probes.get('cpus', 'unknown').strip()}\ngroups=${' '.join(sorted(metadata.groups))}\n",
      );
      repo.write("Cfg/etc/bad/bad.genshi", "ok\n\n${metadata.nope}\n");
      const cfg = new CfgPlugin(pluginContext(repo.root));
      const meta = clientMeta("node4", {
        profile: "torque-client",
        groups: ["torque-client", "linux", "bookworm"],
        connectors: {
          Probes: { cpus: probeValue("2\n") },
          Properties: propertiesConnector({
            "cluster.xml": "<Properties><Search>cluster.lab lab</Search><Nameserver>127.0.0.53</Nameserver><Nameserver>127.0.0.54</Nameserver></Properties>",
          }),
        },
      });
      expect((await bindPath(cfg, "/etc/resolv.conf", meta)).text).to.equal(
        "# resolv.conf for node4 (profile torque-client), generated by Bcfg2\nsearch cluster.lab lab\nnameserver 127.0.0.53\nnameserver 127.0.0.54\noptions timeout:2 attempts:3\n",
      );
      expect((await bindPath(cfg, "/etc/torque/cpus", meta)).text).to.equal("# probed CPU count for node4\ncpus=2\ngroups=bookworm linux torque-client\n");
      expect((await bindPath(cfg, "/etc/bad", meta)).attrs.failure).to.match(/bad\.genshi:3: UndefinedError: .*"nope"/);
    } finally {
      repo.cleanup();
    }
  });
});
