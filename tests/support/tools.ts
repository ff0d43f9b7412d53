/**
 * Where an external program some tests run lives: the path in its environment variable if set
 * (set it to a path that does not exist to see the skip), else where Debian's package installs
 * it, else the first on PATH.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** A program, by its name, the variable that may point at it, and Debian's path for it. */
export interface Tool {
  readonly name: string;
  readonly envVar: string;
  readonly debianPath: string;
}

/** Where `tool` is looked for, in order. */
export function toolCandidates(tool: Tool): string[] {
  const given = process.env[tool.envVar];
  if (given) return [given];
  return [
    tool.debianPath,
    ...(process.env.PATH ?? '')
      .split(path.delimiter)
      .filter(Boolean)
      .map((dir) => path.join(dir, tool.name)),
  ];
}

/** The program, or undefined if there is none. */
export const findTool = (tool: Tool): string | undefined => toolCandidates(tool).find(executable);
