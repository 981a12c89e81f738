// Assembly: template + site file + instance request -> one parameter file per node.
// Binding rules are in hypervisor/README.md; every refusal is CTX_BINDING naming the parameter.
import { createHash, type KeyObject } from "node:crypto";
import type { ContextTemplate, TemplateParam } from "../../protocol/ctx-template.js";
import { VacfgError } from "../../protocol/errors.js";
import type { ParamJson, ParamSignature, ParamValue, ParameterFile } from "../../protocol/params.js";
import { signParameters } from "../../protocol/params-signature.js";
import { ensureCtxSigningKey, loadCtxSigningKey } from "../../server/admin/ctx-signing-key.js";
import { AddressPool } from "./address-pool.js";
import { generate, generatorPhase, newSharedSecret, type DeployNode, type Deployment } from "./generators.js";
import { generateSshHostKey, type SshHostKey } from "./ssh-host-key.js";
import { loadSiteCa, type SiteCa } from "./site-ca.js";
import type { InstanceRequest, SiteFile } from "./site.js";

export interface AssembledNode extends DeployNode {
  /** The node's address from the template's first address-pool parameter, if any. */
  address?: string;
  params: ParameterFile;
  /** The site's signature over params, made for this node's FQDN (when the site has a signing key). */
  signature?: ParamSignature;
  /** True when any parameter the node got is marked secret: deliver with mode 0600, never on a command line. */
  secret: boolean;
  secretNames: string[];
}

/**
 * What a node keeps when its deployment is assembled again with changed parameters (the
 * workspace's update): its address, and the values its generators made (host keys, certificate,
 * secrets), so its identity and the deployment's shared secrets stay as they were.
 */
export interface KeptNode {
  address?: string;
  params: ParameterFile;
}

/** Site values that are not in site.params but in the site file's own fields. */
const SITE_FIELDS: Record<string, (s: SiteFile) => ParamJson | undefined> = {
  DNSServer: (s) => (s.dnsServers.length ? s.dnsServers : undefined),
  domain: (s) => s.domain,
};

function bindErr(p: TemplateParam | string, msg: string): never {
  const name = typeof p === "string" ? p : p.name;
  throw new VacfgError("CTX_BINDING", `Param "${name}": ${msg}`);
}

function shapeOf(v: ParamJson): string {
  if (typeof v === "string") return "value";
  if (!Array.isArray(v)) return typeof v;
  return v.some((i) => typeof i === "object" && i !== null && (i as { name?: unknown }).name !== undefined) ? "named-list" : "list";
}

/** Checks a JSON-form value against the template shape and converts it. */
export function bindValue(p: TemplateParam, v: ParamJson, from: string): ParamValue {
  const got = shapeOf(v);
  const mismatch: () => never = () => bindErr(p, `type mismatch: ${got} given for ${p.shape} (from ${from})`);
  if (p.shape === "value") {
    if (typeof v !== "string") return mismatch();
    return { kind: "value", value: v };
  }
  if (!Array.isArray(v)) return mismatch();
  const arr = v as (string | { name?: unknown; value?: unknown })[];
  if (p.shape === "list") {
    if (got !== "list") mismatch();
    return {
      kind: "list",
      items: arr.map((i) => {
        if (typeof i === "string") return { value: i };
        if (typeof i === "object" && i !== null && typeof i.value === "string") return { value: i.value };
        return bindErr(p, `list item is not a string (from ${from})`);
      }),
    };
  }
  if (got !== "named-list" && arr.length > 0) mismatch();
  return {
    kind: "list",
    items: arr.map((i) => {
      if (typeof i !== "object" || i === null || typeof i.name !== "string" || typeof i.value !== "string") {
        return bindErr(p, `type mismatch: named-list items need {name, value} (from ${from})`);
      }
      return { name: i.name, value: i.value };
    }),
  };
}

function nodeList(site: SiteFile, req: InstanceRequest): DeployNode[] {
  let names: string[];
  if (req.names && req.names.length) names = req.names;
  else if (req.count) names = Array.from({ length: req.count }, (_, i) => `${req.prefix ?? "node"}${i + 1}`);
  else throw new VacfgError("CTX_BINDING", "instance request: give names or count");
  const seen = new Set<string>();
  const macs = new Set<string>();
  return names.map((name) => {
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9-]{1,63})*$/.test(name)) {
      throw new VacfgError("CTX_BINDING", `instance request: "${name}" is not a host name`);
    }
    if (seen.has(name)) throw new VacfgError("CTX_BINDING", `instance request: node "${name}" given twice`);
    seen.add(name);
    const fqdn = name.includes(".") ? name : `${name}.${site.domain}`;
    const mac = (req.macs?.[name] ?? stableMac(fqdn)).toLowerCase();
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) throw new VacfgError("CTX_BINDING", `instance request: macs.${name}: "${mac}" is not a MAC`);
    if (macs.has(mac)) throw new VacfgError("CTX_BINDING", `instance request: MAC ${mac} given to two nodes`);
    macs.add(mac);
    return { name: name.split(".")[0], fqdn, mac };
  });
}

/** A locally administered MAC (52:54:00 prefix, as QEMU uses) derived from the node name, stable across runs. */
export function stableMac(fqdn: string): string {
  const h = createHash("sha256").update(fqdn).digest();
  return ["52", "54", "00", ...[h[0], h[1], h[2]].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

/**
 * Binds every template parameter for every node. `kept` (by FQDN): nodes assembled before, whose
 * address and generated values are reused; what the request gives explicitly still wins.
 */
export function assemble(template: ContextTemplate, site: SiteFile, req: InstanceRequest, kept?: ReadonlyMap<string, KeptNode>): AssembledNode[] {
  const known = new Set(template.params.map((p) => p.name));
  const reqParams: Record<string, ParamJson> = { ...(req.users ? { users: req.users } : {}), ...(req.params ?? {}) };
  for (const name of Object.keys(reqParams)) if (!known.has(name)) bindErr(name, `unknown parameter (not in template ${template.appliance})`);
  for (const [node, ps] of Object.entries(req.nodeParams ?? {})) {
    for (const name of Object.keys(ps)) if (!known.has(name)) bindErr(name, `unknown parameter in nodeParams.${node} (not in template ${template.appliance})`);
  }
  const nodes = nodeList(site, req);
  for (const n of Object.keys(req.nodeParams ?? {})) {
    if (!nodes.some((d) => d.name === n || d.fqdn === n)) throw new VacfgError("CTX_BINDING", `instance request: nodeParams.${n}: no such node`);
  }

  const pools = new Map<string, AddressPool>();
  for (const [name, spec] of Object.entries(site.pools)) {
    const pl = new AddressPool(name, spec);
    for (const ip of req.reservedAddresses ?? []) pl.reserve(ip);
    pools.set(name, pl);
  }
  const firstPoolParam = template.params.find((p) => p.generator === "address-pool" && p.shape === "value");
  let ca: SiteCa | undefined;
  const hostKeys = new Map<string, SshHostKey>();
  const secrets = new Map<string, string>();
  const deployment: Deployment = {
    nodes,
    pools,
    primaryAddress: (n) => (firstPoolParam ? pools.get(firstPoolParam.pool!)?.addressFor(n.fqdn) : undefined),
    siteCa: () => {
      if (!ca) {
        if (!site.ca) throw new VacfgError("CTX_BINDING", "site file has no ca {cert, key}, needed for host certificates");
        ca = loadSiteCa(site.ca.cert, site.ca.key);
      }
      return ca;
    },
    sshHostKey: (n) => {
      let k = hostKeys.get(n.fqdn);
      if (!k) hostKeys.set(n.fqdn, (k = keptHostKey(template, kept?.get(n.fqdn)) ?? generateSshHostKey(`root@${n.fqdn}`)));
      return k;
    },
    sharedSecret: (param) => {
      let v = secrets.get(param);
      if (v === undefined) secrets.set(param, (v = newSharedSecret()));
      return v;
    },
  };
  for (const p of template.params) {
    if (p.generator === "address-pool" && !pools.has(p.pool!)) bindErr(p, `site has no address pool "${p.pool}"`);
  }
  // Kept addresses, then the others in node order, so node i always gets the i-th free address of each pool.
  if (firstPoolParam) {
    for (const n of nodes) {
      const ip = kept?.get(n.fqdn)?.address;
      if (ip) pools.get(firstPoolParam.pool!)!.assign(n.fqdn, ip);
    }
    for (const n of nodes) deployment.primaryAddress(n);
  }

  let signingKey: KeyObject | undefined;
  if (site.signingKey) {
    ensureCtxSigningKey(site.signingKey);
    signingKey = loadCtxSigningKey(site.signingKey);
  }
  const order = [...template.params].sort((a, b) => generatorPhase(a.generator) - generatorPhase(b.generator));
  return nodes.map((node) => {
    const nodeOwn = req.nodeParams?.[node.name] ?? req.nodeParams?.[node.fqdn] ?? {};
    const bound = new Map<string, ParamValue>();
    for (const p of order) {
      const v = bindOne(p, node, site, reqParams, nodeOwn, deployment, kept?.get(node.fqdn)?.params);
      if (v) bound.set(p.name, v);
    }
    // The file lists parameters in template order, whatever order they were generated in.
    const params: ParameterFile = new Map();
    for (const p of template.params) {
      const v = bound.get(p.name);
      if (v) params.set(p.name, v);
    }
    const secretNames = template.params.filter((p) => p.secret && params.has(p.name)).map((p) => p.name);
    const address = firstPoolParam ? deployment.primaryAddress(node) : undefined;
    const signature = signingKey ? signParameters(params, node.fqdn, signingKey) : undefined;
    return { ...node, ...(address ? { address } : {}), params, ...(signature ? { signature } : {}), secret: secretNames.length > 0, secretNames };
  });
}

function bindOne(
  p: TemplateParam,
  node: DeployNode,
  site: SiteFile,
  reqParams: Record<string, ParamJson>,
  nodeOwn: Record<string, ParamJson>,
  d: Deployment,
  kept: ParameterFile | undefined,
): ParamValue | undefined {
  // Most specific first: this node's value, the deployment's value, then the binding's own source.
  if (nodeOwn[p.name] !== undefined) return bindValue(p, nodeOwn[p.name], `nodeParams.${node.name}`);
  if (reqParams[p.name] !== undefined) return bindValue(p, reqParams[p.name], "instance request");
  if (p.binding === "site") {
    const v = site.params?.[p.name] ?? SITE_FIELDS[p.name]?.(site);
    if (v !== undefined) return bindValue(p, v, "site file");
  } else if (p.generator) {
    return kept?.get(p.name) ?? generate(p, node, d);
  }
  if (p.default !== undefined) return { kind: "value", value: p.default };
  if (p.required) bindErr(p, `required ${p.binding} parameter has no value (for ${node.fqdn})`);
  return undefined;
}

/** A kept node's ssh host key (named-list form: private and public), for the parameters generated anew beside it. */
function keptHostKey(template: ContextTemplate, kept: KeptNode | undefined): SshHostKey | undefined {
  const p = template.params.find((t) => t.generator === "ssh-host-key" && t.shape === "named-list");
  const v = p && kept?.params.get(p.name);
  if (v?.kind !== "list") return undefined;
  const privateKey = v.items.find((i) => i.name === "private")?.value;
  const publicKey = v.items.find((i) => i.name === "public")?.value;
  return privateKey && publicKey ? { privateKey, publicKey } : undefined;
}
