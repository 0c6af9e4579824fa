// Asking the user: on a terminal, a prompt on stderr (passwords without echo); otherwise one
// line from stdin per question, so scripts can pipe answers in.
import { createInterface } from 'node:readline';
import { CliError } from './errors.js';

let buffered = '';
let ended = false;

function readMore(): Promise<void> {
  const stdin = process.stdin;
  return new Promise((resolve) => {
    const cleanup = () => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onEnd);
      stdin.pause();
    };
    const onData = (chunk: Buffer | string) => {
      cleanup();
      buffered += chunk.toString();
      resolve();
    };
    const onEnd = () => {
      cleanup();
      ended = true;
      resolve();
    };
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onEnd);
    stdin.resume();
  });
}

/** The next line of stdin (without its line ending), or null at the end of input. */
export async function nextStdinLine(): Promise<string | null> {
  for (;;) {
    const nl = buffered.indexOf('\n');
    if (nl !== -1) {
      const line = buffered.slice(0, nl).replace(/\r$/, '');
      buffered = buffered.slice(nl + 1);
      return line;
    }
    if (ended) {
      const rest = buffered;
      buffered = '';
      return rest === '' ? null : rest;
    }
    await readMore();
  }
}

export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY);
}

async function lineFromStdin(what: string): Promise<string> {
  const line = await nextStdinLine();
  if (line === null) throw new CliError(`expected ${what} on stdin (it is not a terminal), got end of input`);
  return line;
}

/** Asks for a visible value (user name, server address). */
export async function promptLine(question: string, what: string): Promise<string> {
  if (!isInteractive()) return lineFromStdin(what);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.once('SIGINT', () => reject(new CliError('cancelled', 130)));
      rl.question(question, resolve);
    });
  } finally {
    rl.close();
  }
}

/** Asks for a secret without echoing it. */
export async function promptHidden(question: string, what: string): Promise<string> {
  if (!isInteractive()) return lineFromStdin(what);
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          return resolve(value);
        }
        if (ch === '\u0003') {
          finish();
          return reject(new CliError('cancelled', 130));
        }
        if (ch === '\u007f' || ch === '\b') {
          value = [...value].slice(0, -1).join('');
          continue;
        }
        if (ch === '\u001b') break; // an escape sequence (arrow keys...): ignore the rest of it
        if (ch < ' ') continue;
        value += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** A new password: asked twice on a terminal (they must match), read once from piped stdin. */
export async function promptNewPassword(): Promise<string> {
  if (!isInteractive()) return lineFromStdin('the new password');
  const first = await promptHidden('New password: ', 'the new password');
  const second = await promptHidden('Repeat the new password: ', 'the new password');
  if (first !== second) throw new CliError('the two passwords differ; nothing was changed');
  return first;
}
