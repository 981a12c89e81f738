// Whether any connection, in any process, has committed to a WAL-mode SQLite database since the last
// look, from one read of the wal-index header in its -shm file instead of a read transaction (two
// fcntl locks and a statement). The header is documented (https://www.sqlite.org/walformat.html,
// "The WAL-Index Header"): two copies of 48 bytes at offset 0 holding, among others, mxFrame (the
// last valid frame) and the salts. Every commit appends frames (mxFrame grows) or restarts the WAL
// after a checkpoint (new salts), and rewrites the header; so equal bytes mean no commit since.
// Every process maps the same file shared, so a read() sees what another process's commit wrote.
// A header read while a writer rewrites it can only differ from the last one: the caller then asks
// the database itself.
import { closeSync, openSync, readSync } from "node:fs";

/** Both copies of the header. */
const HEADER_BYTES = 96;

export class WalIndexWatch {
  private fd?: number;
  private readonly seen = Buffer.alloc(HEADER_BYTES);
  private readonly now = Buffer.alloc(HEADER_BYTES);
  private valid = false;
  private readOk = false;
  private closed = false;

  constructor(private readonly shmPath: string) {}

  /**
   * True when the header is byte for byte what `remember` last recorded (no commit since), false
   * when it differs or cannot be read. Reads the header into the buffer `remember` takes.
   */
  unchanged(): boolean {
    this.readOk = false;
    if (this.closed) return false;
    try {
      this.fd ??= openSync(this.shmPath, "r");
      this.readOk = readSync(this.fd, this.now, 0, HEADER_BYTES, 0) === HEADER_BYTES;
    } catch {
      // no -shm yet (nothing read in WAL mode so far): ask the database
    }
    return this.readOk && this.valid && this.now.equals(this.seen);
  }

  /** Records the header `unchanged` just read as the one a value now read from the database belongs to. */
  remember(): void {
    this.now.copy(this.seen);
    this.valid = this.readOk;
  }

  close(): void {
    this.closed = true;
    this.valid = false;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
