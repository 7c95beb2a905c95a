import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of the Azurite account (Table and Queue services) started for this run. */
    storageConnectionString: string;
    /** A loopback TLS certificate the Graph simulator serves; the test workers trust it. */
    simulatorTls: { cert: string; key: string };
  }
}
