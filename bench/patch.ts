// Delivering a parameter file into a 4 GiB sparse ext4 image: debugfs without root (the vacfg
// way: sparse copy + write + verify + rename) vs loop-mount + copy + umount as root (baseline),
// in the same run. Usage: node dist/bench/patch.js [runs=5] [sizeGiB=4]
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CONTEXT_FILE_PATH, parseParameterFile, serializeParameterFile } from "../protocol/params.js";
import { patchParameterFile } from "../hypervisor/image/patch-image.js";
import { writeGuestFiles } from "../hypervisor/image/debugfs.js";
import { median, sh } from "./measure.js";

const runs = Number(process.argv[2] ?? 5);
const sizeGiB = Number(process.argv[3] ?? 4);

const PARAMS = parseParameterFile(`<Parameters>
  <Param name="DNSServer"><List><Item value="10.0.0.1"/><Item value="10.0.0.2"/></List></Param>
  <Param name="nodenames"><List>${[1, 2, 3, 4, 5].map((i) => `<Item value="node${i}.cluster"/>`).join("")}</List></Param>
  <Param name="users"><List><Item name="alice" value="ssh-ed25519 AAAAbench alice"/></List></Param>
  <Param name="domain" value="cluster"/>
</Parameters>`);

const dir = mkdtempSync(join(tmpdir(), "vacfg-bench-patch-"));
const mnt = join(dir, "mnt");
try {
  const img = join(dir, "appliance.ext4");
  sh("truncate", ["-s", `${sizeGiB}G`, img]);
  // lazy init keeps mkfs from writing out every inode table: the image stays sparse like a real one
  sh("mkfs.ext4", ["-F", "-q", "-E", "lazy_itable_init=1,lazy_journal_init=1", img]);
  sh("debugfs", ["-w", "-R", "mkdir /etc", img]);
  const allocated = statSync(img).blocks * 512;
  console.log(`image: ${sizeGiB} GiB sparse ext4 (${(allocated / 2 ** 20).toFixed(1)} MiB allocated), ${runs} runs, parameter file ${serializeParameterFile(PARAMS).length} bytes`);

  const atomic: number[] = [];
  const inPlace: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    patchParameterFile(img, PARAMS, { secret: false });
    atomic.push(performance.now() - t);
    t = performance.now();
    writeGuestFiles(img, [{ path: CONTEXT_FILE_PATH, data: serializeParameterFile(PARAMS), mode: 0o644 }]);
    inPlace.push(performance.now() - t);
  }
  console.log(`debugfs, atomic (sparse copy + write + verify + rename), no root: median ${median(atomic).toFixed(1)} ms`);
  console.log(`debugfs, in place (write + verify),                    no root: median ${median(inPlace).toFixed(1)} ms`);

  if (process.getuid?.() !== 0) {
    console.log("loop mount + copy + umount: skipped (needs root; run the bench as root for the baseline)");
  } else {
    mkdirSync(mnt);
    const src = join(dir, "context.xml");
    writeFileSync(src, serializeParameterFile(PARAMS));
    const mounted: number[] = [];
    let skipped: string | undefined;
    for (let i = 0; i < runs && !skipped; i++) {
      const t = performance.now();
      const m = spawnSync("mount", ["-o", "loop", img, mnt], { encoding: "utf8" });
      if (m.status !== 0) {
        skipped = `mount -o loop failed: ${m.stderr.trim() || m.error?.message}`;
        break;
      }
      try {
        sh("mkdir", ["-p", join(mnt, "etc/vacfg")]);
        sh("install", ["-m", "0644", "-o", "root", "-g", "root", src, join(mnt, "etc/vacfg/context.xml")]);
      } finally {
        sh("umount", [mnt]);
      }
      mounted.push(performance.now() - t);
    }
    if (skipped) console.log(`loop mount + copy + umount: skipped (${skipped})`);
    else {
      const base = median(mounted);
      console.log(`loop mount + copy + umount (baseline),              root:    median ${base.toFixed(1)} ms`);
      console.log(`ratio debugfs atomic / mount: ${(median(atomic) / base).toFixed(2)}x; debugfs in place / mount: ${(median(inPlace) / base).toFixed(2)}x`);
    }
  }
} finally {
  spawnSync("umount", [mnt], { stdio: "ignore" });
  rmSync(dir, { recursive: true, force: true });
}
