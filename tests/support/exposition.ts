/** Reads the Prometheus text exposition, as a scraper would, for assertions on its samples. */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly samples: readonly Sample[];
  /** `# HELP` text by metric family. */
  readonly help: ReadonlyMap<string, string>;
  /** `# TYPE` by metric family. */
  readonly types: ReadonlyMap<string, string>;
  /** The value of the one sample with this name and exactly these labels; 0 when there is none (a counter not yet incremented). */
  value(name: string, labels?: Record<string, string>): number;
  /** Every sample of `name` whose labels include `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

const unescape = (value: string) => value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const help = new Map<string, string>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'HELP' ? help : types).set(meta[2]!, meta[3]!);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(LABEL)].map((m) => [m[1]!, unescape(m[2]!)]));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  const includes = (sample: Sample, labels: Record<string, string>) =>
    Object.entries(labels).every(([k, v]) => sample.labels[k] === v);
  const find = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && includes(s, labels));
  return {
    samples,
    help,
    types,
    find,
    value(name, labels = {}) {
      const exact = find(name, labels).filter((s) => Object.keys(s.labels).length === Object.keys(labels).length);
      if (exact.length > 1) throw new Error(`${exact.length} samples of ${name} with ${JSON.stringify(labels)}`);
      return exact[0]?.value ?? 0;
    },
  };
}
