import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPlan } from '../../src/commands/plan.js';
import { DEFAULT_LORA_RANK, DEFAULT_PREFIX_LENGTH } from '../../src/greentrainer/schemes.js';
import { DEFAULT_RESOLUTION } from '../../src/greentrainer/selector.js';
import { nativeBuilt } from '../helpers/backend.js';

/** `plan`'s CLI defaults, for calls made in-process. */
const PLAN_DEFAULTS = {
  rho: 0.5,
  batch: 4,
  inputLength: 512,
  outputLength: 64,
  loraRank: DEFAULT_LORA_RANK,
  prefixLength: DEFAULT_PREFIX_LENGTH,
  resolution: DEFAULT_RESOLUTION,
  tensors: false,
};

const root = fileURLToPath(new URL('../..', import.meta.url));

function cli(args: string[], input?: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, GREENTRAINER_BACKEND: '', ...env },
    ...(input === undefined ? {} : { input }),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cli', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'greentrainer-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, content: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };

  describe('plan', () => {
    it('prints every scheme as JSON for a preset', () => {
      const r = cli(['plan', '--model', 'opt-2.7b', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const plan = JSON.parse(r.stdout);
      assert.equal(plan.model, 'opt-2.7b');
      assert.equal(plan.tensors, 516);
      assert.ok(plan.flops.forward > 0 && plan.flops.backward_full > plan.flops.forward);
      assert.equal(plan.schemes.full.reduction, 0);
      for (const s of ['top2', 'lora', 'prefix']) assert.ok(plan.schemes[s].reduction > 0.2, s);
      assert.equal(plan.schemes.greentrainer, undefined);
    });

    it('prints every scheme for the Qwen2.5, Llama 3.2, SmolLM2 and Mistral presets', () => {
      const r = cli(['plan', '--model', 'qwen2.5-0.5b', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const plans = [
        JSON.parse(r.stdout),
        ...['llama-3.2-1b', 'smollm2-360m', 'mistral-7b-v0.3'].map((model) =>
          JSON.parse(runPlan({ ...PLAN_DEFAULTS, model, json: true })),
        ),
      ];
      // 2 + 12 per block (+ 3 Q/K/V biases for Qwen2) + an untied lm_head.
      const expected = {
        'qwen2.5-0.5b': 2 + 24 * 12,
        'llama-3.2-1b': 2 + 16 * 9,
        'smollm2-360m': 2 + 32 * 9,
      };
      for (const plan of plans) {
        assert.equal(
          plan.tensors,
          { ...expected, 'mistral-7b-v0.3': 3 + 32 * 9 }[plan.model as string],
          plan.model,
        );
        assert.equal(plan.schemes.full.reduction, 0);
        for (const s of ['top2', 'lora', 'prefix'])
          assert.ok(plan.schemes[s].reduction > 0.1, `${plan.model} ${s}`);
      }
      assert.deepEqual(
        plans.map((p) => p.model_type),
        ['qwen2', 'llama', 'llama', 'mistral'],
      );
    });

    it('selects tensors within ρ from an importance array and a model folder', () => {
      const model = join(dir, 'tiny-opt');
      const config = {
        model_type: 'opt',
        vocab_size: 64,
        hidden_size: 16,
        num_hidden_layers: 2,
        ffn_dim: 32,
        num_attention_heads: 2,
        max_position_embeddings: 32,
      };
      rmSync(model, { recursive: true, force: true });
      spawnSync('mkdir', ['-p', model]);
      write('tiny-opt/config.json', config);
      const lengths = ['--input-length', '24', '--output-length', '8']; // the model has 32 positions
      const n = JSON.parse(cli(['plan', '-m', model, ...lengths, '--json']).stdout).tensors;
      const scores = write(
        'scores.json',
        Array.from({ length: n }, (_, k) => (k % 3 === 0 ? -0.1 : 1 / (k + 1))),
      );
      const r = cli([
        'plan',
        '-m',
        model,
        '--rho',
        '0.6',
        '--importance',
        scores,
        '--json',
        '--batch',
        '2',
        ...lengths,
      ]);
      assert.equal(r.status, 0, r.stderr);
      const plan = JSON.parse(r.stdout);
      const gt = plan.schemes.greentrainer;
      assert.equal(gt.status, 'selected');
      assert.ok(gt.flops <= 0.6 * plan.schemes.full.flops);
      assert.ok(gt.selected.length > 0);
      assert.ok(!gt.selected.includes('model.decoder.final_layer_norm.bias'), 'index 0 has a negative score');
    });

    it('accepts importance as an object name → score and prints a table by default', () => {
      const tensors = JSON.parse(cli(['plan', '-m', 'gpt2', '--tensors', '--json']).stdout).tensor_flops;
      const scores = write(
        'named.json',
        Object.fromEntries(tensors.map((t: { name: string }, k: number) => [t.name, k + 1])),
      );
      const r = cli(['plan', '-m', 'gpt2', '--importance', scores]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /GreenTrainer \(ρ=0\.5\)\s+[\d.]+ [GT]FLOP\s+\d+\.\d %\s+\d+ tensors/);
      assert.match(r.stdout, /^full fine-tuning\s/m);
    });

    const errors: Array<[string, string[], RegExp]> = [
      [
        'ρ out of range',
        ['plan', '-m', 'gpt2', '--rho', '1.5'],
        /option '--rho <ρ>' argument '1.5' is invalid\. expected a number in \(0, 1\]/,
      ],
      [
        'ρ below the floor',
        ['plan', '-m', 'gpt2', '--rho', '0.2'],
        /ρ = 0\.2 is below this model's floor ρ_min = 0\.33\d\d/,
      ],
      [
        'an unknown preset',
        ['plan', '-m', 'opt-175b'],
        /--model opt-175b: no such preset, file or folder; presets: bloomz-3b, flan-t5-xl, gpt2, /,
      ],
      [
        'a non-integer batch',
        ['plan', '-m', 'gpt2', '--batch', '2.5'],
        /expected an integer ≥ 1, got '2\.5'/,
      ],
      ['a missing --model', ['plan'], /required option '-m, --model <name\|path>' not specified/],
    ];
    for (const [what, args, message] of errors) {
      it(`fails with a clear message on ${what}`, () => {
        const r = cli(args);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, message);
      });
    }

    it('names the file and field of a broken config', () => {
      const file = write('broken.json', { model_type: 'llama', hidden_size: 64 });
      const r = cli(['plan', '-m', file]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, new RegExp(`invalid model config ${file}:\\n  - vocab_size: `));
    });

    it('names the line and column of invalid JSON', () => {
      const file = write('bad.json', '{\n  "model_type": "opt",\n  "hidden_size": 12,,\n}');
      const r = cli(['plan', '-m', file]);
      assert.notEqual(r.status, 0);
      assert.match(
        r.stderr,
        new RegExp(`${file}: invalid JSON at line 3, column 21: Expected double-quoted property name`),
      );
    });

    it('rejects an importance file with unknown names or the wrong length', () => {
      const wrong = write('short.json', [1, 2, 3]);
      assert.match(
        cli(['plan', '-m', 'gpt2', '--importance', wrong]).stderr,
        /expected 148 scores \(one per tensor, in backpropagation order\), got 3/,
      );
      const named = write('unknown.json', { 'transformer.h.99.attn.c_attn.weight': 1 });
      assert.match(
        cli(['plan', '-m', 'gpt2', '--importance', named]).stderr,
        /unknown tensor names: transformer\.h\.99\.attn\.c_attn\.weight/,
      );
    });
  });

  describe('select', () => {
    it('prints the optimal mask, its importance and its cost as JSON', () => {
      const file = write('problem.json', {
        t_dy: [0, 2, 1, 4, 0],
        t_dw: [5, 1, 7, 3, 1],
        importance: [1, 3, 10, 5, 3],
        budget: 11,
      });
      const r = cli(['select', '--input', file, '--json']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), {
        mask: [0, 1, 1, 0, 0],
        importance: 13,
        cost: 11,
        status: 'selected',
        deepest: 2,
        exact: true,
      });
    });

    it('reads the problem from standard input', () => {
      const r = cli(
        ['select', '-i', '-', '--json'],
        JSON.stringify({ t_dy: [1], t_dw: [1], importance: [-1], budget: 5 }),
      );
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).status, 'nothing-worth-training');
    });

    const errors: Array<[string, unknown, RegExp]> = [
      [
        'mismatched lengths',
        { t_dy: [1, 2], t_dw: [1, 2], importance: [1], budget: 3 },
        /t_dy, t_dw and importance must have the same length, got 2, 2 and 1/,
      ],
      [
        'a non-numeric value',
        { t_dy: [1, 'x'], t_dw: [1, 2], importance: [1, 1], budget: 3 },
        /t_dy\.1: Invalid input: expected number, received string/,
      ],
      [
        'a missing budget',
        { t_dy: [1], t_dw: [1], importance: [1] },
        /budget: Invalid input: expected number, received undefined/,
      ],
      [
        'an unknown key',
        { t_dy: [1], t_dw: [1], importance: [1], budget: 1, rho: 0.5 },
        /Unrecognized key: "rho"/,
      ],
    ];
    for (const [what, problem, message] of errors) {
      it(`fails with a clear message on ${what}`, () => {
        const r = cli(['select', '-i', write('bad-problem.json', problem)]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /invalid selection input .*bad-problem\.json:/);
        assert.match(r.stderr, message);
      });
    }
  });

  describe('info', () => {
    it('reports the backend it picked and why it passed over the native ones', () => {
      const r = cli(['info', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const info = JSON.parse(r.stdout);
      const skipped = info.backend.skipped.map((s: { package: string }) => s.package);
      if (nativeBuilt()) {
        assert.equal(info.backend.name, 'tensorflow');
        assert.deepEqual(skipped, ['@tensorflow/tfjs-node-gpu']);
      } else {
        assert.equal(info.backend.name, 'wasm');
        assert.equal(info.backend.memoryLimitBytes, 4 * 1024 ** 3);
        assert.deepEqual(skipped, ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
      }
    });

    it('says whether full fine-tuning of a model fits the backend', () => {
      const r = cli(['info', '-m', 'opt-2.7b'], undefined, { GREENTRAINER_BACKEND: 'wasm' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(
        r.stdout,
        /opt-2\.7b: family opt, 2651\.6 M parameters; full fine-tuning at batch 4 × 576 tokens needs about [\d.]+ GiB/,
      );
      assert.match(r.stdout, /does NOT fit this backend/);
    });

    it('reports the family of a config it refuses, and the keys it refuses', () => {
      const config = {
        ...JSON.parse(readFileSync(join(root, 'config/models/llama-3.2-1b.json'), 'utf8')),
        rope_scaling: { rope_type: 'longrope', short_factor: [1], long_factor: [1] },
      };
      const r = cli(['info', '-m', write('longrope.json', config)], undefined, {
        GREENTRAINER_BACKEND: 'cpu',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(
        r.stdout,
        /longrope\.json: family llama, config refused:\n {2}- rope_scaling\.rope_type: RoPE type "longrope" is not supported/,
      );
    });

    it('honours GREENTRAINER_BACKEND and fails clearly when the forced backend is missing', () => {
      assert.equal(
        JSON.parse(cli(['info', '--json'], undefined, { GREENTRAINER_BACKEND: 'cpu' }).stdout).backend.name,
        'cpu',
      );
      const forced = cli(['info'], undefined, { GREENTRAINER_BACKEND: 'tensorflow' });
      if (nativeBuilt()) {
        assert.match(forced.stdout, /^backend {6}tensorflow \(@tensorflow\/tfjs-node\), device cpu$/m);
      } else {
        assert.notEqual(forced.status, 0);
        assert.match(
          forced.stderr,
          /backend 'tensorflow' is not available:\n {2}- @tensorflow\/tfjs-node-gpu: not installed\n {2}- @tensorflow\/tfjs-node: not installed\nbuild the native binding with `greentrainer setup-native`/,
        );
      }
      const bogus = cli(['info'], undefined, { GREENTRAINER_BACKEND: 'webgpu' });
      assert.match(bogus.stderr, /GREENTRAINER_BACKEND=webgpu: expected one of tensorflow, wasm, cpu/);
    });

    it("keeps TensorFlow's C++ start-up lines, but for its load-time oneDNN notice, out of the output on the native backend (TF_CPP_MIN_LOG_LEVEL unset or empty)", function () {
      if (!nativeBuilt()) {
        console.log('      skipped: the native backend is not built here (`greentrainer setup-native`)');
        this.skip();
      }
      // TensorFlow logs through absl: "I0000 …", "W0000 …" lines and oneDNN / CPU-feature notices.
      // The level greentrainer sets (TF_CPP_MIN_LOG_LEVEL=2) silences them all but one: TensorFlow
      // 2.17+ logs "oneDNN custom operations are on" while the library loads, before it reads the
      // level, and absl heads it with one line. Only TF_ENABLE_ONEDNN_OPTS=0 silences it, and that
      // halves the native step rate (docs/backends.md), so it stays; nothing else may show.
      const loadNotice =
        /^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR\n|^I\d{4} [^\n]*\] oneDNN custom operations are on\.[^\n]*\n/gm;
      const chatter = /^[IWE]\d{4} |oneDNN|cpu_feature_guard|absl::InitializeLog/m;
      const quiet = cli(['info'], undefined, {
        GREENTRAINER_BACKEND: 'tensorflow',
        TF_CPP_MIN_LOG_LEVEL: '',
      });
      assert.equal(quiet.status, 0, quiet.stderr);
      assert.doesNotMatch(quiet.stderr.replace(loadNotice, ''), chatter, quiet.stderr);
      const env = { ...process.env };
      delete env.TF_CPP_MIN_LOG_LEVEL;
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'info'], {
        cwd: root,
        encoding: 'utf8',
        env: { ...env, GREENTRAINER_BACKEND: 'tensorflow' },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr.replace(loadNotice, ''), chatter, r.stderr);
    });
  });

  it('documents every command with --help', () => {
    for (const command of ['plan', 'select', 'info']) {
      const r = cli([command, '--help']);
      assert.equal(r.status, 0);
      assert.match(r.stdout, new RegExp(`Usage: greentrainer ${command} \\[options\\]`));
      assert.match(r.stdout, /--json/);
    }
    assert.match(cli(['--help']).stdout, /plan \[options\]\s+FLOPs of one training step/);
  });
});
