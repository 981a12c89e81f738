// lib/module-closure: the import scanner reads code, not comments (an example import in a comment
// made `npm run package` and every appliance build look for an npm package "x").
import { expect } from "chai";
import { importSpecifiers } from "../../lib/module-closure.js";

describe("lib: module closure", () => {
  it("finds static, side-effect and dynamic imports and skips those written in comments", () => {
    const text = [
      '// Static `import … from "x"` and literal `import("y")` are examples, not imports.',
      "/**",
      ' * import { z } from "z";',
      " */",
      'import { a } from "./a.js";',
      'export { b } from "pkg-b";',
      'import "side-effect";',
      'const c = await import("./c.js");',
    ].join("\n");
    expect(importSpecifiers(text)).to.deep.equal(["./a.js", "pkg-b", "side-effect", "./c.js"]);
  });
});
