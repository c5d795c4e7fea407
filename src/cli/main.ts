import { parseArgs } from './args.js';
import { BROKER_HELP, brokerCommand } from './broker-command.js';

const HELP = `Usage: jocko <command> [options]

Commands:
  broker     start a broker (jocko broker --help)

Run 'jocko <command> --help' for a command's options.
`;

const BOOLEAN_FLAGS = new Set(['help', 'from-beginning', 'validate-only', 'if-not-exists', 'if-exists', 'json']);

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const args = parseArgs(rest, BOOLEAN_FLAGS);
  switch (command) {
    case 'broker':
      return brokerCommand(args);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(`unknown command '${command}'\n\n${HELP}`);
      void BROKER_HELP;
      return 2;
  }
}
