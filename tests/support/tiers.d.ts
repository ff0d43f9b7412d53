/** Types for tiers.js, which stays JavaScript so that jest.config.js can require it. */
export type Tier = 'unit' | 'integration' | 'process';
export const UNIT: readonly string[];
export const PROCESS: readonly string[];
export function tierOf(file: string): Tier;
