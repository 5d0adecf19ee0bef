#!/usr/bin/env node
/**
 * The `sipwright` command. User mistakes print one line and exit 2; `--debug` shows stacks.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isUserError, SipwrightError } from '../errors.js';
import { lintMessage, readMessageFile } from './lint.js';

const argv = hideBin(process.argv);
const debug = argv.includes('--debug');

async function main(): Promise<number> {
  let exitCode = 0;
  await yargs(argv)
    .scriptName('sipwright')
    .usage('$0 <command> [options]\n\nSIP conformance test harness and call simulator.')
    .option('debug', { type: 'boolean', describe: 'print stack traces for errors' })
    .command(
      'lint <file>',
      'check one raw SIP message (a file, or - for stdin) against RFC 3261',
      (y) => y.positional('file', { type: 'string', demandOption: true, describe: 'message file or -' }),
      (args) => {
        const { code, lines } = lintMessage(readMessageFile(args.file as string));
        for (const l of lines) console.log(l);
        exitCode = code;
      },
    )
    .demandCommand(1, 'name a command: see sipwright --help')
    .strict()
    .help()
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageCliError(msg);
    })
    .parseAsync();
  return exitCode;
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
