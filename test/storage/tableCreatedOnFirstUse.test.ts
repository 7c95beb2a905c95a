import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { TableClient } from '@azure/data-tables';
import { afterEach, expect, inject, it } from 'vitest';
import { tableCreatedOnFirstUse } from '../../shared/storage/storageClients.js';

let server: Server | undefined;
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

/** A Table endpoint that accepts connections and never answers: storage stalled. */
async function silentEndpoint(): Promise<{ connectionString: string; connections: () => number }> {
  let connections = 0;
  server = createServer((socket) => {
    connections++;
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const connectionString = inject('storageConnectionString').replace(
    /TableEndpoint=http:\/\/127\.0\.0\.1:\d+\//,
    `TableEndpoint=http://127.0.0.1:${port}/`,
  );
  return { connectionString, connections: () => connections };
}

it('gives up a table creation that gets no answer, and tries again on the next use', async () => {
  const { connectionString, connections } = await silentEndpoint();
  const client = TableClient.fromConnectionString(connectionString, 'stalled', {
    allowInsecureConnection: true,
    retryOptions: { maxRetries: 0 },
  });
  const ensure = tableCreatedOnFirstUse(client, 200);

  await expect(ensure()).rejects.toMatchObject({ name: 'AbortError' });
  const afterFirst = connections();
  expect(afterFirst).toBeGreaterThan(0);
  await expect(ensure()).rejects.toMatchObject({ name: 'AbortError' });
  expect(connections()).toBeGreaterThan(afterFirst);
});
