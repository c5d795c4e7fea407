import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';
import { brokerCommand } from './broker-command.js';
import { brokerConfigCommand } from './broker-config-command.js';
import { clusterCommand } from './cluster-command.js';
import { completionCommand } from './completion.js';
import { consumeCommand } from './consume-command.js';
import { groupCommand } from './group-command.js';
import { partitionCommand } from './partition-command.js';
import { perfCommand } from './perf-command.js';
import { produceCommand } from './produce-command.js';
import { recordsCommand } from './records-command.js';
import { topicCommand } from './topic-command.js';

export const EXIT_CODES = `Exit codes:
  0  success
  1  the command failed (broker unreachable, a Kafka error, a broker that could not start)
  2  a usage error (unknown command or option, missing or invalid value)
`;

const HELP = `Usage: jocko <command> [options]

Commands:
  broker         start a broker (jocko broker --help)
  broker-config  describe and alter broker configs (the dynamic ones)
  topic          create, list, describe, alter and delete topics
  produce        produce lines from stdin or a file
  consume        print the records of a topic
  records        delete the records of partitions below an offset
  partition      reassign partitions to other brokers, list or cancel reassignments, elect leaders
  group          list, describe and delete consumer groups, reset or delete their offsets
  cluster        the metadata quorum: status, add-voter, remove-voter
  perf           producer and consumer load tests (records/s, MB/s, latency percentiles)
  completion     print a shell completion script (bash or zsh)

Options:
  --version      print the version
  --help         this text

Run 'jocko <command> --help' for a command's options.

${EXIT_CODES}`;

type Command = (argv: readonly string[]) => Promise<number>;

const COMMANDS: Readonly<Record<string, Command>> = {
  broker: brokerCommand,
  'broker-config': brokerConfigCommand,
  'broker-configs': brokerConfigCommand,
  topic: topicCommand,
  topics: topicCommand,
  produce: produceCommand,
  consume: consumeCommand,
  records: recordsCommand,
  partition: partitionCommand,
  partitions: partitionCommand,
  group: groupCommand,
  groups: groupCommand,
  cluster: clusterCommand,
  perf: perfCommand,
  completion: completionCommand,
};

export function version(): string {
  // dist/src/cli/main.js and src/cli/main.ts are both three levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * Output piped into a reader that stops early (`jocko consume t | head -1`) ends the command
 * quietly with success, as it does for cat or grep, instead of an EPIPE stack trace.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}

/** Runs a command line and resolves with the exit code (0 success, 1 failure, 2 usage error). */
export async function main(argv: readonly string[]): Promise<number> {
  quietOnClosedPipe();
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`jocko ${version()}\n`);
    return 0;
  }
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return 0;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    const known = Object.keys(COMMANDS);
    const near = known.find((k) => k.startsWith(command.slice(0, 3)));
    process.stderr.write(
      `unknown command '${command}'${near === undefined ? '' : ` (did you mean ${near}?)`}\n\n${HELP}`,
    );
    return 2;
  }
  try {
    return await run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\nRun 'jocko ${command} --help' for its options.\n`);
      return 2;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
