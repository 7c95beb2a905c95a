// The Table SDK's continuation token is base64 of {"nextPartitionKey": ..., "nextRowKey": ...};
// anything else would make it throw deep inside a query, so a caller's token is checked first.
export function isContinuationToken(token: string): boolean {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64').toString('latin1')) as unknown;
    return typeof (decoded as { nextPartitionKey?: unknown } | null)?.nextPartitionKey === 'string';
  } catch {
    return false;
  }
}
