import { test } from "node:test";
import assert from "node:assert/strict";
import { InetDiagSocket } from "../src/linux/diag_socket.ts";
import { tcpListenerStats } from "../src/linux/listen_stats.ts";
import { TcpInfo } from "../src/linux/tcp_info.ts";
import { native } from "../src/native/library.ts";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { openFdCount, startThread } from "./_helpers.ts";
import { acceptingServer, connect } from "./fixtures/linux_sockets.ts";

/** This process's NETLINK_SOCK_DIAG descriptors: its socket fds whose inode /proc/net/netlink lists with protocol 4. */
function sockDiagFds(): number {
  const inodes = new Set<string>();
  for (const line of readFileSync("/proc/self/net/netlink", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === "4") inodes.add(f[f.length - 1]);
  }
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1] ?? "")) n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

test("queries without a socket share one per process: thousands of them open nothing", async () => {
  await using server = await acceptingServer("127.0.0.1");
  const client = await connect({ host: "127.0.0.1", port: server.port });
  const local = `127.0.0.1:${server.port}`, remote = `127.0.0.1:${client.localPort}`;
  tcpListenerStats(local);
  const before = openFdCount();
  for (let i = 0; i < 3000; i++) {
    tcpListenerStats(local);
    TcpInfo.fromAddress(local, remote);
    TcpInfo.fromRemote(remote);
  }
  assert.equal(openFdCount(), before);
  client.destroy();
});

test("the shared socket cannot be closed from outside; an own InetDiagSocket closes", () => {
  const fd = native().rd_diag_shared();
  assert.ok(fd >= 0);
  assert.equal(native().rd_diag_close(fd), -16 /* EBUSY */);
  const before = openFdCount();
  const sock = new InetDiagSocket();
  assert.equal(openFdCount(), before + 1);
  sock.close();
  sock.close();
  assert.equal(openFdCount(), before);
});

test("Workers that query and are terminated leave no netlink socket behind", async () => {
  tcpListenerStats(); // the shared socket exists before counting
  const before = sockDiagFds();
  for (let i = 0; i < 10; i++) {
    const worker = startThread("diag_worker.ts");
    const listed = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("worker silent for 20 s")), 20_000);
      worker.onmessage = (e) => (clearTimeout(t), resolve(e.data as number));
      worker.onerror = (e) => (clearTimeout(t), reject(e));
    });
    assert.ok(listed >= 0);
    worker.terminate();
  }
  assert.equal(sockDiagFds(), before, "no sock_diag socket more, whatever the Workers did");
});
