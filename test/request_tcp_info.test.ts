import { test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { AddressError, NativeError, NoConnectionError, RaindropsError } from "../src/errors.ts";
import { connectionOf, requestListener, requestLocalAddress, requestTcpInfo } from "../src/server/connection.ts";
import { InetDiagSocket } from "../src/linux/diag_socket.ts";
import { joinHostPort as hostPort } from "../src/linux/address.ts";
import { TcpInfo } from "../src/linux/tcp_info.ts";
import { socketFdOf } from "../src/server/_server_env.ts";
import { acceptingServer, closeAll, connect, fdOfTcpSocket, ipv6Loopback, waitFor } from "./fixtures/linux_sockets.ts";
import { rawGet, serveHono } from "./fixtures/hono_servers.ts";
import { onlyUnder } from "./fixtures/host_runtime.ts";

/** What the route under test answers. */
interface Seen {
  fields: Record<string, number>;
  local: string;
  conn: { remoteAddress: string; remotePort: number; localPort?: number };
}

/** An app whose /tcp route reports its own connection; errors come back as text with status 500. */
function tcpApp(sock?: InetDiagSocket): Hono {
  const app = new Hono();
  app.get("/tcp", (c) =>
    c.json({
      fields: requestTcpInfo(c, sock).fields,
      local: requestLocalAddress(c, sock),
      conn: connectionOf(c),
    }));
  app.onError((e, c) => c.text(`${e.name}: ${e.message}`, 500));
  return app;
}

/** Serves tcpApp on `host`, GETs /tcp from `client` and checks what the route saw. */
async function checkRoute(host: string, client: string, sock?: InetDiagSocket): Promise<Seen> {
  await using srv = await serveHono(tcpApp(sock), host);
  const res = await rawGet(client, srv.port, "/tcp");
  assert.equal(res.status, 200, res.body);
  const seen: Seen = JSON.parse(res.body);
  assert.equal(seen.fields.state, 1, "ESTABLISHED");
  for (const f of ["rcv_mss", "snd_mss"]) {
    assert.ok(seen.fields[f] >= 500 && seen.fields[f] <= 65535, `${f} = ${seen.fields[f]}`);
  }
  assert.ok(seen.fields.rtt >= 0 && seen.fields.pmtu > 0);
  // The client's end as the server reported it, and the server's end found for it.
  const clientHost = seen.conn.remoteAddress.startsWith("::ffff:") ? `::ffff:${client}` : client;
  assert.equal(hostPort(seen.conn.remoteAddress, seen.conn.remotePort), hostPort(clientHost, res.clientPort));
  assert.equal(seen.local, hostPort(clientHost, srv.port), "the address and port the client reached");
  if (seen.conn.localPort !== undefined) assert.equal(seen.conn.localPort, srv.port);
  return seen;
}

test("a Hono route reads its own connection's TCP_INFO and local address on 127.0.0.1", async () => {
  const seen = await checkRoute("127.0.0.1", "127.0.0.1");
  assert.ok(seen.fields.bytes_received > 0, "the request's bytes were received");
});

test("a Hono route reads its own connection's TCP_INFO and local address on [::1]", async (t) => {
  if (!(await ipv6Loopback())) return t.skip("::1 is unavailable on this machine: IPv6 not tested");
  using sock = new InetDiagSocket();
  await checkRoute("::1", "::1", sock);
  await checkRoute("::1", "::1", sock); // the reused socket serves again
});

test("an IPv4 client of a dual-stack [::] listener finds its connection", async (t) => {
  if (!(await ipv6Loopback())) return t.skip("no IPv6 here: dual-stack not tested");
  const seen = await checkRoute("::", "127.0.0.1");
  // Both runtimes report the client as ::ffff:127.0.0.1; the local end follows suit.
  assert.match(seen.local, /^(\[::ffff:127\.0\.0\.1\]|127\.0\.0\.1):\d+$/);
});

test("fromRemote exposes local and remote, and refresh() re-reads by the address pair", async () => {
  await using srv = await acceptingServer("127.0.0.1");
  const client = await connect({ host: "127.0.0.1", port: srv.port });
  await waitFor(() => srv.conns.length === 1, () => srv.conns.length);
  const remote = `127.0.0.1:${client.localPort}`;
  const info = TcpInfo.fromRemote(remote, { localPort: srv.port });
  assert.equal(info.local, `127.0.0.1:${srv.port}`);
  assert.equal(info.remote, remote);
  assert.equal(info.stateName, "ESTABLISHED");
  assert.equal(info.get("bytes_received"), 0);
  assert.deepEqual(TcpInfo.fromRemote(remote).local, info.local, "without localPort too");

  const got = new Promise((r) => srv.conns[0].once("data", r));
  client.write("ping");
  await got;
  assert.equal(info.refresh().get("bytes_received"), 4);
  assert.equal(info.local, `127.0.0.1:${srv.port}`);
  // The same figures as the exact address pair gives.
  assert.equal(TcpInfo.fromAddress(info.local!, remote).get("bytes_received"), 4);
  // The client's own socket is found by its remote end, the listener.
  assert.equal(TcpInfo.fromRemote(`127.0.0.1:${srv.port}`, { localPort: client.localPort }).local, remote);
  // A connection on another server: the last local end found is a wrong guess there, and is not taken.
  await using srv2 = await acceptingServer("127.0.0.1");
  const client2 = await connect({ host: "127.0.0.1", port: srv2.port });
  assert.equal(TcpInfo.fromRemote(`127.0.0.1:${client2.localPort}`).local, `127.0.0.1:${srv2.port}`);
  assert.equal(TcpInfo.fromRemote(remote).local, `127.0.0.1:${srv.port}`);
  await closeAll([client2]);

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

test("fromRemote: no connection is a NativeError ENOENT, also on the wrong local port", async () => {
  assert.throws(
    () => TcpInfo.fromRemote("127.0.0.1:1"),
    (e: Error) =>
      e instanceof NativeError && e.code === "ENOENT" && /no connection from 127\.0\.0\.1:1/.test(e.message),
  );
  assert.throws(() => TcpInfo.fromRemote("[::1]:1"), (e: Error) => e instanceof NativeError && e.code === "ENOENT");
  await using srv = await acceptingServer("127.0.0.1");
  const client = await connect({ host: "127.0.0.1", port: srv.port });
  const other = srv.port === 65535 ? 1 : srv.port + 1;
  assert.throws(
    () => TcpInfo.fromRemote(`127.0.0.1:${client.localPort}`, { localPort: other }),
    (e: Error) => e instanceof NativeError && e.code === "ENOENT" && e.message.includes(`local port ${other}`),
  );
  await closeAll([client]);
});

test("fromRemote rejects malformed addresses and options", () => {
  for (const bad of ["127.0.0.1", "localhost:80", "[::1:80", "1.2.3.4:70000"]) {
    assert.throws(() => TcpInfo.fromRemote(bad), AddressError, bad);
  }
  // deno-lint-ignore no-explicit-any
  const T = TcpInfo as any;
  assert.throws(() => T.fromRemote(80), TypeError);
  assert.throws(() => T.fromRemote("127.0.0.1:1", null), TypeError);
  assert.throws(() => T.fromRemote("127.0.0.1:1", { localPort: "80" }), TypeError);
  for (const p of [0, -1, 1.5, 65536]) assert.throws(() => T.fromRemote("127.0.0.1:1", { localPort: p }), RangeError);
  assert.throws(() => T.fromRemote("127.0.0.1:1", { sock: {} }), TypeError);
});

test("connectionOf reads Bun's Server, Deno's ServeHandlerInfo and info.remoteAddr by shape", async () => {
  const app = new Hono();
  app.get("/", (c) => c.json(connectionOf(c) ?? null));
  const ask = async (env: unknown) => (await app.request("/", undefined, env)).json();
  let asked: Request | undefined;
  const bunLike = {
    port: 8080,
    requestIP(req: Request) {
      asked = req;
      return { address: "::ffff:127.0.0.1", family: "IPv6", port: 5000 };
    },
  };
  assert.deepEqual(await ask(bunLike), {
    remoteAddress: "::ffff:127.0.0.1",
    remotePort: 5000,
    localPort: 8080,
  });
  assert.ok(asked instanceof Request, "requestIP gets the raw Request");
  assert.deepEqual(await ask({ ...bunLike, port: undefined }), {
    remoteAddress: "::ffff:127.0.0.1",
    remotePort: 5000,
  });
  assert.equal(await ask({ requestIP: () => null, port: 8080 }), null); // a unix socket
  const denoLike = { remoteAddr: { transport: "tcp", hostname: "10.0.0.2", port: 5001 } };
  assert.deepEqual(await ask(denoLike), { remoteAddress: "10.0.0.2", remotePort: 5001 });
  assert.deepEqual(await ask({ info: { remoteAddr: { hostname: "::1", port: 5002 } } }), {
    remoteAddress: "::1",
    remotePort: 5002,
  });
  for (const env of [undefined, {}, { remoteAddr: { transport: "unix", path: "/tmp/s" } }, { info: {} }, "x"]) {
    assert.equal(await ask(env), null, JSON.stringify(env));
  }
});

test("requestTcpInfo and requestLocalAddress throw NO_CONNECTION when c.env tells no client address", async () => {
  const app = new Hono();
  const errors: unknown[] = [];
  app.get("/info", (c) => c.json(requestTcpInfo(c).fields));
  app.get("/local", (c) => c.text(requestLocalAddress(c)));
  app.onError((e, c) => (errors.push(e), c.text(e.message, 500)));
  for (const path of ["/info", "/local"]) assert.equal((await app.request(path)).status, 500);
  assert.equal(errors.length, 2);
  for (const e of errors) {
    assert.ok(e instanceof NoConnectionError && e instanceof RaindropsError);
    assert.equal((e as NoConnectionError).code, "NO_CONNECTION");
    assert.match((e as Error).message, /c\.env tells no client address/);
  }
  // A client address with no such connection is the kernel's answer, ENOENT.
  const gone = await app.request("/info", undefined, { remoteAddr: { hostname: "127.0.0.1", port: 1 } });
  assert.equal(gone.status, 500);
  assert.ok(errors[2] instanceof NativeError && errors[2].code === "ENOENT");
  // A malformed address from the env is an AddressError.
  await app.request("/info", undefined, { remoteAddr: { hostname: "not-an-ip", port: 1 } });
  assert.ok(errors[3] instanceof AddressError);
});

test("requestListener names the listener that accepted the request, whatever address it is bound to", async () => {
  const app = new Hono();
  app.get("/who", (c) => c.text(requestListener(c) ?? "none"));
  const binds: [string, string, (port: number) => string][] = [
    ["127.0.0.1", "127.0.0.1", (p) => `127.0.0.1:${p}`],
    ["0.0.0.0", "127.0.0.1", (p) => `0.0.0.0:${p}`],
  ];
  if (await ipv6Loopback()) binds.push(["::", "127.0.0.1", (p) => `[::]:${p}`], ["::", "::1", (p) => `[::]:${p}`]);
  for (const [host, client, expected] of binds) {
    await using srv = await serveHono(app, host);
    const res = await rawGet(client, srv.port, "/who");
    assert.equal(res.body, expected(srv.port), `bound to ${host}, reached from ${client}`);
  }
  assert.equal((await app.request("/who")).status, 500, "no connection known: it throws (Hono answers 500)");
});

onlyUnder(
  "node",
  "@hono/node-server: the request's own socket descriptor gives its TCP_INFO; the socket tells both ends",
  async () => {
    const app = new Hono();
    app.get("/fd", (c) => {
      const conn = connectionOf(c)!;
      const own = fdOfTcpSocket(
        { host: "127.0.0.1", port: conn.localPort! },
        { host: "127.0.0.1", port: conn.remotePort },
      );
      const info = requestTcpInfo(c);
      return c.json({
        fd: socketFdOf(c.env),
        own,
        conn,
        local: requestLocalAddress(c),
        infoLocal: info.local ?? null,
        state: info.stateName,
      });
    });
    await using srv = await serveHono(app, "127.0.0.1");
    const res = await rawGet("127.0.0.1", srv.port, "/fd");
    assert.equal(res.status, 200, res.body);
    const seen = JSON.parse(res.body);
    assert.equal(seen.fd, seen.own, "socket._handle.fd is the descriptor /proc names for the connection");
    assert.deepEqual(seen.conn, {
      remoteAddress: "127.0.0.1",
      remotePort: res.clientPort,
      localAddress: "127.0.0.1",
      localPort: srv.port,
    });
    assert.equal(seen.local, `127.0.0.1:${srv.port}`);
    assert.equal(seen.infoLocal, null, "read by descriptor, not found by address");
    assert.equal(seen.state, "ESTABLISHED");
  },
);
