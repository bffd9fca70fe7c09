/**
 * Adversary finding F3 (issue 12 review): while a local stack stops, the event router waits for the
 * deliveries in flight; a write answered 200 in that window would never reach the pipeline (its
 * event is dead-lettered, and nothing re-reads staging later). Outside writes are refused first.
 */
import { startTestStack } from '../helpers/pipeline-stack';
import { s3Request, DOCUMENTED_PUBLISHER } from '../helpers/sigv4-request';

it('refuses writes (503) once stop() began, so no write answered 200 is lost', async () => {
  const letters: string[] = [];
  const stack = await startTestStack({
    faults: { delayMs: (key: string) => (key.endsWith('/slow.zip') ? 1500 : 0) },
    onDeadLetter: (l) => letters.push(`${l.key}: ${l.message}`),
  });
  try {
    const put = (key: string) => s3Request(stack.s3Endpoint, `/${stack.bucket}/${key}`, { method: 'PUT', body: 'x', sign: DOCUMENTED_PUBLISHER });
    expect((await put('staging/g/u1/slow.zip')).status).toBe(200);
    const stopping = stack.stop();
    await new Promise((r) => setTimeout(r, 100));
    const answer = await put('staging/g/u2/release-request.json');
    await stopping;
    expect(answer.status).toBe(503);
    expect(letters.filter((l) => l.includes('u2'))).toEqual([]);
  } finally {
    await stack.close().catch(() => undefined);
  }
}, 30_000);
