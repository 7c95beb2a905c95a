import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of the Azurite Table service started for this run. */
    tableConnectionString: string;
    /** A loopback TLS certificate the Graph simulator serves; the test workers trust it. */
    simulatorTls: { cert: string; key: string };
  }
}
