// `vacfg client add|update|del|list` (bcfg2-admin client): clients.xml edited with the server's own
// locked writer (server/admin/client-admin.ts); list shows clients.xml's clients and the store's
// registrations, as the server's Metadata.list_clients does.
import type { Command } from "commander";
import { pino } from "pino";
import { withExamples } from "../help.js";
import { addClient, CLIENT_ATTRIBUTES, clientAttributes, removeClient, updateClient } from "../../server/admin/client-admin.js";
import { openCore } from "../../server/admin/open-core.js";
import { openStore } from "../../server/store/open-store.js";
import { addSiteOptions, siteSettings, type SiteOptions } from "./site-options.js";

const MODES = ["add", "update", "up", "del", "delete", "remove", "rm", "list"];

export function registerClient(program: Command): void {
  const cmd = program
    .command("client")
    .description("create, modify, delete or list client entries in Metadata/clients.xml (bcfg2-admin client)")
    .argument("<mode>", `add, update (up), del (delete, remove, rm) or list`)
    .argument("[hostname]", "the client (not in list mode)")
    .argument("[attributes...]", `KEY=VALUE for add and update; KEY is one of ${CLIENT_ATTRIBUTES.join(", ")}`);
  addSiteOptions(cmd, "edit")
    .addHelpText(
      "after",
      "\nAs bcfg2-admin client: add refuses a client that exists, update changes attributes in place, del removes\n" +
        "the <Client> element (with its aliases) and the client's registration in the store. clients.xml keeps its\n" +
        "comments and layout; a running server sees each change on its next request.",
    )
    .action(async (mode: string, hostname: string | undefined, attributes: string[], opts: SiteOptions) => {
      if (!MODES.includes(mode)) throw new Error(`mode must be one of ${MODES.join(", ")}, found "${mode}"`);
      const { settings, storeUrl } = siteSettings(opts, (line) => process.stderr.write(`vacfg client: ${line}\n`));
      if (mode === "list") {
        if (hostname) process.stderr.write("vacfg client: <hostname> is not honored in list mode\n");
        const { core, close } = await openCore(settings, storeUrl, pino({ level: "silent" }), { readOnly: true });
        try {
          const names = (await core.plugins.find((p) => p.listClients)!.listClients!()).sort();
          for (const n of names) process.stdout.write(`${n}\n`);
        } finally {
          await close();
        }
        return;
      }
      if (!hostname) throw new Error(`<hostname> is required in ${mode} mode`);
      if (mode === "add") await addClient(settings.repo, hostname, clientAttributes(attributes, settings.repo));
      else if (mode === "update" || mode === "up") await updateClient(settings.repo, hostname, clientAttributes(attributes, settings.repo));
      else {
        if (attributes.length) throw new Error("del takes no attributes");
        const store = await openStore(storeUrl);
        try {
          await removeClient(settings.repo, hostname, store);
        } finally {
          await store.close();
        }
      }
      process.stderr.write(`vacfg client: ${mode} ${hostname.toLowerCase()}: done\n`);
    });
  withExamples(cmd, [
    "vacfg client add web3 profile=web address=10.0.0.3 -c /srv/vacfg/vacfg.conf",
    "vacfg client update web3 secure=true password=s3cret -c /srv/vacfg/vacfg.conf",
    "vacfg client del web3 -c /srv/vacfg/vacfg.conf",
    "vacfg client list -c /srv/vacfg/vacfg.conf",
  ]);
}
