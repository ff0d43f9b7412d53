/**
 * Each test file is in the tier it needs (tests/support/tiers.js): one that runs the built
 * server or CLI is a process test, and a unit test reaches no database.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tierOf } from '../support/tiers';

const ROOT = path.resolve(__dirname, '../..');
const files = readdirSync(path.join(ROOT, 'tests'), { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.test.ts'))
  .map((file) => `tests/${file.split(path.sep).join('/')}`)
  .sort();
const source = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** Starts child processes: the built server or CLI, nginx, a browser, or anything else. */
const SPAWNS = /^import [^;]*from '((\.\.\/)+support\/(process|browser)|node:child_process|playwright-core)'/m;
/** Needs the template database, or Postgres itself. */
const DATABASE = /^import [^;]*from '((\.\.\/)+support\/(app|db|factories|queries|concurrency)|pg|@prisma\/[^']+)'/m;

describe('test tiers', () => {
  it('finds the test files', () => {
    expect(files).toContain('tests/unit/tiers.test.ts');
    expect(files.length).toBeGreaterThan(30);
  });

  it.each(files)('%s is a process test exactly when it starts processes', (file) => {
    expect(tierOf(file) === 'process').toBe(SPAWNS.test(source(file)));
  });

  it.each(files.filter((file) => tierOf(file) === 'unit'))('%s reaches no database', (file) => {
    expect(source(file)).not.toMatch(DATABASE);
  });
});
