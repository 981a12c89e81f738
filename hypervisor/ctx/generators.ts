// Instance-value generators a template can name: each makes one parameter value for one node
// from the deployment (all nodes, their assigned addresses, the site CA).
import { randomBytes } from "node:crypto";
import type { GeneratorName, TemplateParam } from "../../protocol/ctx-template.js";
import { VacfgError } from "../../protocol/errors.js";
import type { ParamValue } from "../../protocol/params.js";
import type { AddressPool } from "./address-pool.js";
import { issueHostCertificate, type SiteCa } from "./site-ca.js";
import type { SshHostKey } from "./ssh-host-key.js";

export interface DeployNode {
  /** Short name, e.g. node1 */
  name: string;
  /** node1.cluster */
  fqdn: string;
  mac: string;
}

export interface Deployment {
  nodes: DeployNode[];
  pools: Map<string, AddressPool>;
  /** The address the host certificate's SAN carries: the node's address in the template's first address-pool param. */
  primaryAddress(node: DeployNode): string | undefined;
  /** Loaded on first use, so sites without host certificates need no CA. */
  siteCa(): SiteCa;
  /** The node's ssh host key, made once per node: its own key parameter and every node's known-hosts list agree. */
  sshHostKey(node: DeployNode): SshHostKey;
  /** One value per parameter for the whole deployment (the same on every node), made on first use. */
  sharedSecret(param: string): string;
}

type Generator = (p: TemplateParam, node: DeployNode, d: Deployment) => ParamValue;

function pool(p: TemplateParam, d: Deployment): AddressPool {
  const pl = d.pools.get(p.pool!);
  if (!pl) throw new VacfgError("CTX_BINDING", `Param "${p.name}": site has no address pool "${p.pool}"`);
  return pl;
}

const GENERATORS: Record<GeneratorName, Generator> = {
  "address-pool": (p, node, d) => {
    const pl = pool(p, d);
    if (p.shape === "value") return { kind: "value", value: pl.addressFor(node.fqdn) };
    // list / named-list: every node's address, for /etc/hosts-like files
    return {
      kind: "list",
      items: d.nodes.map((n) => (p.shape === "named-list" ? { name: n.fqdn, value: pl.addressFor(n.fqdn) } : { value: pl.addressFor(n.fqdn) })),
    };
  },
  nodenames: (_p, _node, d) => ({ kind: "list", items: d.nodes.map((n) => ({ value: n.fqdn })) }),
  "node-name": (_p, node) => ({ kind: "value", value: node.fqdn }),
  "host-certificate": (p, node, d) => {
    const ip = d.primaryAddress(node);
    const ca = d.siteCa();
    const hc = issueHostCertificate(ca, { commonName: node.fqdn, dnsNames: [node.fqdn], ips: ip ? [ip] : [] });
    if (p.shape === "value") return { kind: "value", value: hc.certPem + hc.keyPem };
    return {
      kind: "list",
      items: [
        { name: "cert", value: hc.certPem },
        { name: "key", value: hc.keyPem },
        { name: "ca", value: ca.certPem },
      ],
    };
  },
  "ssh-host-key": (p, node, d) => {
    const k = d.sshHostKey(node);
    if (p.shape === "value") return { kind: "value", value: k.privateKey };
    return { kind: "list", items: [{ name: "private", value: k.privateKey }, { name: "public", value: k.publicKey }] };
  },
  // every node's public host key, so known_hosts lists the whole deployment on the first run
  "ssh-known-hosts": (_p, _node, d) => ({ kind: "list", items: d.nodes.map((n) => ({ name: n.fqdn, value: d.sshHostKey(n).publicKey.trim() })) }),
  // 18 random bytes -> 24 base64url characters: 144 bits, no shell- or XML-hostile characters
  "random-password": () => ({ kind: "value", value: randomBytes(18).toString("base64url") }),
  // the same on every node (e.g. the MUNGE key: 48 random bytes -> 64 characters, above munged's 32-byte minimum)
  "shared-secret": (p, _node, d) => ({ kind: "value", value: d.sharedSecret(p.name) }),
};

/** 48 random bytes as 64 base64url characters. */
export function newSharedSecret(): string {
  return randomBytes(48).toString("base64url");
}

export function generate(p: TemplateParam, node: DeployNode, d: Deployment): ParamValue {
  return GENERATORS[p.generator!](p, node, d);
}

/** Generators whose output depends on other generated values run after those (certificates need the address). */
export function generatorPhase(g: GeneratorName | undefined): number {
  if (g === "address-pool") return 0;
  if (g === "host-certificate") return 2;
  return 1;
}
