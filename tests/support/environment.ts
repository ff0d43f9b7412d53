/**
 * jest's node environment, plus the last word on child processes: after every hook of a test
 * file has run, it stops whatever the file started and left running (see `./children.ts`).
 * An `afterAll` in a support module would not do: it would run before the file's own top-level
 * `afterAll`, stopping children the file was about to stop itself.
 */
import { TestEnvironment } from 'jest-environment-node';
import { stopLeftovers } from './children';

export default class LatchkeyEnvironment extends TestEnvironment {
  override async teardown(): Promise<void> {
    const stopped = await stopLeftovers(this.global);
    // Not a failure of its own (the test that failed before its stop already says so), but
    // worth seeing: a passing file with leftovers forgot to stop something.
    if (stopped.length)
      process.stderr.write(
        `\nlatchkey tests: stopped ${stopped.length} child process(es) left running:\n  ${stopped.join('\n  ')}\n`,
      );
    await super.teardown();
  }
}
