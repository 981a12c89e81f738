// The contextualization entry points: `vacfg ctx assemble` (assembleCommand) and re-exports
// of assembly and the delivery modules, so callers import one place.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseContextTemplate } from "../../protocol/ctx-template.js";
import { serializeParameterFile } from "../../protocol/params.js";
import { assemble, type AssembledNode } from "./assemble.js";
import { loadInstanceRequest, loadSiteFile } from "./site.js";
import { writeFileAtomic } from "../../lib/atomic-file.js";

export { assemble, bindValue, stableMac, type AssembledNode } from "./assemble.js";
export { loadSiteFile, loadInstanceRequest, validateSiteFile, validateInstanceRequest, type SiteFile, type InstanceRequest } from "./site.js";
export { createSiteCa, writeSiteCa, loadSiteCa, issueHostCertificate } from "./site-ca.js";
export { generateSshHostKey } from "./ssh-host-key.js";
export { buildKernelCmdline, CMDLINE_LIMITS, type CmdlineTarget } from "./cmdline.js";
export { dnsmasqConfig, dhcpNodesFrom, CTX_DHCP_OPTION, type DhcpPolicy, type DhcpNode } from "./dhcp.js";
export { noCloudSeed, buildNoCloudVolume, type NoCloudSeed, type NoCloudOptions } from "./nocloud.js";

export interface AssembleCommandOptions {
  /** Paths of the appliance's context template (XML), the site file and the instance request (JSON). */
  template: string;
  site: string;
  request: string;
  outDir: string;
}

export interface AssembleCommandResult {
  nodes: AssembledNode[];
  /** One parameter file per node: <outDir>/<fqdn>.xml */
  files: string[];
  /** <outDir>/nodes.json: name, fqdn, mac, address, secret and file of each node, for DHCP and boot drivers. */
  manifest: string;
}

function writeAtomic(path: string, data: string, mode: number): void {
  writeFileAtomic(path, data, { mode });
}

/**
 * `vacfg ctx assemble`: binds everything first (any CTX_BINDING error stops before a file is
 * written), then writes each node's file (0600 when it holds a secret) and the manifest.
 */
export function assembleCommand(opts: AssembleCommandOptions): AssembleCommandResult {
  const template = parseContextTemplate(readFileSync(opts.template, "utf8"), opts.template);
  const nodes = assemble(template, loadSiteFile(opts.site), loadInstanceRequest(opts.request));
  mkdirSync(opts.outDir, { recursive: true });
  const files = nodes.map((n) => {
    const f = join(opts.outDir, `${n.fqdn}.xml`);
    writeAtomic(f, serializeParameterFile(n.params, n.signature), n.secret ? 0o600 : 0o644);
    return f;
  });
  const manifest = join(opts.outDir, "nodes.json");
  const summary = nodes.map((n, i) => ({ name: n.name, fqdn: n.fqdn, mac: n.mac, address: n.address, secret: n.secret, file: files[i] }));
  writeAtomic(manifest, JSON.stringify({ appliance: template.appliance, nodes: summary }, null, 2) + "\n", 0o644);
  return { nodes, files, manifest };
}
