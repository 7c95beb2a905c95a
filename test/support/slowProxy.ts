import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on loopback in front of a real service (Azurite), holding each chunk the client
 * sends for `delayMs` before passing it on: slow storage, with nothing about the service faked.
 */
export class SlowProxy {
  delayMs = 0;
  /** Responses to throw away (the connection is cut instead): a request that was done, its answer lost. */
  dropResponses = 0;
  /** The next request with this HTTP method (or request line start, `POST /devstoreaccount1/$batch`) has its response thrown away (once). */
  dropResponseTo: string | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly targetPort: number) {}

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  async start(): Promise<this> {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      let queue = Promise.resolve();
      let dropThisResponse = false;
      client.on('data', (chunk) => {
        if (this.dropResponseTo !== undefined && chunk.toString('latin1').startsWith(`${this.dropResponseTo} `)) {
          this.dropResponseTo = undefined;
          dropThisResponse = true;
        }
        const delay = this.delayMs;
        queue = queue.then(() => new Promise<void>((resolve) => setTimeout(() => (upstream.write(chunk), resolve()), delay)));
      });
      upstream.on('data', (chunk) => {
        if (this.dropResponses > 0 || dropThisResponse) {
          if (dropThisResponse) dropThisResponse = false;
          else this.dropResponses--;
          client.destroy();
          upstream.destroy();
          return;
        }
        client.write(chunk);
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

/** The Table endpoint's port in an Azurite connection string. */
export function tablePortOf(connectionString: string): number {
  const port = /TableEndpoint=http:\/\/127\.0\.0\.1:(\d+)\//.exec(connectionString)?.[1];
  if (!port) throw new Error('no Table endpoint in the connection string');
  return Number(port);
}
