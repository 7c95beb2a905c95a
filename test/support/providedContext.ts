import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of the Azurite account (Table and Queue services) started for this run. */
    storageConnectionString: string;
    /** Table and Queue endpoints of Azurite served over https with `--oauth basic`: bearer tokens' issuer, audience and lifetime are checked. */
    identityStorageEndpoints: { table: string; queue: string };
    /** A loopback TLS certificate the Graph simulator serves; the test workers trust it. */
    simulatorTls: { cert: string; key: string };
  }
}
