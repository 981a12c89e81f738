// HTTPS requests to the reporting login from a chosen loopback source address (127.0.0.2 and up are
// "elsewhere" to the server), each on a fresh connection so that a cluster spreads them over its workers.
import https from "node:https";
import { ADMIN_PASSWORD, type HttpResult } from "../../harness/report-site.js";

export function sendFrom(url: string, ca: string, opts: { from?: string; method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method ?? "GET", headers: opts.headers, ca, servername: "localhost", localAddress: opts.from ?? "127.0.0.1", agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** A form login at `${serverUrl}/reports/login`: 303 on success, 401 wrong, 429 locked out. */
export function formLogin(serverUrl: string, ca: string, password: string, from?: string): Promise<HttpResult> {
  const body = new URLSearchParams({ user: "admin", password, next: "/clients" }).toString();
  return sendFrom(`${serverUrl}/reports/login`, ca, { from, method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body });
}

export const basicAdmin = (password = ADMIN_PASSWORD): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`admin:${password}`).toString("base64")}` });
