import type { OptionSpecs, ParsedArgs } from './args.js';

/** One subcommand: its words (`user add`), help text, options and behaviour. */
export interface Command<S extends OptionSpecs = OptionSpecs> {
  /** The words that select it, e.g. `user add`. */
  name: string;
  /** What follows the words in the usage line, e.g. `NAME [--password P]`. */
  args: string;
  summary: string;
  /** Paragraphs shown by `--help` after the usage line. */
  description?: string;
  options: S;
  /** Returns the exit code (0 when omitted). */
  run(args: ParsedArgs<S>): Promise<number> | Promise<void>;
}

/** Keeps the option types of one command while letting the dispatcher hold them all. */
export function defineCommand<S extends OptionSpecs>(command: Command<S>): Command {
  return command as unknown as Command;
}

export function usageLine(cmd: Command): string {
  return `openpan ${cmd.name}${cmd.args ? ' ' + cmd.args : ''}`;
}

export function helpText(cmd: Command): string {
  const rows: Array<[string, string]> = Object.entries(cmd.options).map(([name, spec]) => [
    `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`,
    spec.description,
  ]);
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length));
  const lines = [`Usage: ${usageLine(cmd)}`, '', cmd.summary];
  if (cmd.description) lines.push('', cmd.description);
  lines.push('', 'Options:', ...rows.map(([l, d]) => `  ${l.padEnd(width)}  ${d}`));
  return lines.join('\n') + '\n';
}
