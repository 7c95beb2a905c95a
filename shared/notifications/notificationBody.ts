// The largest notification body the bot reads. Graph's biggest deliveries are rosters: a
// participant is about 1 KB, so even a 1,000-person meeting stays well under this. A body over it
// is refused before it is read in full: it would be just as large when delivered again, so it can
// never be handled, and a 4xx (not redelivered) is the right answer.
export const MAX_NOTIFICATION_BODY_BYTES = 4 * 1024 * 1024;

/** The parts of an HTTP request the body reader needs (`HttpRequest` of @azure/functions has them). */
export interface BodySource {
  headers: { get(name: string): string | null };
  body: { getReader(): ReadableStreamDefaultReader<Uint8Array> } | null;
}

export type BodyText = { ok: true; text: string } | { ok: false; reason: string };

/**
 * The request body as text, read no further than `maxBytes`: a `content-length` over the limit is
 * refused unread, and a body that runs past it (chunked, or a lying header) is cut off there.
 */
export async function readBodyWithin(request: BodySource, maxBytes = MAX_NOTIFICATION_BODY_BYTES): Promise<BodyText> {
  const tooLarge: BodyText = { ok: false, reason: `body larger than ${maxBytes} bytes` };
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) return tooLarge;
  if (!request.body) return { ok: true, text: '' };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return tooLarge;
    }
    chunks.push(value);
  }
  return { ok: true, text: Buffer.concat(chunks).toString('utf8') };
}
