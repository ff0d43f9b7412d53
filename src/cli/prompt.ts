/**
 * Asking for a password on the terminal: typed twice, never echoed, never in the shell's history
 * or the process list (as `--password` would be). The prompts go to stderr, so stdout stays the
 * command's output.
 */
import { createInterface } from 'node:readline';
import { MIN_PASSWORD_LENGTH } from '../limits';
import { ProcessError } from '../process-errors';
import { UsageError } from './usage';

class Interrupted extends ProcessError {
  readonly code = 'interrupted';
}

/** A new password, asked twice until the two agree and it is long enough (three tries). */
export async function askNewPassword(): Promise<string> {
  // A terminal in raw mode (no echo by the terminal), and readline's own echo silenced.
  const terminal = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  (terminal as unknown as { _writeToOutput: (text: string) => void })._writeToOutput = () => undefined;
  // The iterator queues lines typed ahead of their question.
  const lines = terminal[Symbol.asyncIterator]();
  let interrupted = false;
  terminal.once('SIGINT', () => {
    interrupted = true;
    terminal.close();
  });
  const ask = async (question: string) => {
    process.stderr.write(question);
    const { value, done } = await lines.next();
    process.stderr.write('\n');
    if (interrupted) throw new Interrupted('interrupted');
    if (done) throw new UsageError('no password given');
    return value as string;
  };
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const password = await ask('Password: ');
      if (password.length < MIN_PASSWORD_LENGTH) {
        process.stderr.write(`At least ${MIN_PASSWORD_LENGTH} characters, please.\n`);
        continue;
      }
      if ((await ask('Again: ')) === password) return password;
      process.stderr.write('The two do not match.\n');
    }
    throw new UsageError('no password given');
  } finally {
    terminal.close();
  }
}
