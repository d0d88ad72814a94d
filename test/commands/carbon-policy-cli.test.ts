import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cli carbon and policy', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'greentrainer-policy-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('checks every example policy', () => {
    const files = readdirSync(join(root, 'config/policies')).map((f) => `config/policies/${f}`);
    const r = cli(['policy', 'check', ...files]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /config\/policies\/balanced.yaml: ok \(linear map, ρ 0.35–1, hysteresis 5.0 %, min_dwell 15m, pause ≥ 450 g\/kWh\)/,
    );
  });

  it('fails a malformed policy naming the file, line and column', () => {
    const r = cli(['policy', 'check', 'test/fixtures/policies/bad/unknown-key.yaml']);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /test\/fixtures\/policies\/bad\/unknown-key.yaml:6:3: policy.hysterisis: unknown key 'hysterisis'/,
    );
  });

  it('simulates a policy on a trace against the three baselines and writes the chart', () => {
    const chart = join(dir, 'chart.svg');
    const r = cli([
      'policy',
      'simulate',
      'config/policies/balanced.yaml',
      '--trace',
      'config/traces/uk-day.csv',
      '--steps',
      '2000',
      '--step-seconds',
      '10',
      '--step-flops',
      '1e15',
      '--chart',
      chart,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /^full \(ρ 1\) +2000 +2026-04-14 \d\d:\d\d:\d\d +1\.000 +\S+ EFLOP +\S+ kWh +\S+ g +0s +\d+\.\d %$/m,
    );
    assert.match(r.stdout, /^same_compute +2000 /m);
    assert.match(r.stdout, /^shift_only \(ρ 1\) +2000 /m);
    assert.match(readFileSync(chart, 'utf8'), /^<svg /);
  });

  it('refuses to simulate without the job (--steps and --step-seconds, or --from-run)', () => {
    const r = cli([
      'policy',
      'simulate',
      'config/policies/balanced.yaml',
      '--trace',
      'config/traces/uk-day.csv',
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /policy simulate needs --steps N and --step-seconds T, or --from-run DIR/);
  });

  it('prints a reading as JSON', () => {
    const r = cli(['carbon', '--provider', 'static', '--intensity', '250', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.intensity, 250);
    assert.equal(j.provider, 'static');
  });

  it('has help for each new command', () => {
    for (const args of [['carbon'], ['policy'], ['policy', 'check'], ['policy', 'simulate']]) {
      const r = cli([...args, '--help']);
      assert.equal(r.status, 0, args.join(' '));
      assert.match(r.stdout, /^Usage: greentrainer /);
    }
  });
});
