// The client-run methods as the core offers them to the HTTP front, after the front has
// settled who the caller is. Shapes follow the upstream XML-RPC methods one to one.
import type { XmlRpcValue } from "../../protocol/xmlrpc/values.js";
import type { AuthDecision, AuthRequest } from "./metadata.js";

export interface AdminMethod {
  help: string;
  call: (...args: XmlRpcValue[]) => Promise<XmlRpcValue>;
}

/**
 * A request whose repository changes are settled (ClientRunApi.beginRequest): everything changed
 * before it arrived is seen, so the methods given it do not wait again, and work run `vouched`
 * reuses parsed repository files checked since without a stat (repo-trust.ts). Only the synchronous
 * part of `fn` is vouched for: after its first await, caches check the disk again.
 */
export interface RequestScope {
  vouched<T>(fn: () => T): T;
}

export interface ClientRunApi {
  /**
   * Called first for each request read from the network. `queued`: its bytes may have come in the
   * same read as bytes of an earlier request on its connection (several requests in one write, or
   * the rest of a streamed body and the next request), after the poll that reported the socket, so
   * a change its client made in between may be reported only by the next poll (two turns, not one).
   */
  beginRequest(queued: boolean): Promise<RequestScope>;
  /** The client and whether the decision still holds, or undefined → HTTP 401. */
  authenticate(req: AuthRequest): Promise<AuthDecision | undefined>;
  /**
   * A success `authenticate` would give, decided without a wait (from what this process watches);
   * undefined when it cannot be (a refusal included): `authenticate` decides.
   */
  authenticateNow?(req: AuthRequest): AuthDecision | undefined;
  assertProfile(client: string, profile: string): Promise<boolean>;
  declareVersion(client: string, version: string): Promise<boolean>;
  /** The <probes> document. */
  getProbes(client: string): Promise<string>;
  recvProbeData(client: string, probeData: string): Promise<boolean>;
  getDecisionList(client: string, mode: string): Promise<Array<[string, string]>>;
  /**
   * The <Configuration> document, or an <error type=".."/> document as upstream sends; the string
   * itself when it was at hand without a wait.
   */
  getConfig(client: string): Promise<string>;
  getConfig(client: string, scope: RequestScope | undefined): string | Promise<string>;
  recvStats(client: string, statistics: string): Promise<boolean>;
  /** Admin (localhost-only) methods: plugin RMI as "Plugin.method", get_statistics, expire_metadata_cache, … */
  adminMethods(): Record<string, AdminMethod>;
  /** Help text for a client method (methodHelp). */
  methodHelp(name: string): string | undefined;
  close(): Promise<void>;
}
