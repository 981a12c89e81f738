// Readiness for systemd (Type=notify): READY=1 on $NOTIFY_SOCKET once the server listens, so units
// ordered after vacfg-server start only when it answers. Node has no unix datagram sockets; a
// perl-base one-liner sends the datagram (perl-base is Essential in Debian: always there, no native
// addon of ours). The sender stays alive two seconds after sending because systemd attributes a
// notification by the sender's cgroup, which it cannot look up once the sender is gone (the race that
// makes `systemd-notify --ready` unreliable before systemd 254); the unit says NotifyAccess=all.
import { spawn } from "node:child_process";
import type { Logger } from "pino";

const SEND = [
  "use Socket;",
  "my $p = $ENV{NOTIFY_SOCKET}; $p =~ s/^@/\\0/;",
  'socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!\\n";',
  'defined(send($s, $ARGV[0], 0, pack_sockaddr_un($p))) or die "send to $ENV{NOTIFY_SOCKET}: $!\\n";',
  "close(STDERR); sleep 2;",
].join(" ");

/** Tells systemd the service is ready (no-op outside a Type=notify unit). Never blocks or throws. */
export function notifyReady(status: string, log?: Logger): void {
  const socket = process.env.NOTIFY_SOCKET;
  if (!socket) return;
  const message = `READY=1\nMAINPID=${process.pid}\nSTATUS=${status.replace(/\n/g, " ")}\n`;
  const child = spawn("perl", ["-e", SEND, message], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  child.on("error", (e) => log?.warn({ err: e.message, socket }, "cannot tell systemd the server is ready (perl)"));
  child.on("exit", (code) => {
    if (code) log?.warn({ err: err.trim(), socket }, "cannot tell systemd the server is ready");
  });
  child.unref();
}
