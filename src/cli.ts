#!/usr/bin/env node
/**
 * `greentrainer <command>`: the command-line entry point. Parses arguments, runs one command,
 * prints its output, and turns any error into one message on stderr and a non-zero exit code.
 * Each command's module is imported when it runs: `policy check` does not load TensorFlow.js.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { PROVIDER_NAMES } from './carbon/factory.js';
import { packageVersion } from './commands/package-root.js';
import { parseDurationMs } from './config/duration.js';
import { DEFAULT_LORA_RANK, DEFAULT_PREFIX_LENGTH } from './greentrainer/schemes.js';
import { DEFAULT_RESOLUTION } from './greentrainer/selector.js';

function integer(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`expected an integer ≥ ${min}, got '${value}'`);
    return n;
  };
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number ≥ 0, got '${value}'`);
  return n;
}

function duration(value: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined || ms <= 0)
    throw new InvalidArgumentError(`expected a duration such as 30s, 5m or 1h, got '${value}'`);
  return ms;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number > 0, got '${value}'`);
  return n;
}

/** Warnings go to stderr so that stdout stays parseable with --json. */
const stderrLogger = {
  warn: (message: string) => console.error(`warning: ${message}`),
  info: (message: string) => console.error(message),
};

function rho(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1)
    throw new InvalidArgumentError(`expected a number in (0, 1], got '${value}'`);
  return n;
}

export function program(): Command {
  const cli = new Command('greentrainer')
    .description('Carbon-aware fine-tuning of language models: GreenTrainer adaptive backpropagation')
    .showHelpAfterError('(run with --help for usage)');

  cli
    .command('plan')
    .description(
      'FLOPs of one training step under full fine-tuning, FT-Top2, LoRA, prefix tuning and GreenTrainer',
    )
    .requiredOption(
      '-m, --model <name|path>',
      'preset name (see config/models/), config.json, or a model folder',
    )
    .option('--rho <ρ>', 'FLOPs objective: a step may cost ρ × full fine-tuning', rho, 0.5)
    .option('-b, --batch <n>', 'sequences per step', integer(1), 4)
    .option('--input-length <tokens>', 'input (source) tokens per sequence', integer(0), 512)
    .option('--output-length <tokens>', 'output (target) tokens per sequence', integer(0), 64)
    .option('--lora-rank <r>', 'LoRA rank', integer(1), DEFAULT_LORA_RANK)
    .option(
      '--prefix-length <p>',
      'prefix-tuning positions per attention layer',
      integer(1),
      DEFAULT_PREFIX_LENGTH,
    )
    .option('--resolution <T_q>', 'selector FLOPs resolution', integer(1), DEFAULT_RESOLUTION)
    .option('--importance <file>', 'importance scores: JSON object name → score, or an array in tensor order')
    .option('--tensors', 'also list every tensor with its t_dy and t_dw', false)
    .option('--json', 'print JSON for scripts', false)
    .action(async (o) => {
      const { runPlan } = await import('./commands/plan.js');
      console.log(runPlan(o));
    });

  cli
    .command('select')
    .description('solve one tensor-selection problem exactly (paper Eq. 5)')
    .requiredOption(
      '-i, --input <file>',
      'JSON {"t_dy": [...], "t_dw": [...], "importance": [...], "budget": B}; - for stdin',
    )
    .addOption(
      new Option('--resolution <T_q>', 'FLOPs resolution (overrides the file)').argParser(integer(1)),
    )
    .option('--json', 'print JSON for scripts', false)
    .action(async (o) => {
      const { runSelect } = await import('./commands/select.js');
      console.log(runSelect(o));
    });

  cli
    .command('info')
    .description(
      'the TensorFlow.js backend in use (GREENTRAINER_BACKEND forces one) and whether a model fits it',
    )
    .option('-m, --model <name|path>', 'also estimate the memory full fine-tuning of this model needs')
    .option('-b, --batch <n>', 'sequences per step, for the estimate', integer(1), 4)
    .option('--sequence <tokens>', 'tokens per sequence, for the estimate', integer(1), 576)
    .option('--json', 'print JSON for scripts', false)
    .action(async (o) => {
      const { runInfo } = await import('./commands/info.js');
      console.log(await runInfo(o));
    });

  cli
    .command('setup-native')
    .description(
      'build the native TensorFlow backend (tfjs-node, -gpu) against a local TensorFlow; never downloads it',
    )
    .option(
      '--from <path>',
      'a TensorFlow wheel, an installed tensorflow package folder, or a libtensorflow folder',
    )
    .action(async (o) => {
      const { runSetupNative } = await import('./commands/setup-native.js');
      await runSetupNative(o, (line) => console.log(line));
    });

  cli
    .command('train')
    .description('fine-tune a model with GreenTrainer (or a baseline) as a job file describes')
    .requiredOption('-j, --job <file>', 'job YAML (see config/job.example.yaml)')
    .addOption(new Option('--rho <ρ>', 'FLOPs objective, overriding the job').argParser(rho))
    .option('--resume', 'continue from the newest complete checkpoint in the run folder', false)
    .option('--restart', "remove the run folder's checkpoints and start from step 1", false)
    .addOption(new Option('--max-steps <n>', 'stop after n optimizer steps').argParser(integer(1)))
    .option('--no-eval', 'skip evaluation')
    .option('--json', 'print one JSON event per line instead of a progress bar', false)
    .action(async (o) => {
      const { runTrain } = await import('./commands/train.js');
      await runTrain(o);
    });

  cli
    .command('daemon')
    .description('run the carbon-aware training daemon: poll carbon data, decide ρ, train, serve metrics')
    .requiredOption('-c, --config <file>', 'daemon YAML (see config/daemon.example.yaml)')
    .action(async (o) => {
      const { runDaemon } = await import('./commands/daemon.js');
      await runDaemon(o);
    });

  cli
    .command('status')
    .description("print a running daemon's status (reading, decision, job, FLOPs, energy, CO2)")
    .option('--url <url>', 'the daemon', 'http://127.0.0.1:9464')
    .option('--json', 'print the raw JSON', false)
    .action(async (o) => {
      const { runStatus } = await import('./commands/status.js');
      console.log(await runStatus(o));
    });

  cli
    .command('carbon')
    .description('the current carbon intensity from a provider, and its forecast where it has one')
    .addOption(
      new Option('-p, --provider <name>', 'carbon data provider').choices(PROVIDER_NAMES).default('co2js'),
    )
    .option(
      '-r, --region <region>',
      'national|region id|postcode (uk), zone (electricitymaps), region (watttime), location (carbon-aware-sdk), alpha-3 (co2js)',
    )
    .option('--base-url <url>', "the provider's API base URL")
    .option(
      '--token-env <name>',
      'electricitymaps: variable holding the token (default ELECTRICITYMAPS_TOKEN)',
    )
    .option('--token-file <file>', 'electricitymaps: file holding the token (systemd credentials)')
    .option('--username <name>', 'watttime: account name')
    .option('--password-env <name>', 'watttime: variable holding the password (default WATTTIME_PASSWORD)')
    .option('--password-file <file>', 'watttime: file holding the password')
    .option('--signal <signal>', 'watttime: co2_moer or signal-index')
    .option('--file <trace>', 'trace: CSV or JSON file of timestamped intensities')
    .option('--speed <x>', 'trace: replay speed-up', positive)
    .option('--intensity <g/kWh>', 'static: the fixed intensity', positive)
    .option('--timeout <duration>', 'deadline of one request, headers and body (e.g. 10s)')
    .option('--retries <n>', 'attempts after the first (default 2)', integer(0))
    .option('--hours <h>', 'forecast horizon; 0 for the current reading only', integer(0), 24)
    .option('--json', 'print JSON for scripts', false)
    .action(async (o) => {
      const { runCarbon } = await import('./commands/carbon.js');
      console.log(await runCarbon(o, process.env, stderrLogger));
    });

  const policy = cli.command('policy').description('check and rehearse carbon policies (YAML)');
  policy
    .command('check')
    .description('validate policy files; errors name the file, line and column')
    .argument('<files...>', 'policy YAML files')
    .action(async (files: string[]) => {
      const { runPolicyCheck } = await import('./commands/policy.js');
      runPolicyCheck(files);
    });
  policy
    .command('simulate')
    .description(
      'replay a carbon trace through a policy on the execution model (ρ makes steps cheaper, not slower): finish, mean ρ, energy and CO2e against full, same_compute and shift_only baselines',
    )
    .argument('<file>', 'policy YAML file, or a daemon config (its policy: block)')
    .requiredOption('-t, --trace <file>', 'CSV (time,intensity) or JSON trace')
    .option('--steps <n>', 'steps the job has to run', integer(1))
    .option('--step-seconds <s>', 'seconds of one full fine-tuning step on the target machine', positive)
    .option(
      '--step-flops <flops>',
      'modeled FLOPs of one full-FT step (greentrainer plan); else compute is counted in full steps',
      positive,
    )
    .option('--power-run <W>', 'watts while training', positive, 400)
    .option(
      '--power-idle <W>',
      'watts while paused (default 50 with --steps: a GPU idles at about an eighth of its load draw; 0 with --from-run)',
      nonNegative,
    )
    .option(
      '--selection-interval <steps>',
      'steps between re-selections (selection.interval_steps)',
      integer(1),
      200,
    )
    .option(
      '--from-run <dir>',
      "a daemon's run folder: measure the machine from its timeline.jsonl and compare",
    )
    .option('--start <iso>', 'where in the trace the job starts (default: its first point)')
    .option('--poll <duration>', 'how often the daemon polls (e.g. 5m, 1s)', duration, 5 * 60_000)
    .option(
      '--forecast-hours <h>',
      'how far ahead the policy sees the trace (a perfect forecast)',
      integer(0),
      48,
    )
    .option('--chart <file.svg>', 'write an SVG chart of intensity, ρ and pauses over time')
    .option('--json', 'print JSON for scripts', false)
    .action(async (file: string, o) => {
      const { runPolicySimulate } = await import('./commands/policy.js');
      console.log(runPolicySimulate(file, o));
    });

  cli.version(packageVersion());
  return cli;
}

/**
 * A reader that went away (`train … | head -1`): later output is dropped, and the command runs to
 * its end (a training run saves its model) and exits as it would have.
 */
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
});

try {
  await program().parseAsync();
} catch (error) {
  console.error(`greentrainer: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
