import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TestServer } from '../helpers/http-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the CLI as a child (the test server answers from this process), with its wall time. */
function cli(args: string[]): Promise<{ status: number | null; stderr: string; exitAt: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: root });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  return new Promise((resolve) =>
    child.once('exit', (status) => resolve({ status, stderr, exitAt: Date.now() })),
  );
}

describe('commands/carbon', function () {
  this.timeout(30_000);
  const server = new TestServer();
  before(() => server.start());
  after(() => server.stop());

  it('never runs longer than its timeout × attempts plus backoff against a trickling body', async () => {
    server.routes.set('/intensity', { trickleMs: 100 });
    const args = ['carbon', '-p', 'uk-carbon-intensity', '--base-url', server.url, '--hours', '0'];
    const r = await cli([...args, '--timeout', '1s', '--retries', '1']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      /uk-carbon-intensity: timeout: GET \/intensity: no complete answer within 1000 ms/,
    );
    const requests = server.requests.filter((q) => q.path === '/intensity');
    assert.equal(requests.length, 2, 'one attempt and one retry');
    // The second attempt starts after the first one's deadline and a backoff of at most 1 s (the
    // server stamps a request when it arrives, a few ms after it left: hence the 50 ms below).
    const span = requests[1]!.at - requests[0]!.at;
    assert.ok(span >= 1000 - 50 && span <= 2000 + 250, `second attempt ${span} ms after the first`);
    // From its first request to its exit: 2 × 1 s + at most 1 s backoff (+ exit and scheduling slack).
    const ran = r.exitAt - requests[0]!.at;
    assert.ok(ran <= 3000 + 750, `the command ran ${ran} ms after its first request`);
  });
});
