import { HttpRequest } from '@azure/functions';
import { expect, it } from 'vitest';
import { ConfigError } from '../../shared/config.js';
import { testContext, timer, type LogEntry } from '../support/harness.js';

// A fresh module graph (vitest isolates each file): the exported handlers build their runtime
// from the environment on first use, and must say which setting is wrong.
it('the exported handlers fail with an error naming the missing settings', async () => {
  for (const name of ['BOT_APP_ID', 'BOT_TENANT_ID', 'BOT_CALLBACK_URL', 'AzureWebJobsStorage', 'CALLS_TABLE_CONNECTION']) {
    delete process.env[name];
  }
  process.env['BOT_APP_ID'] = 'app-id';
  process.env['KEEPALIVE_INTERVAL_MINUTES'] = '60';
  const { notifications } = await import('../../functions/notifications.js');
  const { keepAliveSweep } = await import('../../functions/keepAliveSweep.js');
  const logs: LogEntry[] = [];
  const request = new HttpRequest({ method: 'POST', url: 'https://bot.example.test/api/calls', body: { string: '{}' } });

  await expect(notifications(request, testContext('notifications', logs))).rejects.toThrow(ConfigError);
  await expect(keepAliveSweep(timer, testContext('keepAliveSweep', logs))).rejects.toThrow(
    /BOT_TENANT_ID is required.*BOT_CALLBACK_URL is required.*KEEPALIVE_INTERVAL_MINUTES must be a whole number from 0 to 28/,
  );
});
