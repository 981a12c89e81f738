// Checking a deployment request from the API or the CLI before anything is leased or written:
// every refusal is WORKSPACE_REQUEST naming the field.
import { DELIVERIES, type Delivery } from "../../protocol/ctx-delivery.js";
import { VacfgError } from "../../protocol/errors.js";
import { validateInstanceRequest } from "../ctx/site.js";
import type { DeployRequest, GuestFileSpec, Resources } from "./types.js";

const NAME = /^[a-z0-9][a-z0-9-]{0,30}$/;

function bad(field: string, why: string): never {
  throw new VacfgError("WORKSPACE_REQUEST", `${field}: ${why}`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) bad(field, `must be an integer ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
}

export function validateResources(v: unknown, field: string): Partial<Resources> {
  if (!isObj(v)) bad(field, "must be an object {memoryMiB, vcpus, cpuWeight, cpuCap}");
  const out: Partial<Resources> = {};
  for (const k of Object.keys(v)) if (!["memoryMiB", "vcpus", "cpuWeight", "cpuCap"].includes(k)) bad(`${field}.${k}`, "unknown field");
  if (v.memoryMiB !== undefined) out.memoryMiB = int(v.memoryMiB, `${field}.memoryMiB`, 32, 1 << 20);
  if (v.vcpus !== undefined) out.vcpus = int(v.vcpus, `${field}.vcpus`, 1, 512);
  if (v.cpuWeight !== undefined) out.cpuWeight = int(v.cpuWeight, `${field}.cpuWeight`, 1, 65535);
  if (v.cpuCap !== undefined) out.cpuCap = int(v.cpuCap, `${field}.cpuCap`, 0, 51200);
  return out;
}

function files(v: unknown, field: string): GuestFileSpec[] {
  if (!Array.isArray(v)) bad(field, "must be an array of {path, content, mode?}");
  return v.map((f, i) => {
    const w = `${field}[${i}]`;
    if (!isObj(f) || typeof f.path !== "string" || typeof f.content !== "string") bad(w, "needs path and content strings");
    if (!f.path.startsWith("/") || f.path.split("/").includes("..")) bad(`${w}.path`, "must be absolute without '..'");
    const out: GuestFileSpec = { path: f.path, content: f.content };
    if (f.mode !== undefined) out.mode = int(f.mode, `${w}.mode`, 0, 0o7777);
    return out;
  });
}

export function validateDeployRequest(raw: unknown, appliances: string[]): DeployRequest {
  if (!isObj(raw)) bad("request", "must be a JSON object");
  const known = ["name", "appliance", "instance", "resources", "nodeResources", "ttlSeconds", "files", "nodeFiles", "command", "delivery"];
  for (const k of Object.keys(raw)) if (!known.includes(k)) bad(k, "unknown field");
  if (typeof raw.name !== "string" || !NAME.test(raw.name)) bad("name", `must match ${NAME}`);
  if (typeof raw.appliance !== "string" || !appliances.includes(raw.appliance)) bad("appliance", `must be one of ${appliances.join(", ") || "(none configured)"}`);
  let instance;
  try {
    instance = validateInstanceRequest(raw.instance, "instance");
  } catch (e) {
    bad("instance", (e as Error).message);
  }
  const req: DeployRequest = { name: raw.name, appliance: raw.appliance, instance };
  if (raw.resources !== undefined) req.resources = validateResources(raw.resources, "resources");
  if (raw.nodeResources !== undefined) {
    if (!isObj(raw.nodeResources)) bad("nodeResources", "must be node -> resources");
    req.nodeResources = Object.fromEntries(Object.entries(raw.nodeResources).map(([n, r]) => [n, validateResources(r, `nodeResources.${n}`)]));
  }
  if (raw.ttlSeconds !== undefined) req.ttlSeconds = int(raw.ttlSeconds, "ttlSeconds", 1, 10 * 365 * 86400);
  if (raw.files !== undefined) req.files = files(raw.files, "files");
  if (raw.nodeFiles !== undefined) {
    if (!isObj(raw.nodeFiles)) bad("nodeFiles", "must be node -> files");
    req.nodeFiles = Object.fromEntries(Object.entries(raw.nodeFiles).map(([n, f]) => [n, files(f, `nodeFiles.${n}`)]));
  }
  if (raw.command !== undefined) {
    if (typeof raw.command !== "string") bad("command", "must be a string");
    req.command = raw.command;
  }
  if (raw.delivery !== undefined) {
    if (typeof raw.delivery !== "string" || !(DELIVERIES as readonly string[]).includes(raw.delivery)) bad("delivery", `must be one of ${DELIVERIES.join(", ")}, got ${JSON.stringify(raw.delivery)}`);
    req.delivery = raw.delivery as Delivery;
  }
  return req;
}
