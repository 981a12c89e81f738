// The one catalogue of vacfg errors: every refusal and fault has a stable code, and
// where it crosses the wire, the XML-RPC fault code or HTTP status it maps to.

export interface ErrorSpec {
  /** XML-RPC faultCode when the error is answered as a fault. */
  fault?: number;
  /** HTTP status when the error is answered at the HTTP level. */
  http?: number;
  summary: string;
}

export const ERRORS = {
  // XML and XML-RPC parsing
  XML_MALFORMED: { http: 400, summary: "document is not well-formed XML" },
  XML_DOCTYPE: { http: 400, summary: "DOCTYPE / entity declarations are refused" },
  XML_TOO_LARGE: { http: 413, summary: "document exceeds the size limit" },
  XMLRPC_MALFORMED: { http: 500, summary: "body is not an XML-RPC methodCall/methodResponse" },
  XMLRPC_FAULT: { summary: "the peer answered with an XML-RPC fault" },
  // HTTP front
  HTTP_METHOD: { http: 501, summary: "only POST is served" },
  BODY_TOO_LARGE: { http: 413, summary: "request body exceeds the limit" },
  AUTH_FAILED: { http: 401, summary: "authentication failed" },
  // Upstream (SSLServer, DefaultACL) answers an ACL denial with HTTP 401, not a fault.
  ADMIN_ONLY_LOCALHOST: { http: 401, summary: "admin methods are accepted only from 127.0.0.1" },
  SERVER_CONFIG: { summary: "server configuration file is invalid" },
  TLS_MATERIAL: { summary: "TLS certificate or key is missing or invalid" },
  // Dispatch (codes as upstream Bcfg2)
  UNKNOWN_METHOD: { fault: -32601, summary: "unknown method" },
  CRITICAL: { fault: -32500, summary: "critical failure" },
  METHOD_FAILED: { fault: 1, summary: "method raised an error" },
  BAD_PARAMS: { fault: 1, summary: "wrong number or type of parameters" },
  // Documents
  DOC_INVALID: { summary: "Bcfg2 document has the wrong shape" },
  // Repository
  REPO_FILE: { summary: "repository file is invalid" },
  REPO_MISSING: { summary: "repository directory is missing or empty, or its Metadata cannot be loaded" },
  REPO_TEMPLATE: { summary: "template failed to render" },
  DECRYPT: { summary: "encrypted data cannot be decrypted (or encrypted) with the configured passphrases" },
  // Metadata
  METADATA: { fault: -32500, summary: "client metadata could not be resolved" },
  PROFILE: { fault: -32500, summary: "profile cannot be asserted" },
  CLIENT_NAME: { fault: -32500, summary: "client name breaks the client-name rule (hostname-like, bounded)" },
  PATH_ESCAPE: { summary: "a per-client path resolves outside its directory" },
  // Admin commands
  PULL: { summary: "an entry's current state cannot be pulled from the client's statistics into the repository" },
  // Store
  STORE: { summary: "store operation failed" },
  // Reporting (web UI, `vacfg reports`)
  REPORT_QUERY: { http: 400, summary: "report query parameter is invalid" },
  REPORT_LOGIN: { http: 401, summary: "reporting login required or refused" },
  // The admin gate (/reports, /metrics, /api/v1; server/reporting/admin-gate.ts)
  ADMIN_LOCKED_OUT: { http: 429, summary: "too many failed logins from this address; retry after the lockout" },
  ADMIN_LOGIN_UNAVAILABLE: { http: 503, summary: "logins cannot be checked: the store is not answering" },
  CROSS_ORIGIN: { http: 403, summary: "a state-changing admin request from another origin" },
  JSON_REQUIRED: { http: 415, summary: "a state-changing API call needs Content-Type: application/json" },
  // Contextualization
  PARAMS_INVALID: { summary: "parameter file is invalid" },
  CTX_TEMPLATE: { summary: "contextualization template is invalid" },
  CTX_BINDING: { summary: "parameter cannot be bound" },
  CMDLINE_TOO_LONG: { http: 400, summary: "kernel command line would exceed the boot target's limit" },
  CMDLINE_SECRET: { http: 400, summary: "secret parameters may not travel on the kernel command line" },
  // Agent
  AGENT_CONFIG: { summary: "agent configuration is invalid" },
  AGENT_RUN: { summary: "agent run failed" },
  // Hypervisor
  IMAGE: { summary: "image operation failed" },
  PACKAGE: { summary: "Debian package build failed" },
  VM: { summary: "VM operation failed" },
  WORKSPACE_REQUEST: { http: 400, summary: "workspace request is invalid" },
  WORKSPACE_NOT_FOUND: { http: 404, summary: "no such VM or deployment" },
  WORKSPACE_CONFLICT: { http: 409, summary: "workspace resource already exists or is in use" },
  ADMISSION: { http: 403, summary: "image refused by admission policy" },
  ATTESTATION_INVALID: { summary: "attestation document has the wrong shape or cannot be produced" },
  ATTEST_KEY: { summary: "attestation signing or trust key is missing or invalid" },
  ADMISSION_POLICY: { summary: "admission policy file is invalid" },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** Base of all vacfg errors: carries its catalogue code, so callers map it, never match text. */
export class VacfgError extends Error {
  readonly code: ErrorCode;
  readonly fault?: number;
  readonly http?: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; fault?: number }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    const spec: ErrorSpec = ERRORS[code];
    this.fault = options?.fault ?? spec.fault;
    this.http = spec.http;
  }
}

/** Errors from parsing or building protocol documents. */
export class ProtocolError extends VacfgError {}

/** An XML-RPC fault received from a peer (code and string as sent). */
export class XmlRpcFault extends VacfgError {
  readonly faultCode: number;
  readonly faultString: string;
  constructor(faultCode: number, faultString: string) {
    super("XMLRPC_FAULT", `XML-RPC fault ${faultCode}: ${faultString}`, { fault: faultCode });
    this.faultCode = faultCode;
    this.faultString = faultString;
  }
}

export function isVacfgError(e: unknown): e is VacfgError {
  return e instanceof VacfgError;
}
