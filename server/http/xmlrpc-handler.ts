// The XML-RPC dispatch table: the client-run methods with their parameter checks,
// listMethods/methodHelp, and the localhost-only admin methods (upstream's DefaultACL).
import type { Logger } from "pino";
import { VacfgError } from "../../protocol/errors.js";
import type { MethodCall, MethodResponse, XmlRpcValue } from "../../protocol/xmlrpc/values.js";
import type { AdminMethod, ClientRunApi, RequestScope } from "../core/client-api.js";
import { faultFor } from "./fault-map.js";
import { isLocalhost } from "./peer.js";

/** Who is calling: the settled client name and the peer address; the request's scope (beginRequest). */
export interface CallContext {
  client: string;
  address: string;
  scope?: RequestScope;
}

/** `denied` is an ACL refusal, which upstream answers with HTTP 401, not a fault. */
export type DispatchOutcome = { kind: "response"; response: MethodResponse } | { kind: "denied"; reason: string };

/** A string parameter: its name (named in faults) and, for the short ones, its longest accepted length. */
type Param = string | [name: string, maxChars: number];

/** Profile names, versions and modes are short: a longer value is refused before it reaches a plugin or a log line. */
const SHORT = 1024;

interface ClientMethod {
  /** Parameters, all strings, in order. */
  params: Param[];
  help: string;
  /** The result, or a promise of it (a GetConfig answer at hand is returned as it is). */
  call: (api: ClientRunApi, client: string, args: string[], scope?: RequestScope) => XmlRpcValue | Promise<XmlRpcValue>;
}

const CLIENT_METHODS: Record<string, ClientMethod> = {
  AssertProfile: {
    params: [["profile", SHORT]],
    help: "Set the client's profile to the given group (it must be a public profile group).",
    call: (api, c, [profile]) => api.assertProfile(c, profile),
  },
  DeclareVersion: {
    params: [["version", SHORT]],
    help: "Record the client's Bcfg2 version.",
    call: (api, c, [version]) => api.declareVersion(c, version),
  },
  GetProbes: { params: [], help: "The probes this client runs, as a <probes> document.", call: (api, c) => api.getProbes(c) },
  RecvProbeData: {
    params: ["probedata"],
    help: "Store the output of the client's probes (a <ProbeData> document).",
    call: (api, c, [data]) => api.recvProbeData(c, data),
  },
  GetDecisionList: {
    params: [["mode", SHORT]],
    help: "The whitelist or blacklist decisions for the client, as [tag, name] pairs.",
    call: (api, c, [mode]) => api.getDecisionList(c, mode),
  },
  GetConfig: { params: [], help: "The client's full configuration document.", call: (api, c, _, scope) => api.getConfig(c, scope) },
  RecvStats: {
    params: ["statistics"],
    help: "Store the statistics the client reports after a run.",
    call: (api, c, [stats]) => api.recvStats(c, stats),
  },
};

const INTROSPECTION_HELP: Record<string, string> = {
  listMethods: "List all exposed methods, including plugin RMI.",
  methodHelp: "Get help from the docstring of an exposed method.",
};

/** Upstream DefaultACL: plugin RMI, *_debug, get_statistics and expire_metadata_cache are localhost-only. */
export function isAdminName(name: string): boolean {
  return name.includes(".") || name.endsWith("_debug") || name === "get_statistics" || name === "expire_metadata_cache";
}

function typeName(v: XmlRpcValue): string {
  if (v === null) return "nil";
  if (Array.isArray(v)) return "array";
  if (Buffer.isBuffer(v)) return "base64";
  if (v instanceof Date) return "dateTime";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "double";
  if (typeof v === "object") return v.constructor?.name === "XmlRpcDouble" ? "double" : "struct";
  return typeof v;
}

/** The parameters of a parameterless call (GetConfig, GetProbes), shared: no method changes them. */
const NO_STRINGS: string[] = Object.freeze([]) as unknown as string[];

/** The string parameters of `method`, or a BAD_PARAMS error naming the parameter. */
export function checkStringParams(method: string, spec: Param[], params: XmlRpcValue[]): string[] {
  if (spec.length === 0 && params.length === 0) return NO_STRINGS;
  const names = spec.map((p) => (typeof p === "string" ? p : p[0]));
  if (params.length !== names.length) {
    const want = names.length === 0 ? "no parameters" : `${names.length} parameter${names.length > 1 ? "s" : ""} (${names.join(", ")})`;
    throw new VacfgError("BAD_PARAMS", `${method} takes ${want}, ${params.length} given`);
  }
  return params.map((p, i) => {
    if (typeof p !== "string") {
      throw new VacfgError("BAD_PARAMS", `${method}: parameter ${i + 1} (${names[i]}) must be a string, got ${typeName(p)}`);
    }
    const max = typeof spec[i] === "string" ? undefined : (spec[i] as [string, number])[1];
    if (max !== undefined && p.length > max) {
      throw new VacfgError("BAD_PARAMS", `${method}: parameter ${i + 1} (${names[i]}) is longer than ${max} characters`);
    }
    return p;
  });
}

export class XmlRpcDispatcher {
  constructor(
    private readonly api: ClientRunApi,
    private readonly logger: Logger,
  ) {}

  /** ACL as upstream: admin names only from the loopback address; a method the API lists as admin too. */
  allowed(method: string, address: string, admin: Record<string, AdminMethod>): boolean {
    if (!isAdminName(method) && !Object.hasOwn(admin, method)) return true;
    return isLocalhost(address);
  }

  /** listMethods' two answers (from the loopback address, from elsewhere) for the API's current admin table; never changed once made. */
  private listed?: { admin: Record<string, AdminMethod>; local: string[]; remote: string[] };

  /** The answer shared by every call (the encoder only reads it). */
  listMethods(address: string): string[] {
    const admin = this.api.adminMethods();
    if (this.listed?.admin !== admin) {
      // Upstream lists the core's exposed methods sorted by name, then plugin RMI in load order.
      const core = [...Object.keys(CLIENT_METHODS), ...Object.keys(INTROSPECTION_HELP), ...Object.keys(admin).filter((n) => !n.includes("."))];
      const all = [...new Set(core)].sort().concat(Object.keys(admin).filter((n) => n.includes(".")));
      this.listed = { admin, local: all.filter((n) => this.allowed(n, "127.0.0.1", admin)), remote: all.filter((n) => this.allowed(n, "", admin)) };
    }
    return isLocalhost(address) ? this.listed.local : this.listed.remote;
  }

  methodHelp(name: string): string {
    if (Object.hasOwn(CLIENT_METHODS, name)) return this.api.methodHelp(name) ?? CLIENT_METHODS[name].help;
    if (Object.hasOwn(INTROSPECTION_HELP, name)) return INTROSPECTION_HELP[name];
    const admin = this.api.adminMethods();
    return Object.hasOwn(admin, name) ? admin[name].help : "";
  }

  /**
   * The outcome of one call; synchronous when the method answered without a wait (a cached
   * GetConfig), so that the front writes it without another turn of promises.
   */
  dispatch(call: MethodCall, ctx: CallContext): DispatchOutcome | Promise<DispatchOutcome> {
    const { methodName: name, params } = call;
    const client = Object.hasOwn(CLIENT_METHODS, name) ? CLIENT_METHODS[name] : undefined;
    const admin = client ? {} : this.api.adminMethods();
    if (!client && !this.allowed(name, ctx.address, admin)) {
      return { kind: "denied", reason: `${name} is an admin method, accepted only from 127.0.0.1 (caller ${ctx.address})` };
    }
    let value: XmlRpcValue | Promise<XmlRpcValue>;
    try {
      value = this.invoke(name, params, ctx, client, admin);
    } catch (err) {
      return this.failed(name, ctx, err);
    }
    if (!(value instanceof Promise)) return { kind: "response", response: { kind: "result", value } };
    return value.then(
      (v): DispatchOutcome => ({ kind: "response", response: { kind: "result", value: v } }),
      (err: unknown) => this.failed(name, ctx, err),
    );
  }

  /** A method that threw: logged, and answered with its fault. */
  private failed(name: string, ctx: CallContext, err: unknown): DispatchOutcome {
    const fault = faultFor(err);
    const log = fault.faultCode === 1 && !(err instanceof VacfgError) ? this.logger.error.bind(this.logger) : this.logger.warn.bind(this.logger);
    log({ method: name, client: ctx.client, address: ctx.address, faultCode: fault.faultCode, err }, "method failed: %s", fault.faultString);
    return { kind: "response", response: { kind: "fault", ...fault } };
  }

  private invoke(
    name: string,
    params: XmlRpcValue[],
    ctx: CallContext,
    client: ClientMethod | undefined,
    admin: Record<string, AdminMethod>,
  ): XmlRpcValue | Promise<XmlRpcValue> {
    if (client) return client.call(this.api, ctx.client, checkStringParams(name, client.params, params), ctx.scope);
    if (name === "listMethods") {
      checkStringParams(name, [], params);
      return this.listMethods(ctx.address);
    }
    if (name === "methodHelp") {
      const [method] = checkStringParams(name, [["method_name", SHORT]], params);
      return this.methodHelp(method);
    }
    if (Object.hasOwn(admin, name)) return admin[name].call(...params);
    throw new VacfgError("UNKNOWN_METHOD", `Unknown method ${name}`);
  }
}
