import { readFileSync } from 'node:fs';
import path from 'node:path';

/** This build's version, from package.json (beside src/ and dist/ alike). */
export function packageVersion(): string {
  const { version } = JSON.parse(readFileSync(path.join(__dirname, '../package.json'), 'utf8')) as {
    version: string;
  };
  return version;
}
