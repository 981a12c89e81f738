// The --local opener both agents get: `vacfg agent --local REPO` and the vacfg-agent package's
// bundle (agent-main.ts). The agent may not import the server, so the composition lives here.
import { pino } from "pino";
import type { LocalServerOpener } from "../agent/run.js";
import { openLocalServer } from "../server/admin/local-server.js";

/** The server core for `--local`: the client is -u NAME; the core logs only warnings, to stderr. */
export const openLocal: LocalServerOpener = (o) => openLocalServer({ repo: o.local, client: o.user, logger: pino({ level: "warn" }, pino.destination(2)) });
