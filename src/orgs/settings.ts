/**
 * An organization's token policy: which token types authenticate, and their lifetimes.
 * One schema serves the HTTP API, the CLI and LATCHKEY_DEFAULT_ORG_SETTINGS.
 */
import { z } from 'zod';
import type { Organization } from '../generated/prisma/client';
import { integer } from '../http/validate';
import { MAX_ACCESS_TOKEN_TTL_SECONDS, MIN_ACCESS_TOKEN_TTL_SECONDS } from '../limits';

export interface TokenSettings {
  readonly api_tokens_enabled: boolean;
  readonly legacy_api_tokens_enabled: boolean;
  /** Longest lifetime of a new PAT (Label Studio's 200 years by default). */
  readonly api_token_ttl_days: number;
  readonly access_token_ttl_seconds: number;
}

/** The settings as they are answered (for the OpenAPI document). */
export const tokenSettings = z.object({
  api_tokens_enabled: z.boolean(),
  legacy_api_tokens_enabled: z.boolean(),
  api_token_ttl_days: z.int(),
  access_token_ttl_seconds: z.int(),
}) satisfies z.ZodType<TokenSettings>;

/** Label Studio's current defaults; the database columns default to the same. */
export const SETTINGS_DEFAULTS: TokenSettings = Object.freeze({
  api_tokens_enabled: true,
  legacy_api_tokens_enabled: false,
  api_token_ttl_days: 73_000,
  access_token_ttl_seconds: 300,
});

const TRUE = new Set(['true', '1']);
const FALSE = new Set(['false', '0']);

/** A JSON boolean, or a form's "true"/"false"/"1"/"0". "maybe" is not a boolean. */
const boolean = z
  .union(
    [
      z.boolean(),
      z
        .string()
        .refine((value) => TRUE.has(value.toLowerCase()) || FALSE.has(value.toLowerCase()), 'Must be a valid boolean.'),
    ],
    { error: 'Must be a valid boolean.' },
  )
  .transform((value) => (typeof value === 'boolean' ? value : TRUE.has(value.toLowerCase())));

/** Any subset of the settings; an unknown key is an error (a typo must not pass silently). */
export const settingsPatch = z
  .object({
    api_tokens_enabled: boolean.optional(),
    legacy_api_tokens_enabled: boolean.optional(),
    api_token_ttl_days: integer(1, 73_000).optional(),
    access_token_ttl_seconds: integer(MIN_ACCESS_TOKEN_TTL_SECONDS, MAX_ACCESS_TOKEN_TTL_SECONDS).optional(),
  })
  .strict();

export type SettingsPatch = Partial<TokenSettings>;

export function settingsOf(
  org: Pick<Organization, 'apiTokensEnabled' | 'legacyApiTokensEnabled' | 'apiTokenTtlDays' | 'accessTokenTtlSeconds'>,
): TokenSettings {
  return {
    api_tokens_enabled: org.apiTokensEnabled,
    legacy_api_tokens_enabled: org.legacyApiTokensEnabled,
    api_token_ttl_days: org.apiTokenTtlDays,
    access_token_ttl_seconds: org.accessTokenTtlSeconds,
  };
}

export function settingsColumns(patch: SettingsPatch) {
  return {
    apiTokensEnabled: patch.api_tokens_enabled,
    legacyApiTokensEnabled: patch.legacy_api_tokens_enabled,
    apiTokenTtlDays: patch.api_token_ttl_days,
    accessTokenTtlSeconds: patch.access_token_ttl_seconds,
  };
}
