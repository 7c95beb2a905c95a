import * as coreXml from '@azure/core-xml';
import { expect, it } from 'vitest';
import signing from '../shared/identityCertificateSigning.js';
import * as tableXml from '../shared/storage/tableXml.js';

// The modules the bundle gives two packages in place of a dependency (esbuild.options.mjs).

// A Table access policy, as Get Table ACL returns it
// (https://learn.microsoft.com/en-us/rest/api/storageservices/get-table-acl), and a storage error.
const ACCESS_POLICY = `<?xml version="1.0" encoding="utf-8"?><SignedIdentifiers><SignedIdentifier><Id>policy-1</Id><AccessPolicy><Start>2026-11-01T00:00:00.0000000Z</Start><Expiry>2026-12-01T00:00:00.0000000Z</Expiry><Permission>raud</Permission></AccessPolicy></SignedIdentifier></SignedIdentifiers>`;
const STORAGE_ERROR = `<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.</Message></Error>`;

it("reads XML as @azure/core-xml's parser does, handing the document to it", async () => {
  for (const document of [ACCESS_POLICY, STORAGE_ERROR]) {
    for (const options of [{}, { includeRoot: true }]) {
      expect(await tableXml.parseXML(document, options)).toEqual(await coreXml.parseXML(document, options));
    }
  }
  expect(await tableXml.parseXML(STORAGE_ERROR)).toMatchObject({ Code: 'AuthenticationFailed' });
  await expect(tableXml.parseXML('')).rejects.toThrow('Document is empty');
  await expect(tableXml.parseXML('<Error><Code>')).rejects.toBeDefined();
});

it('refuses to write XML, naming where to look', () => {
  expect(() => tableXml.stringifyXML()).toThrow(/does not send XML to Table storage.*shared\/storage\/tableXml\.ts/);
});

it('refuses to sign a certificate assertion, naming where to look', () => {
  expect(() => signing.sign()).toThrow(/cannot sign certificate credential assertions.*shared\/identityCertificateSigning\.ts/);
});
