// current_bdiff must be what upstream's client sends: compared with Python's difflib on the same inputs.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { bcfg2Bdiff } from "../../agent/unified-diff.js";

function pythonBdiff(name: string, a: string, b: string): string {
  const script = `import sys,json,difflib,base64
d=json.load(sys.stdin)
diff=list(difflib.unified_diff(d["a"].split("\\n"), d["b"].split("\\n"), fromfile=d["n"]+" (on disk)", tofile=d["n"]+" (from bcfg2)"))
print(base64.b64encode("\\n".join(diff).encode()).decode() if diff else "", end="")`;
  return execFileSync("/usr/bin/python3", ["-c", script], { input: JSON.stringify({ n: name, a, b }), encoding: "utf8" });
}

function randomText(rng: () => number, lines: number, vocab: number): string {
  return Array.from({ length: lines }, () => `line ${Math.floor(rng() * vocab)}`).join("\n") + (rng() < 0.5 ? "\n" : "");
}

describe("agent unified diff (current_bdiff)", () => {
  it("matches Python difflib byte for byte on the recorded /etc/hosts case", () => {
    const a = "127.0.0.1 localhost\n127.0.0.1 runsc\n127.0.0.1 vm\n";
    const b = "127.0.0.1\tlocalhost\n10.99.0.10\tnode0.cluster.lab node0\t# this host\n";
    expect(bcfg2Bdiff("/etc/hosts", a, b)).to.equal(pythonBdiff("/etc/hosts", a, b));
  });

  it("matches Python difflib on 150 random edits, including long files where difflib's autojunk applies", () => {
    let seed = 42;
    const rng = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 150; i++) {
      const big = i % 10 === 0;
      const a = randomText(rng, big ? 400 : Math.floor(rng() * 30), big ? 5 : 8);
      const lines = a.split("\n");
      for (let k = 0; k < 1 + Math.floor(rng() * 6); k++) {
        const at = Math.floor(rng() * (lines.length + 1));
        if (rng() < 0.5) lines.splice(at, 1);
        else lines.splice(at, 0, `new ${Math.floor(rng() * 5)}`);
      }
      const b = lines.join("\n");
      expect(bcfg2Bdiff("/etc/x", a, b), `case ${i}`).to.equal(pythonBdiff("/etc/x", a, b));
    }
  });

  it("is empty for equal contents", () => {
    expect(bcfg2Bdiff("/etc/x", "same\n", "same\n")).to.equal("");
  });
});
