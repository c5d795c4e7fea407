import { parseArgs } from './args.js';
import { brokerCommand } from './broker-command.js';
import { clusterCommand } from './cluster-command.js';
import { consumeCommand } from './consume-command.js';
import { groupCommand } from './group-command.js';
import { produceCommand } from './produce-command.js';
import { topicCommand } from './topic-command.js';

const HELP = `Usage: jocko <command> [options]

Commands:
  broker     start a broker (jocko broker --help)
  topic      create, list, describe, alter and delete topics
  produce    produce lines from stdin or a file
  consume    print the records of a partition
  group      list, describe, delete consumer groups and reset their offsets
  cluster    the metadata quorum: status, add-voter, remove-voter

Run 'jocko <command> --help' for a command's options.
`;

const BOOLEAN_FLAGS = new Set(['help', 'from-beginning', 'validate-only', 'if-not-exists', 'if-exists', 'json']);

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const args = parseArgs(rest, BOOLEAN_FLAGS);
  switch (command) {
    case 'broker':
      return brokerCommand(args);
    case 'topic':
    case 'topics':
      return topicCommand(args);
    case 'group':
    case 'groups':
      // Parses its own flags: which ones take no value depends on the subcommand.
      return groupCommand(rest);
    case 'cluster':
      return clusterCommand(rest);
    case 'produce':
      return produceCommand(args);
    case 'consume':
      return consumeCommand(args);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(`unknown command '${command}'\n\n${HELP}`);
      return 2;
  }
}
