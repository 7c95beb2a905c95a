import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { azuriteConnectionString, azuriteEndpoint, startAzurite } from '../../tools/azurite.js';
import { loopbackCertificate } from '../../tools/loopbackCertificate.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tls = await loopbackCertificate();
  const dir = await mkdtemp(join(tmpdir(), 'calling-bot-test-'));
  const caFile = join(dir, 'simulator-ca.pem');
  await writeFile(caFile, tls.cert);
  // Read by Node at start-up: the forked test workers inherit it and trust the simulator's TLS.
  process.env['NODE_EXTRA_CA_CERTS'] = caFile;

  const keyFile = join(dir, 'simulator-key.pem');
  await writeFile(keyFile, tls.key);
  const identityTls = { certFile: caFile, keyFile };

  const services = await Promise.all([
    startAzurite('table'),
    startAzurite('queue'),
    startAzurite('table', { tls: identityTls }),
    startAzurite('queue', { tls: identityTls }),
  ]);
  const [table, queue, identityTable, identityQueue] = services;
  project.provide('storageConnectionString', azuriteConnectionString([table, queue]));
  project.provide('identityStorageEndpoints', { table: azuriteEndpoint(identityTable), queue: azuriteEndpoint(identityQueue) });
  project.provide('simulatorTls', tls);

  return async () => {
    await Promise.all(services.map((service) => service.stop()));
    await rm(dir, { recursive: true, force: true });
  };
}
