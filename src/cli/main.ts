#!/usr/bin/env node
import { DashrelayError } from '../errors/errors.ts';
import { publishHelp, runPublish } from './publish.ts';
import { runServe, serveHelp } from './serve.ts';
import { runToken, tokenHelp } from './token.ts';
import { UsageError } from './usage-error.ts';

const mainHelp = `Usage: dashrelay <command> [options]

Commands:
  serve      run the relay server (what \`npm start\` runs)
  publish    publish a Raspberry Pi camera, a webcam, a file or any ffmpeg input to a server, reconnecting by itself
  token      print a signed publish or play token for a stream (the server's --secret)

Run \`dashrelay <command> --help\` for the options of each.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return runServe(rest);
    case 'publish':
      return runPublish(rest);
    case 'token':
      return runToken(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(mainHelp);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const command = process.argv[2];
    const code = (err as { code?: string }).code ?? '';
    if (err instanceof UsageError || code.startsWith('ERR_PARSE_ARGS') || code === 'DR_ERR_CONFIG_INVALID') {
      console.error(`dashrelay: ${(err as Error).message}`);
      const helps: Record<string, string> = { serve: serveHelp, publish: publishHelp, token: tokenHelp };
      const help = (command && helps[command]) || mainHelp;
      console.error(
        `\n${help.split('\n')[0]}\nRun \`dashrelay ${command && helps[command] ? `${command} ` : ''}--help\` for details.`,
      );
      process.exitCode = 2;
    } else if (err instanceof DashrelayError) {
      console.error(`dashrelay: ${err.message} [${err.code}]`);
      process.exitCode = 1;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
