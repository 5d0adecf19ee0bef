#!/usr/bin/env node
/**
 * The `sipwright` command. User mistakes print one line and exit 2; `--debug` shows stacks.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isUserError, SipwrightError } from '../errors.js';
import { lintMessage, readMessageFile } from './lint.js';
import { runCommand, type RunCommandOptions } from './run.js';
import { ALL_FAULTS, startCommand } from './start.js';
import { serveCommand, type ServeCommandOptions } from './serve.js';

const argv = hideBin(process.argv);
const debug = argv.includes('--debug');

async function main(): Promise<number> {
  let exitCode = 0;
  await yargs(argv)
    .scriptName('sipwright')
    .usage('$0 <command> [options]\n\nSIP conformance test harness and call simulator.')
    .option('debug', { type: 'boolean', describe: 'print stack traces for errors' })
    .command(
      'run <paths...>',
      'run scenario files or folders (each scenario is one test case)',
      (y) =>
        y
          .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'YAML files or folders of them' })
          .option('target', { type: 'string', describe: 'host:port where UAC parties send (e.g. 127.0.0.1:5060)' })
          .option('listen', { type: 'string', describe: 'host:port where a UAS scenario waits (default 127.0.0.1, a free port, printed)' })
          .option('transport', { choices: ['udp', 'tcp'] as const, describe: 'transport of parties that name none (default: the profile\'s, else udp)' })
          .option('profile', { type: 'string', describe: 'target profile of the system under test (docs/target-profile.md)' })
          .option('var', { type: 'string', array: true, default: [] as string[], describe: 'set a variable: --var user=200 (repeatable)' })
          .option('users', { type: 'string', describe: 'CSV of accounts, one row per scenario run (like SIPp -inf)' })
          .option('grep', { type: 'string', describe: 'run only scenarios whose name or file contains this text' })
          .option('junit', { type: 'string', default: 'reports/junit.xml', describe: 'JUnit XML report path' })
          .option('json', { type: 'string', default: 'reports/results.json', describe: 'JSON results path' })
          .option('concurrency', { type: 'number', default: 4, describe: 'scenarios run at once' })
          .option('timeout', { type: 'number', describe: 'default timeout of every expect, seconds' }),
      async (args) => {
        const opts: RunCommandOptions = {
          paths: args.paths as string[],
          target: args.target,
          listen: args.listen,
          transport: args.transport,
          profile: args.profile,
          var: args.var,
          users: args.users,
          grep: args.grep,
          junit: args.junit,
          json: args.json,
          concurrency: args.concurrency,
          timeout: args.timeout,
        };
        exitCode = await runCommand(opts);
      },
    )
    .command(
      'lint <file>',
      'check one raw SIP message (a file, or - for stdin) against RFC 3261',
      (y) => y.positional('file', { type: 'string', demandOption: true, describe: 'message file or -' }),
      (args) => {
        // yargs-parser turns a lone "-" (stdin, by Unix convention) into "": take it back.
        const file = args.file === '' && argv.includes('-') ? '-' : (args.file as string);
        const { code, lines } = lintMessage(readMessageFile(file));
        for (const l of lines) console.log(l);
        exitCode = code;
      },
    )
    .command(
      'start',
      'start the embedded reference PBX and carrier and run the pbx/ and carrier/ suites against them (npm start)',
      (y) =>
        y
          .option('fault', { type: 'string', array: true, default: [] as string[], describe: `break a reference system on purpose (repeatable): ${ALL_FAULTS.join(', ')}` })
          .option('suite', { choices: ['pbx', 'carrier'] as const, describe: 'run only one of the two suites' })
          .option('tag', { type: 'string', describe: 'run only the scenarios with this tag, e.g. catches:drop-bye' })
          .option('junit', { type: 'string', default: 'reports/junit.xml', describe: 'JUnit XML report path' })
          .option('json', { type: 'string', default: 'reports/results.json', describe: 'JSON results path' }),
      async (args) => {
        exitCode = await startCommand({ fault: args.fault, suite: args.suite, tag: args.tag, junit: args.junit, json: args.json });
      },
    )
    .command(
      'serve <persona>',
      'run a carrier, pbx or phone persona from a config file until Ctrl-C (see docs/personas.md)',
      (y) =>
        y
          .positional('persona', { choices: ['carrier', 'pbx', 'phone'] as const, demandOption: true, describe: 'which persona' })
          .option('config', { type: 'string', demandOption: true, describe: 'persona config YAML' })
          .option('listen', { type: 'string', describe: 'host:port to bind (default 127.0.0.1; port 5060 for a carrier, any free port otherwise)' })
          .option('transport', { choices: ['udp', 'tcp'] as const, describe: 'udp or tcp (default: the config\'s, else udp)' }),
      async (args) => {
        const opts: ServeCommandOptions = { persona: args.persona, config: args.config, listen: args.listen, transport: args.transport };
        exitCode = await serveCommand(opts);
      },
    )
    .demandCommand(1, NO_COMMAND)
    .strict()
    .help()
    .fail((msg, err) => {
      if (err) throw err;
      // yargs checks for a command before it checks options: name the unknown option instead.
      const unknown = msg === NO_COMMAND ? unknownGlobalOption(argv) : undefined;
      // Some yargs messages span lines ("Invalid values:\n  Argument: …"): a user error is one line.
      throw new UsageCliError(unknown ? `Unknown argument: ${unknown}; ${NO_COMMAND}` : oneLine(msg ?? 'bad arguments'));
    })
    .parseAsync();
  return exitCode;
}

const NO_COMMAND = 'name a command: see sipwright --help';
/** Options valid before a command. */
const GLOBAL_OPTIONS = new Set(['--debug', '--no-debug', '--help', '-h', '--version']);

/** The first option before any command that is not a global one, without its dashes. */
function unknownGlobalOption(args: string[]): string | undefined {
  const opt = args.find((a) => a.startsWith('-') && a !== '-' && a !== '--' && !GLOBAL_OPTIONS.has(a.split('=')[0]));
  return opt?.replace(/^-+/, '').split('=')[0];
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

class UsageCliError extends Error {}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageCliError) {
      console.error(`sipwright: ${err.message}`);
      process.exit(2);
    }
    if (isUserError(err) && !debug) {
      console.error(`sipwright: ${(err as SipwrightError).message}`);
      process.exit(2);
    }
    console.error(debug ? err : `sipwright: internal error: ${(err as Error).message} (run with --debug for details)`);
    process.exit(debug || !(err instanceof SipwrightError) ? 3 : 2);
  },
);
