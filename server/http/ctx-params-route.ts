// GET /ctx/TOKEN: a node's parameter file for the DHCP delivery (protocol/ctx-delivery.ts). The
// workspace writes one record per VM into the store it shares with this server; the node learns
// the URL only from the DHCP answer to its own MAC, and checks this server's certificate against
// its site CA. Unauthenticated on purpose (a booting node has no credentials yet): the random
// token is the capability, and a token of the wrong shape never reaches the store.
import type { Express, Request, Response } from "express";
import { CTX_DELIVERY_KIND, CTX_DELIVERY_PATH, CTX_TOKEN_RE, type CtxDeliveryRecord } from "../../protocol/ctx-delivery.js";
import type { RecordTable } from "../store/store.js";
import type { Logger } from "./logger.js";

export function ctxParamsRoute(store: Pick<RecordTable, "get">, logger: Logger): (app: Express) => void {
  return (app) => {
    app.get(`${CTX_DELIVERY_PATH}/:token`, (req: Request, res: Response) => {
      const token = String(req.params.token);
      res.set("Cache-Control", "no-store");
      if (!CTX_TOKEN_RE.test(token)) {
        res.status(404).type("text/plain").send("no such parameter file\n");
        return;
      }
      store.get<CtxDeliveryRecord>(CTX_DELIVERY_KIND, token).then(
        (rec) => {
          if (!rec) {
            res.status(404).type("text/plain").send("no such parameter file\n");
            return;
          }
          logger.info({ node: rec.fqdn, peer: req.socket.remoteAddress }, "parameter file fetched (DHCP delivery)");
          res.status(200).type("application/xml").send(rec.text);
        },
        (e: unknown) => {
          logger.error({ err: (e as Error).message }, "parameter file lookup failed");
          res.status(503).type("text/plain").send("store unavailable\n");
        },
      );
    });
  };
}
