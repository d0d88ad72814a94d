import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCausalLM, saveModel } from '../../src/models/checkpoint.js';
import { SafetensorsReader } from '../../src/models/safetensors.js';
import { testBackend, useBackend } from '../helpers/backend.js';

/** Decoder-only golden folders, written by Hugging Face's `save_pretrained`. */
const CASES = [
  'opt',
  'gpt2',
  'bloom',
  'llama',
  'qwen2',
  'mistral',
  'llama-rope-llama3',
  'llama-rope-linear',
  'llama-rope-dynamic',
  'llama-rope-yarn',
  'llama-theta-500k',
];
const fixture = (name: string) => new URL(`../fixtures/golden/${name}/`, import.meta.url).pathname;

/**
 * A Python with torch and transformers (the oracle venv of test/fixtures/make-golden.py), opt-in:
 * importing torch takes half a minute on a small machine, and CI has none.
 */
const ORACLE = process.env.GREENTRAINER_ORACLE_PYTHON;

/** Loads each folder with `AutoModelForCausalLM.from_pretrained` and prints its max |Δ| to the golden logits. */
const LOAD_BACK = `
import json, sys, torch, transformers
from safetensors.torch import load_file
transformers.logging.set_verbosity_error()
for saved, golden in zip(sys.argv[1::2], sys.argv[2::2]):
    m = transformers.AutoModelForCausalLM.from_pretrained(saved, attn_implementation="eager", dtype=torch.float32)
    g = json.load(open(golden + "/golden.json"))
    with torch.no_grad():
        logits = m(input_ids=torch.tensor(g["input_ids"]), attention_mask=torch.tensor(g["attention_mask"])).logits
    print(float((logits - load_file(golden + "/golden.safetensors")["logits"]).abs().max()))
`;

describe('models: saved folders are what Hugging Face writes and loads', () => {
  let dir: string;
  before(async () => {
    await useBackend(testBackend());
    dir = mkdtempSync(join(tmpdir(), 'greentrainer-hf-'));
    for (const name of CASES) {
      const model = loadCausalLM(fixture(name));
      saveModel(model, JSON.parse(readFileSync(`${fixture(name)}config.json`, 'utf8')), join(dir, name));
      model.dispose();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const name of CASES) {
    it(`${name}: writes the tensors save_pretrained wrote — names, shapes, float32 values — and the same config`, () => {
      const ours = SafetensorsReader.open(join(dir, name, 'model.safetensors'));
      const theirs = SafetensorsReader.open(`${fixture(name)}model.safetensors`);
      try {
        const entries = (r: SafetensorsReader) =>
          [...r.entries.values()].map((e) => [e.name, e.dtype, e.shape.join()]).sort();
        assert.deepEqual(entries(ours), entries(theirs));
        for (const e of theirs.entries.values())
          assert.deepEqual(ours.read(e.name), theirs.read(e.name), `${e.name} values`);
        assert.deepEqual(
          JSON.parse(readFileSync(join(dir, name, 'config.json'), 'utf8')),
          JSON.parse(readFileSync(`${fixture(name)}config.json`, 'utf8')),
        );
      } finally {
        ours.close();
        theirs.close();
      }
    });
  }

  it("loads back with transformers' from_pretrained, giving the golden logits (GREENTRAINER_ORACLE_PYTHON)", function () {
    if (!ORACLE || !existsSync(ORACLE)) {
      console.log(
        '      skipped: set GREENTRAINER_ORACLE_PYTHON to a Python with torch and transformers to run it',
      );
      this.skip();
    }
    this.timeout(300_000);
    const args = CASES.flatMap((name) => [join(dir, name), fixture(name)]);
    const r = spawnSync(ORACLE, ['-c', LOAD_BACK, ...args], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
    assert.equal(r.status, 0, r.stderr);
    const worst = r.stdout.trim().split('\n').map(Number);
    assert.equal(worst.length, CASES.length, r.stdout);
    console.log(`      max |Δ| to the golden logits: ${Math.max(...worst)}`);
    for (const [i, d] of worst.entries()) assert.ok(d <= 1e-5, `${CASES[i]}: max |Δ| ${d}`);
  });
});
