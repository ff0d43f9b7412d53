/**
 * The grammar of the `latchkey` command: each command is declared once, with its forms, its
 * options and what they mean, and both the strict parsing (`node:util` parseArgs) and the help
 * text are made from that declaration, so they cannot disagree.
 */
import { parseArgs } from 'node:util';
import { ProcessError } from '../process-errors';

/** The command line is wrong: said on stderr with the usage, exit 64. */
export class UsageError extends ProcessError {
  readonly code = 'bad_usage';
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** What the help calls the value: `--email EMAIL`. */
  readonly value?: string;
  readonly short?: string;
  readonly description: string;
}

type Options = Readonly<Record<string, OptionSpec>>;

/** The parsed values of `O`'s options: a string or a boolean each, absent when not given. */
export type Values<O extends Options> = { readonly [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean };

export interface Arguments<O extends Options> {
  readonly values: Values<O>;
  readonly positionals: readonly string[];
}

export interface CommandSpec<O extends Options, Work> {
  /** One line, in the list of commands. */
  readonly summary: string;
  /** The forms it takes, after `latchkey <command>`. */
  readonly forms: readonly string[];
  /** More, for `latchkey <command> --help`. */
  readonly description?: string;
  /** Its arguments other than options, as the help lists them (`rotate`, `key=value`). */
  readonly arguments?: Readonly<Record<string, string>>;
  readonly options: O;
  /**
   * Checks the arguments, throwing a {@link UsageError} when they are wrong, and returns the
   * work they ask for. Touches nothing: the work runs later, after the configuration is read.
   */
  readonly plan: (args: Arguments<O>) => Work;
}

export interface Command<Work> {
  readonly summary: string;
  /** `{help: true}` when -h/--help is among `args` (a help request is not checked further). */
  parse(args: readonly string[]): { readonly help: true } | { readonly help: false; readonly work: Work };
  /** The usage lines: `usage: latchkey keys rotate` ... */
  usage(): string;
  /** The whole help: usage, description, arguments and options. */
  help(): string;
}

export const HELP_OPTION = { type: 'boolean', short: 'h', description: 'show this help' } as const satisfies OptionSpec;

/** `-h, --help`, `--email EMAIL`: how an option is written. */
function optionSyntax(name: string, option: OptionSpec): string {
  const long = `--${name}${option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : ''}`;
  return option.short ? `-${option.short}, ${long}` : long;
}

/** Help is read in a terminal: lines of at most this many columns. */
const WIDTH = 80;

/** `text` in lines of at most `width` columns (a longer word stays whole). */
export function wrap(text: string, width: number = WIDTH): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** `title:` then two columns, the second aligned and wrapped. */
export function section(title: string, rows: ReadonlyArray<readonly [string, string]>): string {
  const indent = Math.max(...rows.map(([left]) => left.length)) + 5;
  const lines = rows.flatMap(([left, right]) =>
    wrap(right, WIDTH - indent).map((line, i) => (i ? ' '.repeat(indent) : `  ${left}`.padEnd(indent)) + line),
  );
  return [`${title}:`, ...lines].join('\n');
}

/** `latchkey <name>` from a declaration: parses `args` strictly and writes its help. */
export function command<const O extends Options, Work>(name: string, spec: CommandSpec<O, Work>): Command<Work> {
  const options = { ...spec.options, help: HELP_OPTION };
  const usage = () =>
    spec.forms.map((form, i) => `${i ? '      ' : 'usage:'} latchkey ${name}${form ? ` ${form}` : ''}`).join('\n');
  return {
    summary: spec.summary,
    usage,
    help: () =>
      [
        usage(),
        wrap(
          `${spec.summary[0]!.toUpperCase()}${spec.summary.slice(1)}.${spec.description ? ` ${spec.description}` : ''}`,
        ).join('\n'),
        ...(spec.arguments ? [section('Arguments', Object.entries(spec.arguments))] : []),
        section(
          'Options',
          Object.entries(options).map(([option, s]): [string, string] => [optionSyntax(option, s), s.description]),
        ),
      ].join('\n\n'),
    parse(args) {
      let parsed: ReturnType<typeof parseArgs>;
      try {
        parsed = parseArgs({
          args: [...args],
          options: Object.fromEntries(
            Object.entries(options).map(([option, s]) => [
              option,
              s.short ? { type: s.type, short: s.short } : { type: s.type },
            ]),
          ),
          allowPositionals: spec.arguments !== undefined,
          strict: true,
        });
      } catch (err) {
        throw asUsageError(err);
      }
      if (parsed.values.help) return { help: true };
      return { help: false, work: spec.plan({ values: parsed.values as Values<O>, positionals: parsed.positionals }) };
    },
  };
}

/**
 * parseArgs's errors (an unknown option, a missing value) as usage errors, in their first
 * sentence, which names the option; anything else as it is.
 */
export function asUsageError(err: unknown): unknown {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) return err;
  const [sentence] = (err as Error).message.split('. ', 1);
  return new UsageError(`${sentence![0]!.toLowerCase()}${sentence!.slice(1)}`);
}
