// The site file (what a site knows: domain, DNS, address pools, CA, parameter signing key) and the instance request
// (what one deployment asks for: nodes, users, overrides). Both are JSON; see hypervisor/README.md.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { CTX_SIGNING_KEY } from "../../server/admin/ctx-signing-key.js";
import { VacfgError } from "../../protocol/errors.js";
import type { ParamJson } from "../../protocol/params.js";
import { AddressPool, type PoolSpec } from "./address-pool.js";

export interface SiteFile {
  domain: string;
  dnsServers: string[];
  pools: Record<string, PoolSpec>;
  /** PEM paths; relative paths are resolved against the site file's directory by loadSiteFile. */
  ca?: { cert: string; key: string };
  /**
   * Ed25519 private key (PEM path) that signs every parameter file, created when missing; loadSiteFile
   * defaults it to ctx-signing.key beside the site file. Without one, files go out unsigned.
   */
  signingKey?: string;
  /** Any other site-bound values, in the parameter file's JSON form. */
  params?: Record<string, ParamJson>;
}

export interface InstanceRequest {
  /** Either explicit node names ... */
  names?: string[];
  /** ... or count nodes named prefix1..prefixN (prefix defaults to "node"). */
  count?: number;
  prefix?: string;
  /** users as a named list (name -> ssh key or password hash); shorthand for params.users. */
  users?: { name: string; value: string }[];
  /** Values for instance-bound (or overriding site-bound) parameters, JSON form. */
  params?: Record<string, ParamJson>;
  /** Per-node values, node name -> params (win over params). */
  nodeParams?: Record<string, Record<string, ParamJson>>;
  /** Node name -> MAC address (for DHCP); missing ones get a stable locally administered MAC. */
  macs?: Record<string, string>;
  /** Addresses already in use on the site, never assigned. */
  reservedAddresses?: string[];
}

function bad(where: string, msg: string): never {
  throw new VacfgError("CTX_BINDING", `${where}: ${msg}`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function strArray(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) bad(where, "expected an array of strings");
  return v as string[];
}

/** Validates a parsed site file; `source` names it in errors. */
export function validateSiteFile(raw: unknown, source = "site file"): SiteFile {
  if (!isObj(raw)) bad(source, "expected a JSON object");
  const domain = raw.domain;
  if (typeof domain !== "string" || domain === "") bad(`${source}: domain`, "expected a non-empty string");
  const dnsServers = raw.dnsServers === undefined ? [] : strArray(raw.dnsServers, `${source}: dnsServers`);
  const pools: Record<string, PoolSpec> = {};
  if (raw.pools !== undefined) {
    if (!isObj(raw.pools)) bad(`${source}: pools`, "expected an object of name -> {cidr, range?, gateway?, reserved?}");
    for (const [name, p] of Object.entries(raw.pools)) {
      const w = `${source}: pools.${name}`;
      if (!isObj(p) || typeof p.cidr !== "string") bad(w, "needs cidr");
      const spec: PoolSpec = { cidr: p.cidr };
      if (p.range !== undefined) {
        const r = strArray(p.range, `${w}.range`);
        if (r.length !== 2) bad(`${w}.range`, "expected [first, last]");
        spec.range = [r[0], r[1]];
      }
      if (p.gateway !== undefined) {
        if (typeof p.gateway !== "string") bad(`${w}.gateway`, "expected a string");
        spec.gateway = p.gateway;
      }
      if (p.reserved !== undefined) spec.reserved = strArray(p.reserved, `${w}.reserved`);
      try {
        new AddressPool(name, spec); // checks cidr, range and reserved addresses now, not at assembly
      } catch (err) {
        bad(w, (err as Error).message);
      }
      pools[name] = spec;
    }
  }
  const site: SiteFile = { domain, dnsServers, pools };
  if (raw.ca !== undefined) {
    if (!isObj(raw.ca) || typeof raw.ca.cert !== "string" || typeof raw.ca.key !== "string") bad(`${source}: ca`, "expected {cert, key} PEM paths");
    site.ca = { cert: raw.ca.cert, key: raw.ca.key };
  }
  if (raw.params !== undefined) {
    if (!isObj(raw.params)) bad(`${source}: params`, "expected an object");
    site.params = raw.params as Record<string, ParamJson>;
  }
  if (raw.signingKey !== undefined) {
    if (typeof raw.signingKey !== "string" || raw.signingKey === "") bad(`${source}: signingKey`, "expected a PEM path");
    site.signingKey = raw.signingKey;
  }
  return site;
}

/** Reads a site file (JSON) and resolves the CA and signing key paths against its directory. */
export function loadSiteFile(path: string): SiteFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    bad(path, `cannot read site file: ${(err as Error).message}`);
  }
  const site = validateSiteFile(raw, path);
  if (site.ca) site.ca = { cert: resolve(dirname(path), site.ca.cert), key: resolve(dirname(path), site.ca.key) };
  site.signingKey = resolve(dirname(path), site.signingKey ?? CTX_SIGNING_KEY);
  return site;
}

export function validateInstanceRequest(raw: unknown, source = "instance request"): InstanceRequest {
  if (!isObj(raw)) bad(source, "expected a JSON object");
  const req: InstanceRequest = {};
  if (raw.names !== undefined) req.names = strArray(raw.names, `${source}: names`);
  if (raw.count !== undefined) {
    if (!Number.isInteger(raw.count) || (raw.count as number) < 1 || (raw.count as number) > 4096) bad(`${source}: count`, "expected an integer 1..4096");
    req.count = raw.count as number;
  }
  if (raw.prefix !== undefined) {
    if (typeof raw.prefix !== "string" || !/^[a-z][a-z0-9-]*$/i.test(raw.prefix)) bad(`${source}: prefix`, "expected a host name prefix");
    req.prefix = raw.prefix;
  }
  if (raw.users !== undefined) {
    if (!Array.isArray(raw.users) || raw.users.some((u) => !isObj(u) || typeof u.name !== "string" || typeof u.value !== "string")) {
      bad(`${source}: users`, "expected [{name, value}]");
    }
    req.users = raw.users as { name: string; value: string }[];
  }
  if (raw.params !== undefined) {
    if (!isObj(raw.params)) bad(`${source}: params`, "expected an object");
    req.params = raw.params as Record<string, ParamJson>;
  }
  if (raw.nodeParams !== undefined) {
    if (!isObj(raw.nodeParams) || Object.values(raw.nodeParams).some((v) => !isObj(v))) bad(`${source}: nodeParams`, "expected node -> {param: value}");
    req.nodeParams = raw.nodeParams as Record<string, Record<string, ParamJson>>;
  }
  if (raw.macs !== undefined) {
    if (!isObj(raw.macs) || Object.values(raw.macs).some((v) => typeof v !== "string")) bad(`${source}: macs`, "expected node -> MAC");
    req.macs = raw.macs as Record<string, string>;
  }
  if (raw.reservedAddresses !== undefined) req.reservedAddresses = strArray(raw.reservedAddresses, `${source}: reservedAddresses`);
  return req;
}

export function loadInstanceRequest(path: string): InstanceRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    bad(path, `cannot read instance request: ${(err as Error).message}`);
  }
  return validateInstanceRequest(raw, path);
}
