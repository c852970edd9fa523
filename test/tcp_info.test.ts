import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type net from "node:net";
import { ClosedError, NativeError } from "../src/errors.ts";
import { InetDiagSocket } from "../src/linux/diag_socket.ts";
import { TCP_STATES, TcpInfo } from "../src/linux/tcp_info.ts";
import {
  acceptingServer,
  closeAll,
  connect,
  fdAndRssGrowth,
  fdOfTcpSocket,
  waitFor,
} from "./fixtures/linux_sockets.ts";
import { hostRuntime } from "./fixtures/host_runtime.ts";

/** Fields that stay put on an idle loopback connection. */
const STEADY = [
  "state",
  "options",
  "snd_wscale",
  "rcv_wscale",
  "snd_mss",
  "rcv_mss",
  "pmtu",
  "advmss",
  "rcv_ssthresh",
  "snd_cwnd",
  "total_retrans",
  "bytes_acked",
  "bytes_received",
  "segs_in",
  "data_segs_in",
  "data_segs_out",
  "delivered",
  "bytes_sent",
] as const;

/** One exchange each way, then quiet, so both reads see the same figures. */
async function exchanged(client: net.Socket, server: net.Socket): Promise<void> {
  const got = (s: net.Socket) => new Promise<void>((r) => s.once("data", () => r()));
  const a = got(server);
  client.write("ping");
  await a;
  const b = got(client);
  server.write("pong");
  await b;
  await new Promise((r) => setTimeout(r, 50));
}

test("TcpInfo by fd and by address pair agree on the same socket", async () => {
  await using srv = await acceptingServer("127.0.0.1");
  const client = await connect({ host: "127.0.0.1", port: srv.port });
  await waitFor(() => srv.conns.length === 1, () => srv.conns.length);
  await exchanged(client, srv.conns[0]);
  const local = { host: "127.0.0.1", port: client.localPort! }, remote = { host: "127.0.0.1", port: srv.port };
  const fd = fdOfTcpSocket(local, remote);
  // Bun and Node.js expose the descriptor too: it must be the one /proc names.
  // deno-lint-ignore no-explicit-any
  const handleFd = (client as any)._handle?.fd;
  if (typeof handleFd === "number" && handleFd >= 0) assert.equal(handleFd, fd);
  else assert.notEqual(hostRuntime, "node", "Node.js tells a socket's descriptor");

  const byFd = TcpInfo.fromFd(fd);
  const byAddr = TcpInfo.fromAddress(`127.0.0.1:${local.port}`, `127.0.0.1:${remote.port}`);
  assert.equal(byFd.stateName, "ESTABLISHED");
  assert.equal(byAddr.stateName, "ESTABLISHED");
  assert.equal(byFd.raw.length, byAddr.raw.length);
  assert.ok(byFd.raw.length >= 104, `tcp_info of ${byFd.raw.length} bytes`);
  for (const f of STEADY) assert.equal(byAddr.get(f), byFd.get(f), f);
  assert.equal(byFd.get("bytes_received"), 4);
  assert.equal(byFd.get("bytes_acked")! - 1, 4, "4 bytes sent and acked (+1 for the SYN)");
  assert.ok(byFd.get("rtt")! > 0);

  // The server's end, by address pair from its own point of view.
  const serverSide = TcpInfo.fromAddress(`127.0.0.1:${remote.port}`, `127.0.0.1:${local.port}`);
  assert.equal(serverSide.get("bytes_received"), 4);
  assert.equal(serverSide.get("state"), TCP_STATES.ESTABLISHED);
  await closeAll([client]);
});

test("refresh() reads again in place and sees new traffic; fields covers every returned field", async () => {
  await using srv = await acceptingServer("127.0.0.1");
  const client = await connect({ host: "127.0.0.1", port: srv.port });
  await waitFor(() => srv.conns.length === 1, () => srv.conns.length);
  const local = `127.0.0.1:${client.localPort}`, remote = `127.0.0.1:${srv.port}`;
  const fd = fdOfTcpSocket({ host: "127.0.0.1", port: client.localPort! }, { host: "127.0.0.1", port: srv.port });
  const byAddr = TcpInfo.fromAddress(local, remote);
  const byFd = TcpInfo.fromFd(fd);
  assert.equal(byAddr.get("bytes_received"), 0);
  await exchanged(client, srv.conns[0]);
  assert.equal(byAddr.refresh(), byAddr);
  assert.equal(byAddr.get("bytes_received"), 4);
  assert.equal(byFd.refresh().get("bytes_received"), 4);
  const fields = byFd.fields;
  for (
    const name of ["state", "rto", "rtt", "rttvar", "snd_cwnd", "total_retrans", "last_data_recv", "fackets"] as const
  ) {
    assert.equal(typeof fields[name], "number", name);
  }
  assert.deepEqual(JSON.parse(JSON.stringify(byFd)), fields);
  assert.equal(Object.keys(fields).length > 32, byFd.raw.length >= 104);
  await closeAll([client]);
});

test("TCP_STATES maps the kernel's state names to numbers", () => {
  assert.deepEqual({ ...TCP_STATES }, {
    ESTABLISHED: 1,
    SYN_SENT: 2,
    SYN_RECV: 3,
    FIN_WAIT1: 4,
    FIN_WAIT2: 5,
    TIME_WAIT: 6,
    CLOSE: 7,
    CLOSE_WAIT: 8,
    LAST_ACK: 9,
    LISTEN: 10,
    CLOSING: 11,
  });
  assert.ok(Object.isFrozen(TCP_STATES));
});

test("TcpInfo of an IPv6 connection by address pair", async (t) => {
  let srv;
  try {
    srv = await acceptingServer("::1");
  } catch {
    t.skip("::1 is unavailable on this machine (no IPv6 loopback): IPv6 TcpInfo not tested");
    return;
  }
  await using _srv = srv;
  const client = await connect({ host: "::1", port: srv.port });
  const info = TcpInfo.fromAddress(`[::1]:${client.localPort}`, `[::1]:${srv.port}`);
  assert.equal(info.stateName, "ESTABLISHED");
  await closeAll([client]);
});

test("fromAddress finds IPv4 clients of a dual-stack [::] listener", async (t) => {
  let srv;
  try {
    srv = await acceptingServer("::");
  } catch {
    t.skip("no IPv6 wildcard listener here: dual-stack TcpInfo not tested");
    return;
  }
  await using _srv = srv;
  const client = await connect({ host: "127.0.0.1", port: srv.port });
  await waitFor(() => srv.conns.length === 1, () => srv.conns.length);
  const info = TcpInfo.fromAddress(`127.0.0.1:${srv.port}`, `127.0.0.1:${client.localPort}`);
  assert.equal(info.stateName, "ESTABLISHED");
  await closeAll([client]);
});

test("fromFd: EBADF for a closed descriptor, ENOTSOCK for a regular file", () => {
  const dir = mkdtempSync(join(tmpdir(), "raindrops-test-tcpinfo-"));
  try {
    const fd = openSync(join(dir, "plain"), "w");
    assert.throws(
      () => TcpInfo.fromFd(fd),
      (e: Error) => e instanceof NativeError && e.code === "ENOTSOCK" && /getsockopt/.test(e.message),
    );
    closeSync(fd);
    assert.throws(() => TcpInfo.fromFd(fd), (e: Error) => e instanceof NativeError && e.code === "EBADF");
    assert.throws(() => TcpInfo.fromFd(0x7fffffff), (e: Error) => e instanceof NativeError && e.code === "EBADF");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("fromFd: a non-TCP socket is an error, not garbage", () => {
  const sock = new InetDiagSocket(); // a netlink socket
  try {
    assert.throws(() => TcpInfo.fromFd(sock.fd), NativeError);
  } finally {
    sock.close();
  }
});

test("fromAddress: no such connection is a NativeError with code ENOENT", async () => {
  assert.throws(
    () => TcpInfo.fromAddress("127.0.0.1:1", "127.0.0.1:2"),
    (e: Error) =>
      e instanceof NativeError && e.code === "ENOENT" && e.errno === 2 && /no such connection/.test(e.message),
  );
  assert.throws(
    () => TcpInfo.fromAddress("[::1]:1", "[::1]:2"),
    (e: Error) => e instanceof NativeError && e.code === "ENOENT",
  );
  // A connection that goes away: refresh() then reports ENOENT.
  await using srv = await acceptingServer("127.0.0.1");
  const client = await connect({ host: "127.0.0.1", port: srv.port });
  const info = TcpInfo.fromAddress(`127.0.0.1:${client.localPort}`, `127.0.0.1:${srv.port}`);
  client.resetAndDestroy();
  await waitFor(() => {
    try {
      info.refresh();
      return false;
    } catch (e) {
      return e instanceof NativeError && e.code === "ENOENT";
    }
  }, () => info.stateName);
});

test("fromAddress and fromFd reject malformed addresses and wrong types", () => {
  const bad = ["127.0.0.1", "127.0.0.1:70000", "[::1:80", "host:80", "1.2.3.4:x"];
  for (const b of bad) {
    assert.throws(() => TcpInfo.fromAddress(b, "127.0.0.1:80"), RangeError, b);
    assert.throws(() => TcpInfo.fromAddress("127.0.0.1:80", b), RangeError, b);
  }
  assert.throws(() => TcpInfo.fromAddress("127.0.0.1:80", "[::1]:80"), RangeError);
  // deno-lint-ignore no-explicit-any
  const T = TcpInfo as any;
  assert.throws(() => T.fromAddress(80, "127.0.0.1:80"), TypeError);
  assert.throws(() => T.fromAddress("127.0.0.1:80", "127.0.0.1:81", {}), TypeError);
  assert.throws(() => T.fromFd("3"), TypeError);
  assert.throws(() => T.fromFd(-1), RangeError);
  assert.throws(() => T.fromFd(1.5), RangeError);
  assert.throws(() => T.fromFd(2 ** 31), RangeError);
});

test("get() rejects unknown field names", async () => {
  await using srv = await acceptingServer("127.0.0.1");
  const client = await connect({ host: "127.0.0.1", port: srv.port });
  const info = TcpInfo.fromAddress(`127.0.0.1:${client.localPort}`, `127.0.0.1:${srv.port}`);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => info.get("no_such_field" as any), RangeError);
  await closeAll([client]);
});

test("fromAddress through a closed InetDiagSocket throws ClosedError", () => {
  const sock = new InetDiagSocket();
  sock.close();
  assert.throws(() => TcpInfo.fromAddress("127.0.0.1:1", "127.0.0.1:2", sock), ClosedError);
});

test("10,000 TcpInfo reads leave the open-fd count and RSS flat", async () => {
  await using srv = await acceptingServer("127.0.0.1");
  const client = await connect({ host: "127.0.0.1", port: srv.port });
  const local = `127.0.0.1:${client.localPort}`, remote = `127.0.0.1:${srv.port}`;
  const fd = fdOfTcpSocket({ host: "127.0.0.1", port: client.localPort! }, { host: "127.0.0.1", port: srv.port });
  const sock = new InetDiagSocket();
  const info = TcpInfo.fromAddress(local, remote, sock);
  const round = (n: number) => {
    for (let i = 0; i < n; i++) {
      info.refresh();
      TcpInfo.fromFd(fd);
      if (i % 100 === 0) TcpInfo.fromAddress(local, remote); // a temporary socket
    }
  };
  const growth = fdAndRssGrowth(round);
  assert.equal(growth.fds, 0, "open descriptors leaked");
  assert.ok(growth.rssMiB < 16, `RSS grew ${growth.rssMiB.toFixed(1)} MiB over 10,000 reads`);
  sock.close();
  await closeAll([client]);
});
