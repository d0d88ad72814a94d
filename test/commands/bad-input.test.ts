/**
 * Every malformed input under test/fixtures/bad/ (and a few made here: files past a size limit,
 * /dev/zero, corrupt checkpoints, a world-readable token file) run through the real CLI: each
 * exits non-zero with a message naming the file and line or field, or the limit, stays under a
 * 300 MB peak RSS, and never echoes a line of a file that is not the YAML/JSON it asked for, nor a
 * credential (every secret in the fixtures contains SENTINEL or hunter2).
 */
import { strict as assert } from 'node:assert';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointStore } from '../../src/train/checkpoint-store.js';
import { testBackend, useBackend } from '../helpers/backend.js';
import { spawnCollect } from '../helpers/spawn.js';
import { type TinyJob, tinyJob } from '../helpers/tiny-job.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const BAD = 'test/fixtures/bad';
const RSS_HOOK = fileURLToPath(new URL('../helpers/report-max-rss.ts', import.meta.url));
/** A refusal comes before the backend starts (and before a large file is read whole). */
const MAX_RSS_MB = 300;
/** What training the tiny job may add to the backend's own start-up. */
const TRAIN_RSS_MB = 150;
const SECRET = /SENTINEL|hunter2/;

interface Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly maxRssMb: number;
}

/** Runs `greentrainer …args` (through a shell when `pipe` is given: `| head -1`). */
async function cli(args: readonly string[], pipe?: string): Promise<Result> {
  const node = [process.execPath, '--import', 'tsx', '--import', RSS_HOOK, 'src/cli.ts', ...args];
  const [cmd, argv] = pipe
    ? ['bash', ['-o', 'pipefail', '-c', `${node.map((a) => `'${a}'`).join(' ')} ${pipe}`]]
    : [node[0]!, node.slice(1)];
  const { code, stdout, stderr } = await spawnCollect(cmd, argv, {
    cwd: root,
    env: { ...process.env, GREENTRAINER_BACKEND: testBackend() },
  });
  const rss = /\nmax_rss_kb=(\d+)\n/.exec(stderr);
  return {
    status: code,
    stdout,
    stderr: stderr.replace(/\nmax_rss_kb=\d+\n/, ''),
    maxRssMb: rss ? Number(rss[1]) / 1024 : Number.NaN,
  };
}

interface Case {
  readonly name: string;
  readonly args: () => string[];
  /** Each must appear in stderr. */
  readonly expect: readonly RegExp[];
}

/** Runs every case, `parallel` at a time. */
async function runAll(cases: readonly Case[], parallel: number): Promise<Map<string, Result>> {
  const results = new Map<string, Result>();
  const queue = [...cases];
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) results.set(c.name, await cli(c.args()));
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}

/** The checks every refusal must pass. */
function assertRefused(r: Result, expect: readonly RegExp[]): void {
  assert.notEqual(r.status, 0, `exit status 0\n${r.stdout}`);
  for (const e of expect) assert.match(r.stderr, e);
  assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
  assert.ok(r.maxRssMb <= MAX_RSS_MB, `peak RSS ${r.maxRssMb.toFixed(0)} MB > ${MAX_RSS_MB} MB`);
  assert.doesNotMatch(r.stdout + r.stderr, SECRET, 'a secret or a line of a non-YAML file was echoed');
}

const job = (name: string) => ['train', '--job', `${BAD}/jobs/${name}`, '--no-eval'];
const policy = (name: string) => `${BAD}/policies/${name}`;

/** `policy check` of every bad policy at once: it reports each file (file, line, column, field, problem). */
const POLICY_ERRORS: ReadonlyArray<[string, RegExp]> = [
  ['alias-bomb.yaml', /:2:8: too many alias expansions \(\*name\): a YAML alias bomb\?/],
  ['deadline-huge.yaml', /:3:13: map\.deadline: a duration must be at most 3650d/],
  ['deadline-past.yaml', /:3:13: map\.deadline: the deadline is \d+d[\dhms]* before 20\d\d-/],
  [
    'deadline-too-many-intervals.yaml',
    /:4:13: map\.deadline: 365d ahead in 1m intervals is 525600 intervals, over the planner's limit of 10000/,
  ],
  ['deep-nesting.yaml', /:1:\d+: nested too deeply to read/],
  ['hysteresis-099.yaml', /:4:13: hysteresis: hysteresis is a relative band, at most 0\.5/],
  ['interval-1ms.yaml', /:5:13: map\.interval: the planning interval must be at least 1s/],
  ['min-dwell-huge.yaml', /:2:12: min_dwell: a duration must be at most 3650d/],
  ['not-yaml.txt', /:2:9: Nested mappings are not allowed in compact mappings/],
  [
    'not-a-policy.txt',
    /:1:1: expected a policy: a YAML map with keys such as unit, map, rho_min, rho_max; none of its 2 top-level keys is one/,
  ],
  ['pause-above-zero.yaml', /:2:14: pause_above: pause_above must be > 0/],
  ['percentile-above-100.yaml', /:2:43: map\.points\.1\.0: 250 is above 100: with unit percentile/],
  ['steps-default-below-step.yaml', /:4:12: map\.default: ρ must not rise with intensity: default 0\.4/],
  ['window-rho-min-above-max.yaml', /:5:14: windows\.0\.rho_min: rho_min 0\.9 is above rho_max 0\.5/],
];

describe('cli: bad input is refused up front, by name', function () {
  this.timeout(600_000);
  let dir: string;
  let results: Map<string, Result>;
  const cases: Case[] = [];
  const add = (name: string, args: () => string[], ...expect: RegExp[]) => cases.push({ name, args, expect });

  // Policies: one run reports every file.
  add(
    'policy check of every bad policy, a 2 MB policy and /dev/zero',
    () => [
      'policy',
      'check',
      'config/policies/balanced.yaml',
      ...POLICY_ERRORS.map(([f]) => policy(f)),
      join(dir, 'big.yaml'),
      '/dev/zero',
    ],
    ...POLICY_ERRORS.map(([f, e]) => new RegExp(`${policy(f)}${e.source}`)),
    new RegExp(`${POLICY_ERRORS.length + 2} of ${POLICY_ERRORS.length + 3} policies are invalid`),
    /big\.yaml: larger than the 1 MiB limit for a config file/,
    /\/dev\/zero: larger than the 1 MiB limit for a config file/,
  );
  // Daemon configs.
  add(
    'daemon: a port past 65535',
    () => ['daemon', '--config', `${BAD}/daemon/port-99999.yaml`],
    /port-99999\.yaml:8:19: server\.listen: expected a port from 0 to 65535/,
  );
  add(
    'daemon: a budget deadline in the past',
    () => ['daemon', '--config', `${BAD}/daemon/policy-deadline-past.yaml`],
    /policy-deadline-past\.yaml:3:34: policy\.map\.deadline: the deadline is \d+d/,
  );
  add(
    'daemon: a listen host that does not resolve',
    () => ['daemon', '--config', `${BAD}/daemon/unresolvable-host.yaml`],
    /server\.listen greentrainer-no-such-host\.invalid:9464: cannot listen: the host name does not resolve/,
  );
  // Jobs: refused before any training, most before the model loads.
  add(
    'train: lengths past the model positions',
    () => job('lengths-exceed-positions.yaml'),
    /train\.max_input_length \+ train\.max_output_length = 200 \+ 100 = 300 tokens exceed the model's 256 positions \(max_position_embeddings in .*demo\/model\/config\.json\)/,
  );
  add(
    'train: a missing model folder',
    () => job('missing-model.yaml'),
    /model .*test\/fixtures\/bad\/no-such-model: no such folder/,
  );
  add(
    'train: a selection resolution past the selector limit',
    () => job('resolution-too-large.yaml'),
    /selection\.resolution: 68 tensors × resolution 100000000 = 6\.80e\+9 exceeds the selector's limit of N × T_q ≤ 2\^30/,
  );
  add(
    'train: a LoRA rank past the model width',
    () => job('lora-rank-too-large.yaml'),
    /lora\.rank: 1000 exceeds 128, the smallest dimension of the LoRA target weights/,
  );
  add(
    'train: a model config.json that is not JSON',
    () => job('not-json-model-config.yaml'),
    /not-json-config\/config\.json: invalid JSON at line 1, column 1: unexpected character/,
  );
  add(
    'train: a JSONL dataset with a byte-order mark',
    () => job('bom-dataset.yaml'),
    /bom\.jsonl: invalid JSON at line 1, column 1: a UTF-8 byte-order mark \(U\+FEFF\); save the file without it/,
  );
  add(
    'train: a JSONL line that is not JSON',
    () => job('not-json-line.yaml'),
    /not-json-line\.jsonl: invalid JSON at line 2, column 1: unexpected character/,
  );
  add(
    'train: a JSON dataset that is not an array',
    () => job('json-not-array.yaml'),
    /object\.json: expected a JSON array of records/,
  );
  add(
    'train: a record without the target field',
    () => job('missing-field.yaml'),
    /missing-field\.jsonl:1: field 'target' must be a non-empty string or list of strings/,
  );
  add(
    'train: an output folder that cannot be created',
    () => job('unwritable-output.yaml'),
    /create the run folder \(job output\) \/dev\/null\/greentrainer-run: ENOTDIR: not a directory/,
  );
  // Node's own recursive mkdir never returns here (it spun forever: the job wedged, silently).
  add(
    'train: an output folder under /proc',
    () => job('proc-output.yaml'),
    /create the run folder \(job output\) \/proc\/greentrainer-run: ENOENT: no such file or directory/,
  );
  add(
    'train: an unknown selection.moments',
    () => job('unknown-moments.yaml'),
    /unknown-moments\.yaml:3:.*selection\.moments: .*"current".*"fresh".*"keep"/,
  );
  add(
    'train: zero epochs',
    () => job('zero-epochs.yaml'),
    /zero-epochs\.yaml:3:18: train\.epochs: Too small/,
  );
  add(
    'train: a job file that is not YAML',
    () => job('not-a-job.txt'),
    /not-a-job\.txt:1:1: expected a job: a YAML map with keys such as name, model, dataset, method; none of its 2 top-level keys is one/,
  );
  add(
    'train: a JSONL line past the record limit',
    () => ['train', '--job', join(dir, 'long-line-job.yaml'), '--no-eval'],
    /long\.jsonl:2: larger than the 1 MiB limit for a record file/,
  );
  // Command-line arguments and the files they name.
  add(
    'plan: a 0-token workload',
    () => ['plan', '-m', 'opt-350m', '--input-length', '0', '--output-length', '0'],
    /--input-length \+ --output-length is 0 tokens: a step needs at least one/,
  );
  add(
    'plan: lengths past the model positions',
    () => ['plan', '-m', 'opt-350m', '--input-length', '4000'],
    /--input-length \+ --output-length = 4064 tokens exceed the model's 2048 positions \(max_position_embeddings in .*opt-350m\.json\)/,
  );
  add(
    'plan: a LoRA rank past the model width',
    () => ['plan', '-m', 'gpt2', '--lora-rank', '100000'],
    /--lora-rank 100000 exceeds 768, the smallest dimension of the LoRA target weights/,
  );
  add(
    'plan: a model file that is not JSON',
    () => ['plan', '-m', `${BAD}/inputs/passwd-like.txt`],
    /passwd-like\.txt: invalid JSON at line 1, column 1: unexpected character/,
  );
  add(
    'plan: an importance file that is not JSON',
    () => ['plan', '-m', 'opt-350m', '--importance', `${BAD}/inputs/importance-not-json.txt`],
    /importance-not-json\.txt: invalid JSON at line 1, column 1: unexpected character/,
  );
  add(
    'select: N × T_q past the selector limit',
    () => ['select', '-i', `${BAD}/inputs/select-13000-tensors.json`, '--resolution', '10000000'],
    /select-13000-tensors\.json:\n {2}- resolution: 13000 tensors × resolution 10000000 = 1\.30e\+11 exceeds the selector's limit of N × T_q ≤ 2\^30/,
  );
  add(
    'select: a byte-order mark',
    () => ['select', '-i', `${BAD}/inputs/select-bom.json`],
    /select-bom\.json: invalid JSON at line 1, column 1: a UTF-8 byte-order mark/,
  );
  add(
    'select: deep nesting',
    () => ['select', '-i', `${BAD}/inputs/select-deep.json`],
    /select-deep\.json:\n {2}- t_dy\.0: Invalid input: expected number, received array/,
  );
  add(
    'policy simulate: a trace that is not a trace',
    () => [
      'policy',
      'simulate',
      'config/policies/balanced.yaml',
      '--trace',
      `${BAD}/inputs/trace-not-a-trace.txt`,
      '--steps',
      '10',
      '--step-seconds',
      '1',
    ],
    /trace-not-a-trace\.txt:1: the header must name 'time' and 'intensity' columns/,
  );
  add(
    'status: credentials in --url',
    () => ['status', '--url', 'http://user:SENTINEL_TOKEN_abc@127.0.0.1:9'],
    /--url http:\/\/\[redacted\]@127\.0\.0\.1:9: remove the credentials/,
  );
  add(
    'status: a port past 65535',
    () => ['status', '--url', 'http://127.0.0.1:99999'],
    /--url http:\/\/127\.0\.0\.1:99999: expected http:\/\/host:port with a port ≤ 65535/,
  );
  add(
    'status: a host that does not resolve',
    () => ['status', '--url', 'http://greentrainer-no-such-host.invalid:9464'],
    /cannot reach the daemon at http:\/\/greentrainer-no-such-host\.invalid:9464\/v1\/status: the host name does not resolve/,
  );
  add(
    'carbon: a world-readable token file (warned once, never shown) and a refused connection',
    () => [
      'carbon',
      '--provider',
      'electricitymaps',
      '--region',
      'DE',
      '--token-file',
      join(dir, 'token'),
      '--base-url',
      'http://127.0.0.1:9',
      '--retries',
      '0',
      '--hours',
      '0',
    ],
    /warning: .*token is readable by every user \(mode 644\): chmod 600 /,
  );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gt-bad-input-'));
    writeFileSync(
      join(dir, 'big.yaml'),
      `# ${'x'.repeat(2 * 1024 * 1024)}\nmap: { type: steps, steps: [[1, 1]] }\n`,
    );
    writeFileSync(
      join(dir, 'long.jsonl'),
      `{"source":"a","target":"b"}\n{"source":"${'y'.repeat(1100 * 1024)}","target":"b"}\n`,
    );
    writeFileSync(
      join(dir, 'long-line-job.yaml'),
      `model: ${root}demo/model\ndataset: { path: long.jsonl }\ntrain: { max_input_length: 160, max_output_length: 24 }\noutput: run\n`,
    );
    writeFileSync(join(dir, 'token'), 'SENTINEL_TOKEN_VALUE_hunter2\n');
    chmodSync(join(dir, 'token'), 0o644);
    results = await runAll(cases, Math.max(2, Math.min(4, availableParallelism())));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has at least 30 malformed fixtures in test/fixtures/bad', () => {
    const files = readdirSync(join(root, BAD), { recursive: true, withFileTypes: true }).filter((e) =>
      e.isFile(),
    );
    assert.ok(files.length >= 30, `${files.length} files`);
  });

  for (const c of cases) {
    it(`refuses ${c.name}`, () => assertRefused(results.get(c.name)!, c.expect));
  }

  it('reports every bad policy, and still prints the good one on stdout', () => {
    const r = results.get(cases[0]!.name)!;
    assert.match(r.stdout, /^config\/policies\/balanced\.yaml: ok \(linear map/);
  });

  it('warns about the token file once', () => {
    const r = results.get(cases.at(-1)!.name)!;
    assert.equal(r.stderr.match(/is readable by every user/g)?.length, 1, r.stderr);
  });
});

describe('cli: train --resume, --restart and a closed stdout', function () {
  this.timeout(600_000);
  let tiny: TinyJob;
  let checkpoints: string;

  before(async () => {
    await useBackend(testBackend());
    tiny = tinyJob();
    checkpoints = join(tiny.output, 'checkpoints');
    // Three checkpoints, each broken another way.
    mkdirSync(join(checkpoints, 'step-00000005'), { recursive: true });
    writeFileSync(join(checkpoints, 'step-00000005', 'state.json'), '{}\n');
    const store = new CheckpointStore(checkpoints, 5);
    store.save({ step: 10, weights: [], optimizer: [], state: {} });
    writeFileSync(join(checkpoints, 'step-00000010', 'weights.safetensors'), 'SENTINEL_TAMPERED');
    mkdirSync(join(checkpoints, 'step-00000015'));
    writeFileSync(join(checkpoints, 'step-00000015', 'MANIFEST.json'), 'SENTINEL_MANIFEST_LINE hunter2\n');
    writeFileSync(join(checkpoints, 'LATEST'), 'step-00000015\n');
  });
  after(() => rmSync(tiny.dir, { recursive: true, force: true }));

  it('refuses --resume when no checkpoint loads, listing each and leaving all in place', async () => {
    const before = readdirSync(checkpoints).sort();
    const r = await cli(['train', '--job', tiny.jobFile, '--resume', '--no-eval']);
    assertRefused(r, [
      /run: no checkpoint can be resumed; each was left in place:/,
      /step-00000005: no MANIFEST\.json \(incomplete checkpoint\)/,
      /step-00000010: weights\.safetensors does not match its manifest/,
      /step-00000015: .*MANIFEST\.json: invalid JSON at line 1, column 1: unexpected character/,
      /pass --restart instead of --resume to remove them and start from step 1/,
    ]);
    assert.deepEqual(readdirSync(checkpoints).sort(), before);
    assert.equal(readFileSync(join(checkpoints, 'LATEST'), 'utf8'), 'step-00000015\n');
  });

  it('names state.json and what it lacks when a verified checkpoint holds no run state', async () => {
    const other = tinyJob();
    try {
      new CheckpointStore(join(other.output, 'checkpoints')).save({
        step: 3,
        weights: [],
        optimizer: [],
        state: { hello: 'world' },
      });
      const r = await cli(['train', '--job', other.jobFile, '--resume', '--no-eval']);
      assertRefused(r, [
        /step-00000003\/state\.json: not the state of a greentrainer checkpoint \(fingerprint: .*\); remove this checkpoint folder to resume from an older one, or pass --restart/,
      ]);
    } finally {
      rmSync(other.dir, { recursive: true, force: true });
    }
  });

  it('with --restart into `| head -1`: exits 0, saves the final model, and replaced the broken checkpoints', async () => {
    const r = await cli(
      ['train', '--job', tiny.jobFile, '--restart', '--max-steps', '2', '--no-eval'],
      '| head -1',
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    assert.doesNotMatch(r.stderr, /EPIPE|Error/);
    assert.ok(existsSync(join(tiny.output, 'model', 'model.safetensors')), 'the final model');
    assert.deepEqual(
      readdirSync(checkpoints).filter((n) => n.startsWith('step-')),
      ['step-00000002'],
    );
    // Training starts the backend (native TensorFlow alone is ~500 MB): measured against `info`'s.
    const started = (await cli(['info'])).maxRssMb;
    assert.ok(
      r.maxRssMb <= started + TRAIN_RSS_MB,
      `peak RSS ${r.maxRssMb.toFixed(0)} MB > ${started.toFixed(0)} MB (the backend started) + ${TRAIN_RSS_MB} MB`,
    );
  });
});
