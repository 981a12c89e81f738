// Debian version strings: dpkg's parse rules and its comparison algorithm (lib/dpkg/version.c),
// so policy minimums order exactly as `dpkg --compare-versions` does.

export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/**
 * Splits a version as dpkg does: epoch before the first ':', revision after the last '-'.
 * Never fails: this is dpkg's lax reading, used for comparing what a package database holds.
 */
export function splitDebianVersion(v: string): DebianVersion {
  const s = v.trim();
  const colon = s.indexOf(":");
  let epoch = 0;
  let rest = s;
  if (colon >= 0) {
    epoch = /^\d+$/.test(s.slice(0, colon)) ? Number(s.slice(0, colon)) : 0;
    rest = s.slice(colon + 1);
  }
  const dash = rest.lastIndexOf("-");
  return dash >= 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: "" };
}

/**
 * Strict parse for versions a person writes (policy minimums): dpkg's errors and also the
 * cases dpkg only warns about (bad characters, upstream not starting with a digit).
 * Returns dpkg's message instead of throwing so callers can name their own field.
 */
export function parseDebianVersion(v: string): DebianVersion | string {
  const s = v.trim();
  if (s === "") return "version string is empty";
  if (/\s/.test(s)) return "version string has embedded spaces";
  const colon = s.indexOf(":");
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (e.startsWith("-")) return "epoch in version is negative";
    if (!/^\d/.test(e)) return "epoch in version is empty";
    if (!/^\d+$/.test(e)) return "epoch in version is not number";
    if (Number(e) > 2147483647) return "epoch in version is too big";
    if (s.slice(colon + 1) === "") return "nothing after colon in version number";
  }
  const { epoch, upstream, revision } = splitDebianVersion(s);
  if (s.slice(colon + 1).lastIndexOf("-") >= 0 && revision === "") return "revision number is empty";
  if (upstream === "") return "version number is empty";
  if (!/^\d/.test(upstream)) return "version number does not start with digit";
  if (!/^[A-Za-z0-9.+~:-]*$/.test(upstream)) return "invalid character in version number";
  if (!/^[A-Za-z0-9.+~]*$/.test(revision)) return "invalid character in revision number";
  return { epoch, upstream, revision };
}

/** dpkg's character weight: '~' sorts before everything (even the end), letters before non-letters. */
function order(c: number): number {
  if (c >= 48 && c <= 57) return 0;
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return c;
  if (c === 126) return -1; // '~'
  if (c) return c + 256;
  return 0;
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/** dpkg's verrevcmp: alternating non-digit runs (by weight) and digit runs (numerically). */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  const ca = (k: number) => (k < a.length ? a.charCodeAt(k) : 0);
  const cb = (k: number) => (k < b.length ? b.charCodeAt(k) : 0);
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(ca(i))) || (j < b.length && !isDigit(cb(j)))) {
      const ac = order(ca(i));
      const bc = order(cb(j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (ca(i) === 48) i++;
    while (cb(j) === 48) j++;
    while (isDigit(ca(i)) && isDigit(cb(j))) {
      if (!firstDiff) firstDiff = ca(i) - cb(j);
      i++;
      j++;
    }
    if (isDigit(ca(i))) return 1;
    if (isDigit(cb(j))) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/** -1, 0, 1 as a sorts before, equal to, after b (dpkg's lax reading of both). */
export function compareDebianVersions(a: string, b: string): number {
  const va = splitDebianVersion(a);
  const vb = splitDebianVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch > vb.epoch ? 1 : -1;
  const r = verrevcmp(va.upstream, vb.upstream);
  if (r) return Math.sign(r);
  return Math.sign(verrevcmp(va.revision, vb.revision));
}
