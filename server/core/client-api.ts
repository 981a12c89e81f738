// The client-run methods as the core offers them to the HTTP front, after the front has
// settled who the caller is. Shapes follow the upstream XML-RPC methods one to one.
import type { XmlRpcValue } from "../../protocol/xmlrpc/values.js";
import type { AuthDecision, AuthRequest } from "./metadata.js";

export interface AdminMethod {
  help: string;
  call: (...args: XmlRpcValue[]) => Promise<XmlRpcValue>;
}

export interface ClientRunApi {
  /** The client and whether the decision still holds, or undefined → HTTP 401. */
  authenticate(req: AuthRequest): Promise<AuthDecision | undefined>;
  assertProfile(client: string, profile: string): Promise<boolean>;
  declareVersion(client: string, version: string): Promise<boolean>;
  /** The <probes> document. */
  getProbes(client: string): Promise<string>;
  recvProbeData(client: string, probeData: string): Promise<boolean>;
  getDecisionList(client: string, mode: string): Promise<Array<[string, string]>>;
  /** The <Configuration> document, or an <error type=".."/> document as upstream sends. */
  getConfig(client: string): Promise<string>;
  recvStats(client: string, statistics: string): Promise<boolean>;
  /** Admin (localhost-only) methods: plugin RMI as "Plugin.method", get_statistics, expire_metadata_cache, … */
  adminMethods(): Record<string, AdminMethod>;
  /** Help text for a client method (methodHelp). */
  methodHelp(name: string): string | undefined;
  close(): Promise<void>;
}
