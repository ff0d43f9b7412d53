/**
 * A TCP proxy in front of Postgres that a test can cut (every connection dies, new ones are
 * refused) and restore, or freeze: the open connections stop carrying bytes while their
 * sockets stay open, as under a NAT or conntrack drop (new connections still pass), or
 * partition: the same, and new connections hang too.
 */
import net from 'node:net';

export interface CuttableProxy {
  readonly port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  freeze(): void;
  /** A partition: open connections freeze and new ones hang unanswered, until heal(). */
  partition(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startProxy(targetHost: string, targetPort: number): Promise<CuttableProxy> {
  const sockets = new Set<net.Socket>();
  const pairs = new Set<[net.Socket, net.Socket]>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  let server: net.Server;
  let blackhole = false;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server = net.createServer((client) => {
        track(client);
        if (blackhole) return; // accepted, never answered: what a dropped SYN looks like from here
        const upstream = net.connect(targetPort, targetHost);
        const pair: [net.Socket, net.Socket] = [client, upstream];
        track(upstream);
        pairs.add(pair);
        client.pipe(upstream).pipe(client);
        client.on('close', () => (upstream.destroy(), pairs.delete(pair)));
        upstream.on('close', () => client.destroy());
      });
      server.once('error', reject).listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
  const port = await listen(0);
  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const freeze = () => {
    for (const [client, upstream] of pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
    pairs.clear();
  };
  return {
    port,
    cut: stop,
    restore: () => listen(port).then(() => undefined),
    freeze,
    partition: () => ((blackhole = true), freeze()),
    heal: () => void (blackhole = false),
    close: stop,
  };
}
