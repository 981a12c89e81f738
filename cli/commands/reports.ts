// `vacfg reports [VIEW]`: the reporting views as terminal tables (or --json), read from the store
// directly: --store URL, or the store named by vacfg.conf (-c), or DATA_DIR/vacfg.db.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { withExamples } from "../help.js";
import { loadServerConfig } from "../../server/admin/server-config.js";
import { renderTextReport, REPORT_VIEWS, type ReportView } from "../../server/reporting/text-report.js";
import { openStore, sqlitePath } from "../../server/store/open-store.js";
import { VacfgError } from "../../protocol/errors.js";
import { DURATION_FORM, parseDuration } from "../../lib/duration.js";
import { purgeOldRuns } from "../../server/reporting/retention.js";

interface ReportsCliOptions {
  store?: string;
  config?: string;
  dataDir: string;
  client?: string;
  state?: string;
  asOf?: string;
  staleHours?: string;
  min?: string;
  json?: boolean;
  page?: string;
  perPage?: string;
  olderThan?: string;
}

export function registerReports(program: Command): void {
  const cmd = program
    .command("reports")
    .description(`client run reports from the store: ${REPORT_VIEWS.join(", ")}; or purge --older-than DURATION`)
    .argument("[view]", `one of ${REPORT_VIEWS.join(", ")}, or purge`, "clients")
    .option("--store <url>", "store URL (sqlite:/path/vacfg.db or postgres://…)")
    .option("-c, --config <file>", "vacfg.conf naming the store")
    .option("-d, --data-dir <dir>", "without --store/--config: the data directory holding vacfg.db", "vacfg-data")
    .option("--client <name>", "the client (view client), or a name filter")
    .option("--state <state>", "only clients in this state: clean, bad, modified, extra, dirty, stale, never")
    .option("--as-of <time>", "report the state as of this ISO 8601 time")
    .option("--stale-hours <h>", "a client is stale after this many hours without a run", "24")
    .option("--min <n>", "common: entries bad on at least this many clients", "2")
    .option("--json", "print JSON instead of tables")
    .option("--page <n>", "clients, bad/modified/extra, client history: only this page (1 = first)")
    .option("--per-page <n>", "rows per page with --page (default 100, at most 1000)")
    .option("--older-than <duration>", "purge: delete runs older than this (90d, 12h, 2w, …); each client's newest run stays")
    .action(async (view: string, opts: ReportsCliOptions) => {
      const url = opts.store ?? (opts.config ? loadServerConfig(opts.config).storeUrl : resolve(opts.dataDir, "vacfg.db"));
      // A reader must not create an empty database where the admin mistyped a path.
      const file = sqlitePath(url);
      if (file !== undefined && file !== ":memory:" && !existsSync(file)) throw new VacfgError("REPORT_QUERY", `no store at ${file} (give --store URL, -c vacfg.conf or -d DATA_DIR)`);
      if (!/^\d{1,6}$/.test(opts.min ?? "2")) throw new VacfgError("REPORT_QUERY", `--min: "${opts.min}" must be a whole number of clients`);
      const store = await openStore(url);
      try {
        if (view === "purge") {
          const keepMs = parseDuration(opts.olderThan ?? "");
          if (keepMs === undefined) throw new VacfgError("REPORT_QUERY", `purge: --older-than must be ${DURATION_FORM}, found "${opts.olderThan ?? ""}"`);
          const n = await purgeOldRuns(store, keepMs);
          process.stdout.write(`purged ${n} run${n === 1 ? "" : "s"} older than ${opts.olderThan} (each client's newest run kept)\n`);
          return;
        }
        const text = await renderTextReport(store, {
          view: view as ReportView,
          client: opts.client,
          state: opts.state,
          asOf: opts.asOf,
          staleHours: opts.staleHours,
          json: opts.json,
          min: Number(opts.min ?? 2),
          page: opts.page,
          perPage: opts.perPage,
        });
        process.stdout.write(text);
      } finally {
        await store.close();
      }
    });
  withExamples(cmd, [
    "vacfg reports summary -c /srv/vacfg/vacfg.conf",
    "vacfg reports clients --state bad -c /srv/vacfg/vacfg.conf",
    "vacfg reports client --client node1 --as-of 2026-12-01T12:00:00Z -c /srv/vacfg/vacfg.conf",
    "vacfg reports bad --json --store postgres://vacfg@db/vacfg",
    "vacfg reports purge --older-than 90d -c /srv/vacfg/vacfg.conf   # each client's newest run stays",
  ]);
}
