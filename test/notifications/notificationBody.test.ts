import { describe, expect, it } from 'vitest';
import { readBodyWithin } from '../../shared/notifications/notificationBody.js';

/** A request whose body arrives in `chunks`, counting how many of them were pulled. */
function streamed(chunks: string[], contentLength?: string) {
  const pulled = { count: 0, cancelled: false };
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const next = chunks[pulled.count++];
        if (next === undefined) controller.close();
        else controller.enqueue(encoder.encode(next));
      },
      cancel() {
        pulled.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  ); // pulled only when read
  const headers = new Headers(contentLength === undefined ? {} : { 'content-length': contentLength });
  return { request: { headers, body }, pulled };
}

describe('readBodyWithin', () => {
  it('reads a body within the limit, multi-byte characters across chunks included', async () => {
    const euro = new TextEncoder().encode('€');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array([...new TextEncoder().encode('{"a":"'), euro[0]!]));
        controller.enqueue(new Uint8Array([euro[1]!, euro[2]!, ...new TextEncoder().encode('"}')]));
        controller.close();
      },
    });
    expect(await readBodyWithin({ headers: new Headers(), body }, 100)).toEqual({ ok: true, text: '{"a":"€"}' });
  });

  it('stops reading a body that runs past the limit, whatever its header said', async () => {
    const { request, pulled } = streamed(['x'.repeat(6), 'x'.repeat(6), 'x'.repeat(6), 'x'.repeat(6)], '10');
    expect(await readBodyWithin(request, 10)).toEqual({ ok: false, reason: 'body larger than 10 bytes' });
    expect(pulled.count).toBe(2);
    expect(pulled.cancelled).toBe(true);
  });

  it('refuses a body whose content-length is over the limit without reading it', async () => {
    const { request, pulled } = streamed(['{}'], '11');
    expect(await readBodyWithin(request, 10)).toEqual({ ok: false, reason: 'body larger than 10 bytes' });
    expect(pulled.count).toBe(0);
  });

  it('reads a missing body as empty', async () => {
    expect(await readBodyWithin({ headers: new Headers(), body: null }, 10)).toEqual({ ok: true, text: '' });
  });
});
