/**
 * Ctrl-C during `lup publish` (issue 11, item 4): the command says what was sent and that
 * re-running resumes, and exits 130 as a shell expects, instead of exiting silently.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { listen } from '../../lib/local/listen';
import { LUP_NODE_ARGS, ROOT } from '../helpers/lup-process';

const SAMPLE = join(ROOT, 'examples', 'sample-game', 'v1', 'sample.zip');

it('reports what was sent and how to resume when interrupted during the upload', async () => {
  // An S3 endpoint that lists nothing and never answers a PUT: the upload is in flight when Ctrl-C comes.
  let putArrived: () => void = () => undefined;
  const putSeen = new Promise<void>((resolve) => { putArrived = resolve; });
  const server = createServer((req, res) => {
    if (req.method === 'PUT') {
      putArrived();
      return;
    }
    if (req.url?.startsWith('/.well-known/')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>');
  });
  const port = await listen(server, 0, '127.0.0.1');
  try {
    const child = spawn(process.execPath, [...LUP_NODE_ARGS, 'publish', SAMPLE, '--game', 'sample', '--channel', 'stable', '--endpoint', `http://127.0.0.1:${port}`, '--bucket', 'b', '--cdn', 'http://127.0.0.1:1/'], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await putSeen;
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/✖ interrupted: 0 of 1 object\(s\) \(0\.\d MB\) were sent to staging\/sample\/[a-z0-9-]+\/; nothing was released and the channel is unchanged\./);
    expect(stderr).toContain('Run the same command again to resume');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
