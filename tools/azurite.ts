import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

// Azurite's well-known development account (public, documented by Azurite; not a secret).
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export type AzuriteService = 'table' | 'queue';

export interface RunningAzurite {
  service: AzuriteService;
  port: number;
  /** Its process, for the benchmark's CPU accounting. */
  pid: number | undefined;
  stop: () => Promise<void>;
}

/** A connection string for the account that reaches each given service on its own port. */
export function azuriteConnectionString(services: readonly RunningAzurite[]): string {
  const endpoints = services.map(
    ({ service, port }) => `${service === 'table' ? 'Table' : 'Queue'}Endpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`,
  );
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};${endpoints.join('')}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Azurite exited early with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Azurite did not listen on ${port} within ${timeoutMs} ms`);
}

/** The account's endpoint of a service started with `tls`: what a managed-identity client is given. */
export function azuriteEndpoint({ port }: RunningAzurite): string {
  return `https://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
}

export interface AzuriteOptions {
  /** Serve https with this certificate and accept Entra bearer tokens (`--oauth basic`), as Azure does. */
  tls?: { certFile: string; keyFile: string };
}

/** Starts one Azurite service (in memory, no telemetry) on a free port, never the default one. */
export async function startAzurite(service: AzuriteService, options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      join(process.cwd(), 'node_modules', 'azurite', 'dist', 'src', service, 'main.js'),
      `--${service}Host`,
      '127.0.0.1',
      `--${service}Port`,
      String(port),
      '--inMemoryPersistence',
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--silent',
      ...(options.tls ? ['--cert', options.tls.certFile, '--key', options.tls.keyFile, '--oauth', 'basic'] : []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    await waitForPort(port, child, 30_000);
  } catch (error) {
    child.kill();
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    service,
    port,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
