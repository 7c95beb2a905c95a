import type { XmlOptions } from '@azure/core-xml';

// What the bundle gives @azure/data-tables in place of @azure/core-xml (esbuild.options.mjs). The
// Table SDK hands the storage pipeline an XML parser and serializer when a client is built. The
// pipeline parses any response that comes as XML: the few operations whose answers are XML (access
// policies, service properties), and an error the service may send as XML to any request. It
// serializes only the bodies of setAccessPolicy and the service's setProperties, which the app
// never sends (eslint.config.js refuses them); its Table operations send JSON, and transactions
// build their own bodies. Imported statically, the XML library (about 100 KB) was read and run by
// every cold instance before its first answer.

/** As @azure/core-xml's parseXML (asynchronous there too), which it loads on first use. */
export async function parseXML(str: string, opts?: XmlOptions): Promise<unknown> {
  const xml = await import('@azure/core-xml');
  return xml.parseXML(str, opts);
}

/**
 * The serializer is synchronous, so it cannot be loaded on first use: the Table operations that
 * need it (setAccessPolicy, the service's setProperties) are refused with an error that says why.
 */
export function stringifyXML(): string {
  throw new Error(
    'This build of the app does not send XML to Table storage (access policies, service properties): see shared/storage/tableXml.ts',
  );
}
