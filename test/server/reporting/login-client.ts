// HTTPS requests to the reporting login from a chosen loopback source address (127.0.0.2 and up are
// "elsewhere" to the server), each on a fresh connection so that a cluster spreads them over its workers.
import { ADMIN_PASSWORD, request, type HttpResult } from "../../../harness/report-site.js";

export function sendFrom(url: string, ca: string, opts: { from?: string; method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpResult> {
  return request(url, ca, { ...opts, agent: false, from: opts.from ?? "127.0.0.1" });
}

/** A form login at `${serverUrl}/reports/login`: 303 on success, 401 wrong, 429 locked out. */
export function formLogin(serverUrl: string, ca: string, password: string, from?: string): Promise<HttpResult> {
  const body = new URLSearchParams({ user: "admin", password, next: "/clients" }).toString();
  return sendFrom(`${serverUrl}/reports/login`, ca, { from, method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body });
}

export const basicAdmin = (password = ADMIN_PASSWORD): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`admin:${password}`).toString("base64")}` });
