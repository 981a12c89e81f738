// Durations as admins write them in options and vacfg.conf: "90d", "12h", "30m", "2w", "45s".

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The duration in milliseconds, or undefined when `text` is not a positive whole number and one unit. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d{1,9})\s*([smhdw])\s*$/.exec(text);
  if (!m || Number(m[1]) === 0) return undefined;
  return Number(m[1]) * UNIT_MS[m[2]];
}

export const DURATION_FORM = "a duration such as 90d, 12h, 30m, 2w or 45s";
