// Jinja2 Cfg templates: the variables upstream passes (metadata with groups, Probes,
// Properties; name, path, source_path, repo) plus params; a failing template fails only its entry.
import { expect } from "chai";
import { join } from "node:path";
import { CfgPlugin } from "../../../../server/plugins/cfg/index.js";
import { bindPath, clientMeta, pluginContext, probeValue, propertiesConnector, tempRepo, type TempRepo } from "./plugin-fixture.js";

describe("Cfg Jinja2 templates", () => {
  let repo: TempRepo;
  let cfg: CfgPlugin;
  const meta = () =>
    clientMeta("node0", {
      groups: ["torque-head", "cluster"],
      connectors: {
        Probes: { cpus: probeValue("8\n"), disks: probeValue('{"sda": 100, "sdb": 200}') },
        Properties: propertiesConnector({
          "cluster.xml": `<Properties><Domain>lab</Domain><Node name="node0" np="8"/><Node name="node1" np="16"/></Properties>`,
        }),
        Context: { head: "10.0.0.1", users: ["alice", "bob"] },
      },
    });
  before(() => {
    repo = tempRepo();
    repo.write(
      "Cfg/etc/info/info.jinja2",
      [
        "host={{ metadata.hostname }} profile={{ metadata.profile }}",
        "{% if 'torque-head' in metadata.groups %}head{% else %}not head{% endif %}",
        "{% if 'nope' in metadata.groups %}bad{% endif %}groups={{ metadata.groups | join(',') }}",
        "cpus={{ metadata.Probes['cpus'].strip() }} raw=[{{ metadata.Probes['cpus'] }}] sdb={{ metadata.Probes['disks'].json.sdb }}",
        "missing={{ metadata.Probes.get('nope', 'dflt') }}",
        "{% set props = metadata.Properties['cluster.xml'].xdata -%}",
        "domain={{ props.find('Domain').text }}",
        "{% for n in props.findall('Node') %}{{ n.get('name') }}:{{ n.get('np') }} {% endfor %}",
        "params={{ params.head }} {{ params.users | join('+') }}",
        "name={{ name }} path={{ path }} source={{ source_path }} repo={{ repo }}",
        "<&>",
      ].join("\n") + "\n",
    );
    repo.write("Cfg/etc/broken/broken.jinja2", "line one\nline two {{ metadata.nothing.call() }}\n");
    repo.write("Cfg/etc/syntax/syntax.jinja2", "ok\n{% if %}\n");
    repo.write("Cfg/etc/fine/fine", "fine\n");
    repo.write(
      "Cfg/etc/cheetah/cheetah.cheetah",
      "# for $metadata.hostname\n#for $n in $metadata.Properties['cluster.xml'].xdata.findall('Node')\n$n.get('name') np=$n.get('np')\n#end for\ncpus=$metadata.Probes['cpus'].strip path=$path\n",
    );
    repo.write("Cfg/etc/cheetahdef/cheetahdef.cheetah", "ok $metadata.hostname\n\n#def evil\nx\n#end def\n");
    repo.write("Cfg/etc/cheetahinc/cheetahinc.cheetah", "#include '/etc/passwd'\n");
    repo.write("Cfg/etc/cheetahundef/cheetahundef.cheetah", "one\ntwo $metadata.nothing\n");
    repo.write("Cfg/etc/inc/inc.jinja2", "[{% include 'part.jinja2_include' %}]\n");
    repo.write("Cfg/etc/inc/part.jinja2_include", "included {{ metadata.hostname }}");
    // The silent differences of nunjucks over JavaScript values (issue 12), and a probe value's JS-only members.
    repo.write(
      "Cfg/etc/python/python.jinja2",
      "{{ none }} {{ true }} {{ ['a', 'b'] }} {{ 4 / 2 }} {{ 2.5|round }} {{ '%02d' % (metadata.Probes['cpus']|int) }} " +
        "{{ 'aaa'.replace('a', 'b') }} {% for g in metadata.groups if g.startswith('c') %}{{ g }}{% endfor %} " +
        "[{{ metadata.Probes['cpus'].length }}] {{ metadata.Probes['cpus'].strip()|length }}\n",
    );
    repo.write("Cfg/etc/unsupported/unsupported.jinja2", "ok\n{{ metadata.hostname.encode('utf-8') }}\n");
    cfg = new CfgPlugin(pluginContext(repo.root));
  });
  after(() => repo.cleanup());

  it("renders metadata, group membership, probes, properties, params and the upstream variables, unescaped", async () => {
    const e = await bindPath(cfg, "/etc/info", meta());
    expect(e.attrs.failure).to.equal(undefined);
    const src = join(repo.root, "Cfg/etc/info/info.jinja2");
    expect(e.text).to.equal(
      [
        "host=node0 profile=torque-head",
        "head",
        "groups=cluster,torque-head",
        "cpus=8 raw=[8\n] sdb=200",
        "missing=dflt",
        "domain=lab",
        "node0:8 node1:16 ",
        "params=10.0.0.1 alice+bob",
        `name=/etc/info path=/etc/info source=${src} repo=${repo.root}`,
        "<&>",
      ].join("\n") + "\n",
    );
  });

  it("fails only the entry whose template throws, naming the template file and line", async () => {
    const broken = await bindPath(cfg, "/etc/broken", meta());
    const file = join(repo.root, "Cfg/etc/broken/broken.jinja2");
    expect(broken.attrs.failure).to.match(new RegExp(`^bind error: Cfg: Error rendering /etc/broken: ${file}:2: `));
    expect(broken.text).to.equal(undefined);
    const fine = await bindPath(cfg, "/etc/fine", meta());
    expect(fine.attrs.failure).to.equal(undefined);
    expect(fine.text).to.equal("fine\n");
  });

  it("reports a template syntax error with its line", async () => {
    const e = await bindPath(cfg, "/etc/syntax", meta());
    expect(e.attrs.failure).to.contain(`${join(repo.root, "Cfg/etc/syntax/syntax.jinja2")}:2: `);
  });

  it("includes files relative to the template", async () => {
    expect((await bindPath(cfg, "/etc/inc", meta())).text).to.equal("[included node0]\n");
  });

  it("renders Cheetah templates (the safe subset), with autocalling as upstream's settings have it", async () => {
    const e = await bindPath(cfg, "/etc/cheetah", meta());
    expect(e.attrs.failure).to.equal(undefined);
    expect(e.text).to.equal("# for node0\nnode0 np=8\nnode1 np=16\ncpus=8 path=/etc/cheetah\n");
  });

  it("refuses unsupported Cheetah directives and undefined names with a bind error naming file:line, never running them", async () => {
    const def = await bindPath(cfg, "/etc/cheetahdef", meta());
    expect(def.attrs.failure).to.equal(
      `bind error: Cfg: Error rendering /etc/cheetahdef: ${join(repo.root, "Cfg/etc/cheetahdef/cheetahdef.cheetah")}:3: ParseError: #def is not supported in Cfg Cheetah templates (supported directives: if, elif, else, for, set, silent, slurp, raw, end)`,
    );
    expect(def.text).to.equal(undefined);
    const inc = await bindPath(cfg, "/etc/cheetahinc", meta());
    expect(inc.attrs.failure).to.match(/cheetahinc\.cheetah:1: ParseError: #include is not supported/);
    expect(inc.text ?? "").to.not.include("root:");
    expect((await bindPath(cfg, "/etc/cheetahundef", meta())).attrs.failure).to.match(/cheetahundef\.cheetah:2: NotFound: cannot find 'nothing' while searching for 'metadata\.nothing'$/);
  });

  it("prints Python's values and follows Python's semantics where nunjucks did not", async () => {
    const e = await bindPath(cfg, "/etc/python", meta());
    expect(e.attrs.failure).to.equal(undefined);
    expect(e.text).to.equal("None True ['a', 'b'] 2.0 2.0 08 bbb cluster [] 1\n");
  });

  it("refuses a Python method it does not implement with a bind error naming file:line, never other output", async () => {
    const e = await bindPath(cfg, "/etc/unsupported", meta());
    expect(e.attrs.failure).to.match(/unsupported\.jinja2:2: NotImplementedError: str\.encode\(\) is not supported/);
  });
});
