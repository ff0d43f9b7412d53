/** Process entry for `npm start`: `latchkey serve`. */
import { run } from './cli';

void run(['serve']).then((code) => {
  if (code !== undefined) process.exitCode = code;
});
