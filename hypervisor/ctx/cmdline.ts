// Delivery on the kernel command line: append one `vacfg.ctx=` argument, refusing what the
// boot target cannot hold and anything secret (/proc/cmdline is world-readable in the guest).
import { encodeCtxArg, decodeCtxFromCmdline, CTX_ARG } from "../../protocol/ctx-cmdline.js";
import type { ContextTemplate } from "../../protocol/ctx-template.js";
import { VacfgError } from "../../protocol/errors.js";
import type { ParamSignature, ParameterFile } from "../../protocol/params.js";

/** Bytes of kernel command line a boot target accepts, including the terminating NUL. */
export const CMDLINE_LIMITS = {
  /** COMMAND_LINE_SIZE on x86_64 Linux */
  "linux-x86_64": 2048,
  /** MAX_GUEST_CMDLINE in Xen's PV guest interface */
  "xen-pv": 1024,
} as const;

export type CmdlineTarget = keyof typeof CMDLINE_LIMITS;

export { decodeCtxFromCmdline };

/**
 * Returns `base` with `vacfg.ctx=...` appended (replacing an earlier one).
 * CMDLINE_SECRET when the template marks any present parameter secret; CMDLINE_TOO_LONG when
 * the result would not fit the target.
 */
export function buildKernelCmdline(base: string, params: ParameterFile, opts: { template: ContextTemplate; target: CmdlineTarget; signature?: ParamSignature }): string {
  const secret = opts.template.params.filter((p) => p.secret && params.has(p.name)).map((p) => p.name);
  if (secret.length) {
    throw new VacfgError("CMDLINE_SECRET", `parameter(s) ${secret.map((n) => `"${n}"`).join(", ")} are secret in template ${opts.template.appliance}; deliver by image patch instead`);
  }
  const kept = base.split(/\s+/).filter((w) => w && !w.startsWith(`${CTX_ARG}=`));
  const line = [...kept, encodeCtxArg(params, opts.signature)].join(" ");
  const limit = CMDLINE_LIMITS[opts.target];
  const bytes = Buffer.byteLength(line, "utf8") + 1;
  if (bytes > limit) {
    throw new VacfgError("CMDLINE_TOO_LONG", `kernel command line would be ${bytes} bytes (with NUL), ${opts.target} allows ${limit}; deliver by image patch or DHCP instead`);
  }
  return line;
}
