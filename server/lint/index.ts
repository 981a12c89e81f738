// Repository lint: validates every repository file against its XSD (schemas/) and
// checks templates and cross-file references.  Entry points for the CLI and tests.
export { lintRepository, type LintOptions } from "./lint-repository.js";
export { runLint, type RunLintOptions } from "./run-lint.js";
export { formatProblem, type LintCode, type LintProblem } from "./problem.js";
export { runLibxml, loadSchemaDir, type LibxmlMessage, type SchemaSet, type XmlDocument } from "./libxml.js";
export { defaultSchemaDir } from "./schema-dir.js";
