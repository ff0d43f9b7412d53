/**
 * Writes `.env.example` and README's table of environment variables from `src/environment.ts`
 * (`npm run settings:docs`). tests/settings.test.ts renders both again and compares, so a
 * change to a variable that is not followed by this command fails the tests.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { VARIABLES, type Variable } from '../src/environment';

export const ENV_EXAMPLE = path.join(__dirname, '..', '.env.example');
export const README = path.join(__dirname, '..', 'README.md');

const BEGIN = '<!-- environment:begin (generated from src/environment.ts by npm run settings:docs) -->';
const END = '<!-- environment:end -->';
const WIDTH = 92;

/** The default as it would be written in the environment, or undefined for a variable without one. */
export function defaultOf(variable: Variable): string | undefined {
  const parsed = variable.parser.safeParse(undefined);
  return parsed.success && parsed.data !== undefined ? String(parsed.data) : undefined;
}

/** The values the parser accepts, when it can say so shortly: an integer range or a list of choices. */
function valuesOf(parser: z.ZodType): string | undefined {
  const inner = parser instanceof z.ZodDefault || parser instanceof z.ZodOptional ? parser.unwrap() : parser;
  if (inner instanceof z.ZodNumber && Number.isFinite(inner.minValue) && Number.isFinite(inner.maxValue))
    return `${inner.minValue} to ${inner.maxValue}`;
  if (inner instanceof z.ZodEnum) return inner.options.map((option) => `\`${String(option)}\``).join(', ');
  return undefined;
}

function documentation(variable: Variable): string {
  const values = valuesOf(variable.parser);
  return values === undefined ? variable.doc : `${variable.doc} Values: ${values}.`;
}

/** `text` as `#` comment lines of at most WIDTH columns, never breaking inside a `code` span. */
function comment(text: string): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const word of text.match(/(?:`[^`]*`|[^\s`])+/g) ?? []) {
    if (line.length + 1 + word.length > WIDTH && line !== '#') {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  return [...lines, line];
}

export function renderEnvExample(): string {
  const sections = Object.entries(VARIABLES).map(([name, variable]: [string, Variable]) => {
    const value = defaultOf(variable);
    const assignment = value === undefined ? `# ${name}=${variable.example ?? ''}` : `${name}=${value}`;
    return [...comment(documentation(variable)), assignment].join('\n');
  });
  const header = [
    ...comment(
      'Latchkey reads a `.env` file in the directory it is started from (`npm start`, `npx latchkey ...`): ' +
        'copy this file to `.env` and keep the lines you change. A variable set in the environment wins over ' +
        'the file. Each line is `NAME=value`, a `#` comment or blank: any other line stops start-up with one ' +
        'line giving its number (exit code 78), as a bad value does naming its variable.',
    ),
    '#',
    ...comment(
      "Latchkey's environment, generated from src/environment.ts by `npm run settings:docs`: edit there, not here. " +
        'Every variable is optional; a commented one has no default.',
    ),
  ];
  return `${[header.join('\n'), ...sections].join('\n\n')}\n`;
}

const cell = (text: string): string => text.replaceAll('|', '\\|');

function readmeTable(): string {
  const rows = Object.entries(VARIABLES).map(([name, variable]: [string, Variable]) => {
    const value = defaultOf(variable);
    const shown = value === undefined ? (variable.whenUnset ?? 'unset') : `\`${value}\``;
    return `| \`${name}\` | ${cell(shown)} | ${cell(documentation(variable))} |`;
  });
  return [BEGIN, '| Variable | Default | Meaning |', '|---|---|---|', ...rows, END].join('\n');
}

/** `readme` with the text between its markers replaced by the current table. */
export function renderReadme(readme: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md has no "${BEGIN}" ... "${END}" markers`);
  return readme.slice(0, begin) + readmeTable() + readme.slice(end + END.length);
}

if (require.main === module) {
  writeFileSync(ENV_EXAMPLE, renderEnvExample());
  writeFileSync(README, renderReadme(readFileSync(README, 'utf8')));
}
