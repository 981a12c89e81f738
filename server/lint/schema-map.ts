// Which schema validates which repository file: the table of upstream bcfg2-lint's
// Validate plugin, restricted to the plugins vacfg serves.

export interface SchemaRule {
  /** Matches a repository-relative path with forward slashes. */
  pattern: RegExp;
  /**
   * Schema file name in schemas/; or "properties" (a sibling Properties/X.xsd first, as
   * upstream, else properties.xsd); or "metadata-by-root" (Groups or Clients root).
   */
  schema: string;
}

export const SCHEMA_RULES: readonly SchemaRule[] = [
  { pattern: /^Metadata\/groups\.xml$/, schema: "metadata.xsd" },
  { pattern: /^Metadata\/clients\.xml$/, schema: "clients.xsd" },
  // Other Metadata XML is XIncluded into groups.xml or clients.xml: chosen by root element.
  { pattern: /^Metadata\/.+\.xml$/, schema: "metadata-by-root" },
  { pattern: /^Bundler\/[^/]+\.xml$/, schema: "bundle.xsd" },
  { pattern: /^Rules\/[^/]+\.xml$/, schema: "rules.xsd" },
  { pattern: /^Defaults\/[^/]+\.xml$/, schema: "defaults.xsd" },
  { pattern: /^Decisions\/[^/]+\.xml$/, schema: "decisions.xsd" },
  { pattern: /^(Cfg|SSHbase)\/(.+\/)?info\.xml$/, schema: "info.xsd" },
  { pattern: /^Properties\/[^/]+\.xml$/, schema: "properties" },
  { pattern: /^GroupPatterns\/config\.xml$/, schema: "grouppatterns.xsd" },
  { pattern: /^Packages\/sources\.xml$/, schema: "packages.xsd" },
  // vacfg's Context plugin (server/plugins/context.ts).
  { pattern: /^Context\/groups\.xml$/, schema: "context.xsd" },
  { pattern: /^Context\/files\.xml$/, schema: "contextfiles.xsd" },
];

/**
 * Cfg generator files that are XML but have no vacfg schema (upstream has privkey.xsd
 * etc.): they are checked for well-formedness and DOCTYPE only.
 */
const CFG_XML_GENERATORS = /^Cfg\/.+\/(privkey|pubkey|authorizedkeys|authorized_keys|sslcert|sslkey)\.xml$/;

export function schemaFor(relPath: string): string | undefined {
  return SCHEMA_RULES.find((r) => r.pattern.test(relPath))?.schema;
}

/** Is this file repository XML that lint must parse (with or without a schema)? */
export function isRepositoryXml(relPath: string): boolean {
  return schemaFor(relPath) !== undefined || CFG_XML_GENERATORS.test(relPath);
}
