// Macros defined inside a for loop or `with` block, called from another iteration or after the
// block has ended: what Jinja2's compiled code shows there (one set of locals per loop, reset to
// `missing` when it ends; scopes.ts), rendered by python3-jinja2 and by vacfg's engine from the
// same files: byte-identical output, or the same kind of error.
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderWithPython, renderWithVacfg, type Rendered } from "./jinja2-differential.js";

const CASES = [
  "{% for x in [1,2] %}{% macro m() %}[{{ x }}]{% endmacro %}{% set f = m %}{% endfor %}|{{ f() if f is defined else 'missing' }}|",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{% endfor %}|{{ ns.f() }}|",
  "{% macro outer() %}{% for x in [1,2] %}{% macro m() %}[{{ x }}]{% endmacro %}{% endfor %}{{ m() if m is defined else 'missing' }}{% endmacro %}{{ outer() }}",
  "{% for x in [1,2] %}{% macro m(y=x) %}[{{ y }}]{% endmacro %}{% endfor %}{% for z in [0] %}{{ m() if m is defined else 'missing' }}{% endfor %}",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% set y = x * 10 %}{% macro m() %}[{{ y }}]{% endmacro %}{% set ns.f = m %}{% endfor %}|{{ ns.f() }}|",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% macro m() %}[{{ x is defined }}|{{ x ~ 'a' }}]{% endmacro %}{% set ns.f = m %}{% endfor %}|{{ ns.f() }}|",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% macro m() %}[{{ loop.index }}]{% endmacro %}{% set ns.f = m %}{% endfor %}|{{ ns.f() }}|",
  "{% set ns = namespace(f=none) %}{% set x = 7 %}{% for x in [1,2] %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{% endfor %}|{{ ns.f() }}|",
  "{% set ns = namespace(f=none) %}{% if true %}{% set x = 3 %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{% endif %}{% set x = 4 %}|{{ ns.f() }}|",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{{ ns.f() }}{% endfor %}",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% for z in [x] %}{% macro m() %}[{{ z }}{{ x }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{{ ns.f() }}{% endfor %}|{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% if x == 1 %}{% macro m() %}[{{x}}]{% endmacro %}{% set ns.f = m %}{% endif %}{{ ns.f() }}{% endfor %}",
  "{% set y = 7 %}{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% macro m() %}[{{ y }}]{% endmacro %}{% set ns.f = m %}{% if x == 2 %}{% set y = x %}{% endif %}{% endfor %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{% else %}{% endfor %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] recursive %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for x in [1] %}{{ z }}{% macro m() %}[{{ z }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for x in [1] %}{% macro m() %}[{{ z }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for a, b in [(1,2)] %}{% macro m() %}[{{ a }}{{ b }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% set w = 3 %}{% for x in [1] %}{{ w }}{% macro m() %}[{{ w }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for x in [1] %}{% set q = 1 %}{% macro m() %}[{{ q is defined }}{{ loop is defined }}{{ x is defined }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{% for x in [9] %}{% endfor %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] if x > 1 %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% macro outer() %}{% for x in [1,2] %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{{ ns.f() }}{% endmacro %}{{ outer() }}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for x in [1] %}{% macro m() %}[{{ x | upper }}{{ x.foo }}{{ x|length }}{{ x == 'missing' }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for x in [1] %}{% macro m() %}[{{ x }}{{ (x, 1) }}{{ [x] }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for x in [1] %}{{ w }}{% macro m() %}[{{ w }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{% set w = 4 %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for x in [1] %}{% macro m() %}[{{ m2() }}]{% endmacro %}{% macro m2() %}{{ x }}{% endmacro %}{% set ns.f = m %}{% endfor %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for x in [1] %}{% with y = x %}{% macro m() %}[{{ x }}{{ y }}]{% endmacro %}{% set ns.f = m %}{% endwith %}{% endfor %}{{ ns.f() }}",
  // Sibling scopes at one depth of one compiled function share its locals (`l_1_x`): a macro made
  // in one loop sees what a later loop or `with` assigns to a name both own, and `missing` again
  // after it; not a loop inside a macro (another function), nor one at another depth.
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{% for x in [7,8] %}{{ ns.f() }}{{ x }}{% endfor %}{{ ns.f() }}",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{% for y in [7,8] %}{{ ns.f() }}{% endfor %}",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% set y = x %}{% macro m() %}[{{ y }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{% for x in [7,8] %}{% set y = x * 2 %}{{ ns.f() }}{% endfor %}",
  "{% set ns = namespace(f=none) %}{% with x = 1 %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{% endwith %}{% with x = 2 %}{{ ns.f() }}{% endwith %}{% for x in [3] %}{{ ns.f() }}{% endfor %}",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{% macro n() %}{% for x in [5] %}{{ ns.f() }}{% endfor %}{% endmacro %}{{ n() }}",
  "{% set ns = namespace(f=none) %}{% for a in [1] %}{% for x in [1,2] %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{% for x in [3] %}{{ ns.f() }}{% endfor %}{% endfor %}{% for x in [4] %}{{ ns.f() }}{% endfor %}",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% macro m() %}[{{ x }}{{ loop.index }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{% for q in [3] %}{{ ns.f() }}{% endfor %}{% for q in [4, 5] %}{{ loop.index }}{{ ns.f() }}{% endfor %}",
  "{% set ns = namespace(f=none) %}{% for x in [1,2] %}{% macro m() %}[{{ x }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{% filter upper %}{% for x in ['b'] %}{{ ns.f() }}{% endfor %}{% endfilter %}{% for x in ['c'] recursive %}{{ ns.f() }}{% endfor %}",
  "{% set ns = namespace(f=none) %}{% set z = 'outer' %}{% for x in [1] %}{% set z = 'mine' %}{% macro m() %}[{{ z }}]{% endmacro %}{% set ns.f = m %}{% endfor %}{% for x in [2] %}{{ z }}{{ ns.f() }}{% set z = 'two' %}{{ ns.f() }}{% endfor %}{{ z }}{{ ns.f() }}",
  // an include with context inside such a loop sees its variables (part.j2 prints x and y)
  "{% for x in [1,2] %}{% set y = x * 3 %}{% macro m() %}[{{ y }}]{% endmacro %}{% include 'part.j2' %}{{ m() }}{% endfor %}",
  // As a site might write it: one macro per interface made in a loop, kept in a namespace and
  // called after the loop (each prints the last interface's values in a naive closure).
  "{% set ns = namespace(stanzas=[]) %}{% for iface in ifaces %}{% set addr = iface.addr %}{% macro stanza() %}iface {{ iface.name }} {{ addr }} {{ loop.index }}\n{% endmacro %}{% set ns.stanzas = ns.stanzas + [stanza] %}{{ stanza() }}{% endfor %}{% for s in ns.stanzas %}{{ s() }}{% endfor %}",
];

function kind(r: Rendered): string {
  return "out" in r ? JSON.stringify(r.out) : `error ${r.error.split(":")[0]}`;
}

describe("Jinja2 scopes: macros made in loops and with blocks, as python3-jinja2 renders them", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-jinja2-scopes-"));
    writeFileSync(join(dir, "part.j2"), "<{{ x }}{{ y }}>");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("renders each case as Python's Jinja2 does", () => {
    const templates = CASES.map((src, i) => {
      const path = join(dir, `case${i + 1}.jinja2`);
      writeFileSync(path, src);
      return { path, name: `/etc/case${i + 1}` };
    });
    const vars = { z: 5, ifaces: [{ name: "eth0", addr: "10.1.0.1" }, { name: "eth1", addr: "10.2.0.1" }] };
    const py = renderWithPython(templates, vars, dir);
    const ours = renderWithVacfg(templates, vars, dir);
    const diffs = templates
      .map((t, i) => (kind(py[i]!) === kind(ours[i]!) ? "" : `${t.name}: ${CASES[i]}\n  python: ${kind(py[i]!)}\n  vacfg:  ${kind(ours[i]!)}`))
      .filter((d) => d);
    expect(diffs, diffs.join("\n")).to.deep.equal([]);
    // The cases exercise what they are about: Jinja2's "missing" sentinel and its Undefined after a loop.
    expect(py.filter((r) => "out" in r && r.out.includes("missing")).length).to.be.at.least(10);
    expect(py.filter((r) => "error" in r).length).to.be.at.most(3);
  });
});
