/**
 * The connections of Node servers (`@hono/node-server`), each taken once:
 * at accept, from the `connection` event of a server attached (given to
 * `attach`, or found at a first request as the server that accepted its
 * socket), else at its first request. Node hands the socket itself, so a
 * connection is known by its object: a WeakSet of the sockets taken needs
 * no sweep, no sock_diag lookup and no arrival watch.
 *
 * @module
 */
import { NoConnectionError } from "../errors.ts";
import { TcpInfo } from "../linux/tcp_info.ts";
import { acceptingServerOf, onAccept, socketFd } from "../server/_server_env.ts";
import type { Samples } from "./_samples.ts";

/**
 * Node sockets taken so far, and the servers attached.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { Aggregate } from "../aggregate/aggregate.ts";
 * import { AcceptedSockets } from "./_accepted_sockets.ts";
 * import { Samples } from "./_samples.ts";
 * const sockets = new AcceptedSockets(new Samples(new Aggregate(), 1));
 * sockets.attach(createServer()); // true: its accepts are taken from now on
 * sockets.close();
 * ```
 */
export class AcceptedSockets implements Disposable {
  readonly #taken = new WeakSet<object>();
  /** Each attached server with the function that detaches it. */
  readonly #servers = new Map<object, () => void>();
  readonly #samples: Samples;
  readonly #accepted = (socket: object): void => this.#take(socket);

  /** Each connection, at accept or at its first request, is read into `samples` when sampled. */
  constructor(samples: Samples) {
    this.#samples = samples;
  }

  /** Servers attached now (detached when they close). */
  get servers(): number {
    return this.#servers.size;
  }

  /** Takes the connections `server` accepts from now on; false when it is no Node server. */
  attach(server: object): boolean {
    if (this.#servers.has(server)) return true;
    const detach = onAccept(server, this.#accepted, () => this.#detach(server));
    if (detach) this.#servers.set(server, detach);
    return detach !== undefined;
  }

  /**
   * A request on `socket` (see `requestSocketOf`): its connection is taken
   * when new, and the server that accepted it is attached, so that its
   * later connections are taken at accept.
   */
  request(socket: object): void {
    if (this.#taken.has(socket)) return;
    const server = acceptingServerOf(socket);
    if (server !== undefined) this.attach(server);
    this.#take(socket);
  }

  #take(socket: object): void {
    if (this.#taken.has(socket)) return;
    this.#taken.add(socket);
    if (!this.#samples.sampled()) return;
    try {
      const fd = socketFd(socket);
      if (fd === undefined) throw new NoConnectionError("the Node socket has no descriptor (closed already)");
      this.#samples.add(TcpInfo.fromFd(fd).get("last_data_recv"));
    } catch (e) {
      this.#samples.fail(e); // never into the server's connection event
    }
  }

  #detach(server: object): void {
    this.#servers.get(server)?.();
    this.#servers.delete(server);
  }

  /** Detaches every server. */
  close(): void {
    for (const server of [...this.#servers.keys()]) this.#detach(server);
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
