/**
 * The OpenAPI 3.1 document, built from what the routers declared beside their handlers
 * (`route(..., { api })`, see routing.ts): the request schemas are the zod schemas that validate
 * the requests, the response schemas the zod schemas the answers are typed against, and the
 * error answers come from the catalogue (errors.ts), so the document follows the code.
 * OpenAPI 3.1's schemas are JSON Schema 2020-12, which zod emits directly.
 */
import type { Router } from 'express';
import { z } from 'zod';
import { ERRORS, wireCode, type ErrorCode } from '../errors';
import { declaredRoutes, type ApiOperation, type DeclaredRoute } from './routing';

type JsonSchema = Record<string, unknown>;

export const OPENAPI_VERSION = '3.1.1';

/** The methods an operation served for any method (`all`) is listed under. */
export const ANY_METHOD = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const UNSAFE = new Set(['post', 'put', 'patch', 'delete', 'all']);
const DEFAULT_BODY_TYPES = ['application/json', 'application/x-www-form-urlencoded'];

/** What any credential's check may refuse with (authenticate.ts and the verifiers behind it). */
const AUTHENTICATION_ERRORS: readonly ErrorCode[] = [
  'not_authenticated',
  'token_malformed',
  'token_invalid',
  'token_wrong_type',
  'token_expired',
  'token_blacklisted',
  'refresh_token_as_access',
  'token_type_disabled',
  'session_ended',
  'user_not_found',
  'user_inactive',
  'not_a_member',
];
/** What the body parsers and `parseBody` refuse with. */
const BODY_ERRORS: readonly ErrorCode[] = [
  'malformed_body',
  'validation_error',
  'payload_too_large',
  'unsupported_media_type',
];

/** A zod schema as JSON Schema 2020-12, as the request carries it (`input`) or the answer does (`output`). */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    override: ({ jsonSchema: out }) => {
      // Noise for a reader: `z.int()`'s safe-integer bounds, and zod's own date-time pattern
      // beside the `date-time` format, which says the same (RFC 3339).
      if (out.minimum === Number.MIN_SAFE_INTEGER) delete out.minimum;
      if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
      if (out.format === 'date-time') delete out.pattern;
    },
  }) as JsonSchema;
  return rest;
}

/** The contract's error body, and RFC 6749 §5.2's. */
const COMPONENT_SCHEMAS: Record<string, JsonSchema> = {
  Error: {
    type: 'object',
    description:
      'Every error outside the standard OAuth endpoints. Match on `code`, which is stable; `detail` is prose.',
    required: ['id', 'status_code', 'code', 'detail'],
    properties: {
      id: { type: 'string', description: 'The request id, also in X-Request-Id.' },
      status_code: { type: 'integer' },
      code: { type: 'string' },
      detail: { type: 'string' },
      validation_errors: {
        type: 'object',
        description: 'On a 400 for invalid fields: field name → messages.',
        additionalProperties: { type: 'array', items: { type: 'string' } },
      },
    },
    additionalProperties: false,
  },
  OAuthError: {
    type: 'object',
    description: 'RFC 6749 §5.2 (and RFC 7009 §2.2.1): the standard OAuth endpoints’ errors.',
    required: ['error', 'error_description'],
    properties: { error: { type: 'string' }, error_description: { type: 'string' } },
    additionalProperties: false,
  },
};

const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'An access token (RFC 9068 JWT, `typ: at+jwt`) from `POST /api/token/refresh`, `POST /oauth/token` or `POST /api/auth/login`. A personal access token is not one: exchange it first.',
  },
  legacyToken: {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description:
      'A legacy token, sent as `Authorization: Token <key>` (the value includes the `Token ` prefix). Accepted only while the organization has `legacy_api_tokens_enabled`; answered with a `Deprecation` header.',
  },
  apiKey: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Api-Key',
    description:
      'Takes the place of `Authorization`: a JWT-shaped value is checked as an access token, anything else as a legacy token.',
  },
  session: {
    type: 'apiKey',
    in: 'cookie',
    name: 'latchkey_session',
    description: 'The session cookie set by `POST /api/auth/login`.',
  },
  csrfToken: {
    type: 'apiKey',
    in: 'header',
    name: 'X-CSRFToken',
    description:
      'With the session cookie, on unsafe methods (anything but GET, HEAD, OPTIONS, TRACE): the value of the `csrftoken` cookie.',
  },
};

function security(operation: ApiOperation, method: string): Record<string, string[]>[] {
  if (operation.access === 'public') return [];
  const session: Record<string, string[]> = UNSAFE.has(method) ? { session: [], csrfToken: [] } : { session: [] };
  const any: Record<string, string[]>[] = [{ bearer: [] }, { legacyToken: [] }, { apiKey: [] }, session];
  return operation.access === 'optional' ? [...any, {}] : any;
}

/** The error codes an operation may answer: its own, and those of its kind. */
function errorCodes(operation: ApiOperation, method: string, path: string): ErrorCode[] {
  const codes = new Set<ErrorCode>(operation.errors ?? []);
  if (operation.access !== 'public') for (const code of AUTHENTICATION_ERRORS) codes.add(code);
  // A session cookie on an unsafe method needs its CSRF header.
  if (operation.access !== 'public' && UNSAFE.has(method)) codes.add('csrf_failed');
  if (operation.body) for (const code of BODY_ERRORS) codes.add(code);
  if (path.includes(':')) codes.add('not_found');
  if (!operation.offline) codes.add('service_unavailable');
  return [...codes];
}

const bulleted = (codes: readonly ErrorCode[]) =>
  codes.map((code) => `- \`${wireCode(code)}\`: ${ERRORS[code].detail}`).join('\n');

/** The contract's error answers, by status, each naming its codes. */
function contractErrors(codes: readonly ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status: number = ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, unknown> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers: Record<string, unknown> = {};
    if (status === 401)
      headers['WWW-Authenticate'] = {
        description: 'The challenge, in the scheme of the credential sent (RFC 6750 `Bearer`, or `Token`).',
        schema: { type: 'string' },
      };
    if (status === 429 || status === 503)
      headers['Retry-After'] = { description: 'Seconds to wait.', schema: { type: 'string' } };
    const wire = [...new Set(group.map(wireCode))];
    responses[status] = {
      description: bulleted(group),
      ...(Object.keys(headers).length ? { headers } : {}),
      content: {
        'application/json': {
          schema: {
            $ref: '#/components/schemas/Error',
            type: 'object',
            properties: {
              status_code: { const: status },
              code: { enum: wire },
              // Only a validation error names fields.
              ...(group.includes('validation_error') ? {} : { validation_errors: false }),
            },
          },
        },
      },
    };
  }
  return responses;
}

/**
 * RFC 6749 §5.2's error answers: the endpoint's own codes at their statuses, `invalid_request`
 * for anything else refused (a body too large, undecodable...), and a 503 as
 * `temporarily_unavailable` (errors.ts, `oauthErrorFor`).
 */
function oauthErrors(codes: readonly ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, Set<string>>([[400, new Set(['invalid_request'])]]);
  const add = (status: number, error: string) => byStatus.set(status, (byStatus.get(status) ?? new Set()).add(error));
  for (const code of codes) {
    const { status, oauthError } = ERRORS[code] as { status: number; oauthError?: string };
    if (oauthError) add(status, oauthError);
  }
  if (codes.includes('service_unavailable')) add(503, 'temporarily_unavailable');
  const responses: Record<string, unknown> = {};
  for (const [status, errors] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[status] = {
      description: [...errors].map((error) => `\`${error}\``).join(', '),
      headers: {
        'Cache-Control': { description: '`no-store`', schema: { type: 'string' } },
        ...(status === 401
          ? { 'WWW-Authenticate': { description: '`Basic realm="latchkey"`', schema: { type: 'string' } } }
          : {}),
      },
      content: {
        'application/json': {
          schema: {
            $ref: '#/components/schemas/OAuthError',
            type: 'object',
            properties: { error: { enum: [...errors] } },
          },
        },
      },
    };
  }
  return responses;
}

function parameters(operation: ApiOperation, path: string): unknown[] {
  const inPath = [...path.matchAll(/:(\w+)/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: operation.params?.[name!] ? jsonSchema(operation.params[name!]!, 'input') : { type: 'string' },
  }));
  if (!operation.query) return inPath;
  const query = jsonSchema(operation.query, 'input') as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  const inQuery = Object.entries(query.properties ?? {}).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return {
      name,
      in: 'query',
      required: query.required?.includes(name) ?? false,
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
  return [...inPath, ...inQuery];
}

function operationObject(operation: ApiOperation, method: string, path: string): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(operation.responses)) {
    responses[status] = {
      description: answer.description,
      ...(answer.headers
        ? {
            headers: Object.fromEntries(
              Object.entries(answer.headers).map(([name, description]) => [
                name,
                { description, schema: { type: 'string' } },
              ]),
            ),
          }
        : {}),
      ...(answer.schema
        ? { content: { [answer.contentType ?? 'application/json']: { schema: jsonSchema(answer.schema, 'output') } } }
        : {}),
    };
  }
  const codes = errorCodes(operation, method, path);
  Object.assign(responses, operation.errorFormat === 'oauth' ? oauthErrors(codes) : contractErrors(codes));
  const params = parameters(operation, path);
  return {
    operationId: `${method}${path
      .replace(/:(\w+)/g, 'by_$1')
      .replace(/[^A-Za-z0-9]+/g, '_')
      .replace(/_$/, '')}`,
    summary: operation.summary,
    ...(operation.description ? { description: operation.description } : {}),
    tags: [...operation.tags],
    security: security(operation, method),
    ...(params.length ? { parameters: params } : {}),
    ...(operation.body
      ? {
          requestBody: {
            required: !operation.body.safeParse({}).success,
            content: Object.fromEntries(
              (operation.bodyTypes ?? DEFAULT_BODY_TYPES).map((type) => [
                type,
                { schema: jsonSchema(operation.body!, 'input') },
              ]),
            ),
          },
        }
      : {}),
    responses,
  };
}

/** Express's `/a/:id` as OpenAPI's `/a/{id}`. */
export const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

export interface DocumentInfo {
  readonly title: string;
  readonly version: string;
  readonly description: string;
  /** The public base URL (the configured issuer). */
  readonly server: string;
}

/** The OpenAPI 3.1 document of what `routers` declared. */
export function openApiDocument(routers: readonly Router[], info: DocumentInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const tags: string[] = [];
  const add = ({ path, operations }: DeclaredRoute) => {
    const item = (paths[openApiPath(path)] ??= {});
    for (const [method, operation] of Object.entries(operations) as [string, ApiOperation][]) {
      for (const tag of operation.tags) if (!tags.includes(tag)) tags.push(tag);
      if (method === 'all') for (const any of ANY_METHOD) item[any] = operationObject(operation, any, path);
      else item[method] = operationObject(operation, method, path);
    }
  };
  for (const router of routers) for (const declared of declaredRoutes(router)) add(declared);
  return {
    openapi: OPENAPI_VERSION,
    info: { title: info.title, version: info.version, description: info.description },
    servers: [{ url: info.server }],
    tags: tags.map((name) => ({ name })),
    paths,
    components: { schemas: COMPONENT_SCHEMAS, securitySchemes: SECURITY_SCHEMES },
  };
}
