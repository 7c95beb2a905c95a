import type { XmlOptions } from '@azure/core-xml';

// @azure/data-tables' TableClient hands the storage pipeline an XML parser and serializer at
// construction, for the few Table operations whose bodies are XML (access policies, service
// properties). The app makes none of them, yet importing the serializer statically puts the XML
// library (about 100 KB) into what every cold instance parses before its first answer. The bundle
// gives the Table SDK this module in its place (esbuild.options.mjs): the parser loads the real one
// on first use, so an XML response is still read as before.

/** As @azure/core-xml's parseXML, which it loads on first use. */
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
