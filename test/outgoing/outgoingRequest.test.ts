import { describe, expect, it } from 'vitest';
import { parseOutgoingCallRequest, type OutgoingCallSettings } from '../../shared/outgoing/outgoingRequest.js';
import { outgoingCallBody } from '../../shared/outgoing/outgoingCallBody.js';

const BOT_APP = '0b1e3f55-7d2a-4c8e-9f00-5a1c2d3e4f50';
const BOT_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const INSTANCE = '3d913abb-aec0-4964-8fa6-3c6850c4f278';
const U1 = '112f7296-5fa4-42ca-bae8-6a692b15d4b8';
const U2 = '98da8a1a-1b87-452c-a713-65d3f10b5555';
const OTHER_TENANT = 'aa67bd4c-8475-432d-bd41-39f255720e0a';

const settings: OutgoingCallSettings = {
  botAppId: BOT_APP,
  botTenantId: BOT_TENANT,
  pstn: { applicationInstanceId: INSTANCE, displayName: 'Calling Bot' },
};
const noPstn: OutgoingCallSettings = { ...settings, pstn: undefined };

describe('parseOutgoingCallRequest', () => {
  it('reads a peer-to-peer call with a prompt, key presses and a hang-up rule, in the bot tenant', () => {
    const parsed = parseOutgoingCallRequest(
      {
        targets: [{ userId: U1, displayName: 'John' }],
        prompt: 'https://cdn.example.com/alert.wav',
        collectTone: true,
        hangUpAfter: 'tone',
        clientContext: 'incident-42',
      },
      settings,
    );
    expect(parsed).toEqual({
      ok: true,
      call: {
        targets: [{ kind: 'user', userId: U1, displayName: 'John' }],
        tenantId: BOT_TENANT,
        source: { kind: 'application', id: BOT_APP },
        prompt: 'https://cdn.example.com/alert.wav',
        collectTone: true,
        hangUpAfter: 'tone',
        clientContext: 'incident-42',
      },
    });
  });

  it("uses the user targets' tenant, and the application instance for a phone number", () => {
    const group = parseOutgoingCallRequest(
      {
        targets: [
          { userId: U1, tenantId: OTHER_TENANT },
          { userId: U2, tenantId: OTHER_TENANT },
        ],
      },
      settings,
    );
    expect(group.ok && group.call.tenantId).toBe(OTHER_TENANT);
    const phone = parseOutgoingCallRequest({ targets: [{ phone: '+14255550123' }], hangUpAfter: null }, settings);
    expect(phone.ok && phone.call).toEqual({
      targets: [{ kind: 'phone', phone: '+14255550123' }],
      tenantId: BOT_TENANT,
      source: { kind: 'applicationInstance', id: INSTANCE, displayName: 'Calling Bot' },
      collectTone: false,
    });
  });

  it.each([
    ['not an object', [], 'body must be a JSON object'],
    ['no targets', {}, 'targets must be a list of targets'],
    ['no target in the list', { targets: [] }, 'targets must name at least one target'],
    ['six targets', { targets: Array.from({ length: 6 }, () => ({ userId: U1 })) }, 'targets must name at most 5 targets'],
    ['a phone and a user', { targets: [{ phone: '+14255550123' }, { userId: U1 }] }, 'targets mix phone numbers and users'],
    ['two phones', { targets: [{ phone: '+14255550123' }, { phone: '+14255550124' }] }, 'give one phone target'],
    ['a number with spaces', { targets: [{ phone: '+1 425 555 0123' }] }, 'targets[0].phone must be an E.164 number'],
    ['a number without +', { targets: [{ phone: '14255550123' }] }, 'targets[0].phone must be an E.164 number'],
    ['a number too short', { targets: [{ phone: '+12345' }] }, 'targets[0].phone must be an E.164 number'],
    ['a number too long', { targets: [{ phone: '+1234567890123456' }] }, 'targets[0].phone must be an E.164 number'],
    ['a user id that is no GUID', { targets: [{ userId: 'john@contoso.com' }] }, 'targets[0].userId must be an Entra object id (GUID)'],
    ['a bad tenant id', { targets: [{ userId: U1, tenantId: 'contoso' }] }, 'targets[0].tenantId must be a tenant id (GUID)'],
    [
      'users in two tenants',
      {
        targets: [
          { userId: U1, tenantId: OTHER_TENANT },
          { userId: U2, tenantId: BOT_TENANT },
        ],
      },
      'user targets are in different tenants',
    ],
    [
      "a user in another tenant beside one in the bot's",
      { targets: [{ userId: U1 }, { userId: U2, tenantId: OTHER_TENANT }] },
      'user targets are in different tenants',
    ],
    ['the same user twice', { targets: [{ userId: U1 }, { userId: U1.toUpperCase() }] }, 'targets name the same user twice'],
    ['a target with neither', { targets: [{ email: 'john@contoso.com' }] }, 'targets[0] must have userId (a Teams user) or phone'],
    ['a target with both', { targets: [{ userId: U1, phone: '+14255550123' }] }, 'targets[0] gives both userId and phone'],
    ['an unknown target field', { targets: [{ userId: U1, upn: 'x' }] }, 'targets[0]: unknown field "upn"'],
    ['an unknown field', { targets: [{ userId: U1 }], callback: 'x' }, 'unknown field "callback"'],
    ['hangUpAfter prompt without a prompt', { targets: [{ userId: U1 }], hangUpAfter: 'prompt' }, 'hangUpAfter is "prompt" but no prompt'],
    [
      'hangUpAfter tone without collectTone',
      { targets: [{ userId: U1 }], hangUpAfter: 'tone', collectTone: false },
      'hangUpAfter is "tone" but collectTone is not true',
    ],
    ['another hangUpAfter', { targets: [{ userId: U1 }], hangUpAfter: 'never' }, 'hangUpAfter must be "prompt", "tone" or null'],
    ['an http prompt', { targets: [{ userId: U1 }], prompt: 'http://cdn.example.com/a.wav' }, 'prompt must be an https URL'],
    ['collectTone as a string', { targets: [{ userId: U1 }], collectTone: 'yes' }, 'collectTone must be true or false'],
    ['a long clientContext', { targets: [{ userId: U1 }], clientContext: 'x'.repeat(257) }, 'clientContext must be at most 256 characters'],
  ])('refuses %s', (_, body, reason) => {
    const parsed = parseOutgoingCallRequest(body, settings);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toContain(reason);
  });

  it('refuses a phone target when no application instance is configured, naming the setting', () => {
    const parsed = parseOutgoingCallRequest({ targets: [{ phone: '+14255550123' }] }, noPstn);
    expect(!parsed.ok && parsed.reason).toContain('PSTN_APPLICATION_INSTANCE_ID');
  });
});

describe('outgoingCallBody', () => {
  const callback = 'https://bot.example.com/api/calls?joinId=1';

  it('is the peer-to-peer example: one user target, no source', () => {
    const parsed = parseOutgoingCallRequest({ targets: [{ userId: U1, displayName: 'John' }] }, settings);
    expect(outgoingCallBody(parsed.ok ? parsed.call : (undefined as never), callback)).toEqual({
      '@odata.type': '#microsoft.graph.call',
      callbackUri: callback,
      targets: [
        {
          '@odata.type': '#microsoft.graph.invitationParticipantInfo',
          identity: {
            '@odata.type': '#microsoft.graph.identitySet',
            user: { '@odata.type': '#microsoft.graph.identity', displayName: 'John', id: U1 },
          },
        },
      ],
      requestedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      tenantId: BOT_TENANT,
    });
  });

  it('is the group-call example: direction outgoing and the bot as source', () => {
    const parsed = parseOutgoingCallRequest({ targets: [{ userId: U1 }, { userId: U2 }] }, settings);
    const body = outgoingCallBody(parsed.ok ? parsed.call : (undefined as never), callback);
    expect(body.direction).toBe('outgoing');
    expect(body.source).toEqual({
      '@odata.type': '#microsoft.graph.participantInfo',
      identity: { '@odata.type': '#microsoft.graph.identitySet', application: { '@odata.type': '#microsoft.graph.identity', id: BOT_APP } },
    });
    expect(body.targets).toHaveLength(2);
  });

  it('is the PSTN example: the application instance as source, an E.164 phone target', () => {
    const parsed = parseOutgoingCallRequest({ targets: [{ phone: '+12345678901' }] }, settings);
    const body = outgoingCallBody(parsed.ok ? parsed.call : (undefined as never), callback);
    expect(body).toMatchObject({
      source: {
        '@odata.type': '#microsoft.graph.participantInfo',
        identity: {
          '@odata.type': '#microsoft.graph.identitySet',
          applicationInstance: { '@odata.type': '#microsoft.graph.identity', displayName: 'Calling Bot', id: INSTANCE },
        },
      },
      targets: [
        {
          '@odata.type': '#microsoft.graph.invitationParticipantInfo',
          identity: {
            '@odata.type': '#microsoft.graph.identitySet',
            phone: { '@odata.type': '#microsoft.graph.identity', id: '+12345678901' },
          },
        },
      ],
      tenantId: BOT_TENANT,
    });
    expect(body.direction).toBeUndefined();
  });
});
