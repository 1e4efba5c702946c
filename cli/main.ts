import { COMMANDS } from './commands.ts';
import { UsageError } from './args.ts';
import { closest } from '../common/suggest.ts';
import { version } from './version.ts';

function usage(): string {
  const lines = ['usage: modelgate <command> [flags]', '', 'Commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', 'Run `modelgate <command> --help` for the flags of one command; `modelgate --version` for the version.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(`modelgate ${version()}`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    const near = closest(name.replace(/^-+/, ''), Object.keys(COMMANDS));
    console.error(`modelgate: unknown command "${name}"${near ? `; did you mean "${near}"?` : ''}\n\n${usage()}`);
    return 2;
  }
  try {
    const mod = await command.load();
    return await mod.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`modelgate ${name}: ${err.message}`);
      return 2;
    }
    if (err instanceof Error && err.name === 'ConfigError') {
      console.error(err.message);
      return 2;
    }
    console.error(`modelgate ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}
