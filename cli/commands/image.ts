// `vacfg image`: the appliance image lifecycle from the command line: patch (upload files
// without root), build (an image from a repository profile), update (packages + repository, the
// appliance's tests, re-attest only when they pass).
import type { Command } from "commander";
import { stderrProgress } from "../../hypervisor/appliance/cache.js";
import { parseUploadSpec, uploadIntoImage, type UploadSpec } from "../../hypervisor/image/upload.js";

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export function registerImage(program: Command): void {
  const image = program.command("image").description("appliance images: patch files in, build from a profile, update and re-attest");

  image
    .command("patch")
    .description("upload a parameter file and/or files into an image without root or mounting (like virt-customize --upload)")
    .argument("<image>", "ext2/3/4 filesystem, raw disk (MBR/GPT, the partition holding /etc) or qcow2 (backing file kept)")
    .argument("[params]", `parameter file, checked, then delivered to /etc/vacfg/context.xml (0600 unless the file is world-readable)`)
    .option("-f, --file <SRC:DEST:MODE>", "upload host file SRC to absolute guest path DEST with octal MODE, root-owned; repeatable", collect)
    .option("--partition <n>", "partition number (1-4 primary, 5... logical); default: the ext partition holding /etc")
    .option("-q, --quiet", "no progress lines on stderr")
    .addHelpText(
      "after",
      "\nEverything is checked before the image is touched; the write goes to a copy that is read back\n" +
        "(bytes, mode, owner) and renamed over the image, so a failure leaves the image as it was.\n" +
        "Exit status: 0 written, 1 refused (the reason names the image, file or --file argument).",
    )
    .action((img: string, params: string | undefined, o: { file?: string[]; partition?: string; quiet?: boolean }) => {
      const files: UploadSpec[] = (o.file ?? []).map(parseUploadSpec);
      let partition: number | undefined;
      if (o.partition !== undefined) {
        partition = Number(o.partition);
        if (!Number.isInteger(partition) || partition < 1) throw new Error(`--partition ${o.partition}: expected a partition number (1, 2, ... 5 for the first logical)`);
      }
      const progress = o.quiet ? undefined : (m: string) => stderrProgress(`image patch: ${m}`);
      const r = uploadIntoImage(img, { params, files, partition, progress });
      for (const f of r.files) console.log(`${f.path}\t0${f.mode.toString(8)}\t${f.data.length} bytes`);
      console.log(`patched ${img} (${r.format}${r.partition ? `, partition ${r.partition}` : ""})`);
    });
}
