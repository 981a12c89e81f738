// A writer for the "newc" cpio format the kernel unpacks as an initramfs. Written here rather
// than shelling out to cpio(1) so the archive (device nodes included) needs no root and no tool.

export type CpioEntry =
  | { type: "dir"; name: string; mode?: number }
  | { type: "file"; name: string; data: Buffer; mode?: number }
  | { type: "symlink"; name: string; target: string }
  | { type: "chardev"; name: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const hex8 = (n: number) => n.toString(16).padStart(8, "0");
const pad4 = (n: number) => (4 - (n % 4)) % 4;

function header(ino: number, mode: number, size: number, nameLen: number, rdevMajor = 0, rdevMinor = 0): string {
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  return "070701" + [ino, mode, 0, 0, 1, 0, size, 0, 0, rdevMajor, rdevMinor, nameLen, 0].map(hex8).join("");
}

export function writeCpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    offset += b.length;
    const p = pad4(offset);
    if (p) {
      parts.push(Buffer.alloc(p));
      offset += p;
    }
  };
  const emit = (ino: number, mode: number, name: string, data: Buffer, major = 0, minor = 0) => {
    const nameBuf = Buffer.from(name + "\0");
    push(Buffer.concat([Buffer.from(header(ino, mode, data.length, nameBuf.length, major, minor)), nameBuf]));
    if (data.length) push(data);
  };
  let ino = 1;
  for (const e of entries) {
    const name = e.name.replace(/^\/+/, "");
    switch (e.type) {
      case "dir":
        emit(ino++, S_IFDIR | (e.mode ?? 0o755), name, Buffer.alloc(0));
        break;
      case "file":
        emit(ino++, S_IFREG | (e.mode ?? 0o644), name, e.data);
        break;
      case "symlink":
        emit(ino++, S_IFLNK | 0o777, name, Buffer.from(e.target));
        break;
      case "chardev":
        emit(ino++, S_IFCHR | (e.mode ?? 0o600), name, Buffer.alloc(0), e.major, e.minor);
        break;
    }
  }
  emit(0, 0, "TRAILER!!!", Buffer.alloc(0));
  return Buffer.concat(parts);
}
