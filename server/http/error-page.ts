// The HTML error page upstream's Python http.server sends with send_error (401, 501, …),
// byte for byte, so clients and tests that compare bodies see no difference.
import type { ServerResponse } from "node:http";

function escapeHtml(s: string): string {
  // html.escape(s, quote=False), as http.server uses it.
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function errorPageBody(code: number, message: string, explain: string): string {
  return (
    "<!DOCTYPE HTML>\n" +
    '<html lang="en">\n' +
    "    <head>\n" +
    '        <meta charset="utf-8">\n' +
    "        <title>Error response</title>\n" +
    "    </head>\n" +
    "    <body>\n" +
    "        <h1>Error response</h1>\n" +
    `        <p>Error code: ${code}</p>\n` +
    `        <p>Message: ${escapeHtml(message)}.</p>\n` +
    `        <p>Error code explanation: ${code} - ${escapeHtml(explain)}.</p>\n` +
    "    </body>\n" +
    "</html>\n"
  );
}

/** The pages the front sends, with upstream's status line reason, message and explanation. */
export const PAGES = {
  unauthorized: { code: 401, reason: "Unauthorized", message: "Unauthorized", explain: "No permission -- see authorization schemes" },
  notImplemented: (method: string) => ({
    code: 501,
    // Node validated the method as an HTTP token, so it is safe in the status line.
    reason: `Unsupported method ('${method}')`,
    message: `Unsupported method ('${method}')`,
    explain: "Server does not support this operation",
  }),
  // Python's http.server wording for 503 (the login limit cannot be read from the store).
  unavailable: { code: 503, reason: "Service Unavailable", message: "Service Unavailable", explain: "The server cannot process the request due to a high load" },
  tooLarge: (message: string) => ({ code: 413, reason: "Request Entity Too Large", message, explain: "Entity is too large" }),
} as const;

export interface PageSpec {
  code: number;
  reason: string;
  message: string;
  explain: string;
}

/** Sends an upstream-style error page and closes the connection afterwards, as upstream does. */
export function sendErrorPage(res: ServerResponse, page: PageSpec): void {
  // Discard whatever of the request body has arrived: closing a socket with unread data makes
  // the kernel send RST, and the client could lose this response.
  res.req?.resume();
  const body = Buffer.from(errorPageBody(page.code, page.message, page.explain), "utf8");
  res.shouldKeepAlive = false;
  res.writeHead(page.code, page.reason, {
    Connection: "close",
    "Content-Type": "text/html;charset=utf-8",
    "Content-Length": String(body.length),
  });
  res.end(body);
}
