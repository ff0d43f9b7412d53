/** Organizations, token settings, memberships, the token inventory and the audit trail. HTTP only. */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { principalOf, requireAuth } from '../auth/authenticate';
import type { Principal } from '../auth/principal';
import { ROLES } from '../auth/roles';
import type { Context } from '../context';
import { fail } from '../errors';
import { iso, paged, timestamp } from '../http/responses';
import { pageBody, pageQuery, readPage, type Page } from '../http/paging';
import { route, type ApiOperation } from '../http/routing';
import { choice, idParam, idQuery, idSegment, instant, parseBody, parseQuery, text } from '../http/validate';
import { AUDIT_ACTIONS } from '../audit/audit.store';
import { labelStudioUser, labelStudioUserSchema } from '../users/user-object';
import { emailField, nameField, newPasswordField } from '../users/user-fields';
import { listOrgAudit, listOrgTokens, revokeOrgToken } from './inventory.service';
import {
  acceptInvitation,
  actIn,
  addMember,
  changeRole,
  createOrganization,
  declineInvitation,
  getSettings,
  listOrgMembers,
  listOwnOrganizations,
  removeMember,
  requireAdmin,
  updateSettings,
} from './orgs.service';
import { settingsPatch, tokenSettings } from './settings';

const newOrganization = z.object({ title: text(200) });
const newMember = z.object({
  email: emailField(),
  role: choice(ROLES),
  password: newPasswordField().optional(),
  first_name: nameField().optional(),
  last_name: nameField().optional(),
});
const roleChange = z.object({ role: choice(ROLES) });
const tokenType = choice(['pat', 'legacy'] as const);

// ---- Answers ----------------------------------------------------------------------------------

const TAGS = ['Organizations'];
const role = z.enum(ROLES);
const memberStatus = z.enum(['active', 'pending']);
const ownOrganization = z.object({
  id: z.int(),
  title: z.string(),
  role,
  status: memberStatus,
  created_at: timestamp,
});
const createdOrganization = z.object({ id: z.int(), title: z.string(), created_at: timestamp });
const member = z.object({
  user_id: z.int(),
  email: z.string(),
  first_name: z.string(),
  last_name: z.string(),
  is_active: z.boolean(),
  role,
  status: memberStatus,
  created_at: timestamp,
  user: labelStudioUserSchema.meta({
    description: 'Label Studio’s user object; `active_organization` only when it is this organization.',
  }),
});
const membership = z.object({
  user_id: z.int(),
  email: z.string(),
  role,
  organization: z.int(),
  status: memberStatus,
});
const roleChanged = z.object({ user_id: z.int(), role, organization: z.int() });
const inventoryRow = z.object({
  type: z.enum(['pat', 'legacy']),
  id: z.int(),
  user_id: z.int(),
  email: z.string(),
  name: z.string(),
  role: role.nullable().meta({ description: 'A legacy token acts with its owner’s role: null once they left.' }),
  hint: z.string().nullable(),
  created_at: timestamp,
  expires_at: timestamp.nullable(),
  last_used_at: timestamp.nullable(),
  revoked_at: timestamp.nullable(),
  revoked_reason: z.enum(['revoked', 'rotated', 'reuse']).nullable(),
});
const auditEvent = z.object({
  id: z.int(),
  created_at: timestamp,
  actor_user_id: z.int().nullable(),
  actor_email: z
    .string()
    .nullable()
    .meta({ description: 'The actor’s email now; null when there was none (the CLI, start-up) or the user is gone.' }),
  action: z.string(),
  target_type: z.string().nullable(),
  target_id: z.string().nullable(),
  ip: z.string().nullable(),
  details: z.unknown().meta({ description: 'What changed (old and new values, ...), by action.' }),
});

// ---- Filters (query parameters; a bad value is a 400 naming it) --------------------------------

const noFilter = z.object({});
const inventoryFilter = z.object({
  type: choice(['pat', 'legacy'] as const)
    .optional()
    .meta({ description: 'Only personal access tokens, or only legacy tokens.' }),
  user_id: idQuery().optional().meta({ description: 'Only this user’s tokens.' }),
  status: choice(['live', 'revoked'] as const)
    .optional()
    .meta({
      description: '`live`: neither revoked nor expired; `revoked`: revoked (an expired, unrevoked PAT is neither).',
    }),
  used_since: instant()
    .optional()
    .meta({ description: 'Only tokens used at or after this instant (RFC 3339, with its offset).' }),
});
const auditFilter = z.object({
  action: choice(AUDIT_ACTIONS).optional().meta({ description: 'Only events of this action.' }),
  actor_user_id: idQuery().optional().meta({ description: 'Only events this user did.' }),
});

/** The description of an administrator's paged list of an organization's rows, filtered by `filter`. */
const pagedListApi = (summary: string, item: z.ZodType, filter: z.ZodObject = noFilter): ApiOperation => ({
  summary,
  description:
    'Owners and administrators of the organization. `count` counts what the filters (if any) match, across pages.',
  tags: TAGS,
  access: 'authenticated',
  params: { id: idSegment },
  query: pageQuery.extend(filter.shape),
  responses: { 200: { description: 'One page.', schema: paged(item) } },
  errors: ['permission_denied', 'not_found', ...(filter === noFilter ? [] : (['validation_error'] as const))],
});

/** What acting in `:id` may be refused with (`actIn`), beside authentication's. */
const IN_ORG = ['permission_denied', 'not_found'] as const;

export function orgsRouter(context: () => Context): Router {
  const router = Router();
  const auth = requireAuth(context);

  route(
    router,
    '/api/jwt/settings',
    {
      get: [
        auth,
        async (req, res) =>
          void res.json((await getSettings(context(), principalOf(req))) satisfies z.output<typeof tokenSettings>),
      ],
      post: [
        auth,
        async (req, res) => {
          const principal = principalOf(req);
          requireAdmin(principal);
          res.json(
            (await updateSettings(context(), principal, parseBody(settingsPatch, req.body), req.ip)) satisfies z.output<
              typeof tokenSettings
            >,
          );
        },
      ],
    },
    {
      api: {
        get: {
          summary: 'The organization’s token settings',
          tags: TAGS,
          access: 'authenticated',
          responses: { 200: { description: 'The settings.', schema: tokenSettings } },
          errors: ['not_found'],
        },
        post: {
          summary: 'Change the organization’s token settings',
          description: 'Owners and administrators; any subset. A bad value is a 400 and nothing is written.',
          tags: TAGS,
          access: 'authenticated',
          body: settingsPatch,
          responses: { 200: { description: 'The settings, changed.', schema: tokenSettings } },
          errors: ['permission_denied', 'not_found'],
        },
      },
    },
  );

  route(
    router,
    '/api/organizations',
    {
      get: [
        auth,
        async (req, res) => {
          const memberships = await listOwnOrganizations(context(), principalOf(req));
          res.json(
            memberships.map(({ role, status, organization }) => ({
              id: organization.id,
              title: organization.title,
              role,
              status,
              created_at: iso(organization.createdAt),
            })) satisfies z.output<typeof ownOrganization>[],
          );
        },
      ],
      post: [
        auth,
        async (req, res) => {
          const { title } = parseBody(newOrganization, req.body);
          const org = await createOrganization(context(), principalOf(req), title, req.ip);
          res
            .status(201)
            .json({ id: org.id, title: org.title, created_at: iso(org.createdAt) } satisfies z.output<
              typeof createdOrganization
            >);
        },
      ],
    },
    {
      api: {
        get: {
          summary: 'The caller’s organizations, invitations included',
          tags: TAGS,
          access: 'authenticated',
          responses: { 200: { description: 'Every membership of the caller.', schema: z.array(ownOrganization) } },
        },
        post: {
          summary: 'Create an organization, with the caller as its owner',
          tags: TAGS,
          access: 'authenticated',
          body: newOrganization,
          responses: { 201: { description: 'The new organization.', schema: createdOrganization } },
        },
      },
    },
  );

  /** Resolves `:id` to an organization the request may act in (403/404 otherwise). */
  const org = (req: Request) => actIn(context(), principalOf(req), idParam(req.params.id));

  /** An administrator's paged list of `:id`'s rows, filtered by the query's `filter`, in the contract's wire shape. */
  const pagedList = <T, I extends z.ZodType, F extends z.ZodObject>(
    _item: I,
    filter: F,
    list: (
      ctx: Context,
      principal: Principal,
      organizationId: number,
      page: Page,
      filter: z.output<F>,
    ) => Promise<{ count: number; rows: T[] }>,
    wire: (row: T, organizationId: number) => z.output<I>,
  ) => [
    auth,
    async (req: Request, res: Response) => {
      const id = await org(req);
      const principal = principalOf(req);
      requireAdmin(principal);
      const page = readPage(req);
      const where = parseQuery(filter, req.query);
      const ctx = context();
      const { count, rows } = await list(ctx, principal, id, page, where);
      res.json(
        pageBody(
          req,
          ctx.config.issuer,
          page,
          count,
          rows.map((row) => wire(row, id)),
        ),
      );
    },
  ];

  route(
    router,
    '/api/organizations/:id/memberships',
    {
      get: pagedList(member, noFilter, listOrgMembers, (m, organizationId) => ({
        user_id: m.user.id,
        email: m.user.email,
        first_name: m.user.firstName,
        last_name: m.user.lastName,
        is_active: m.user.isActive,
        role: m.role,
        status: m.status,
        created_at: iso(m.createdAt),
        // Label Studio's user object. Which other organization a member acts in is not this
        // one's to learn: `active_organization` shows only when it is this one.
        user: labelStudioUser({
          ...m.user,
          activeOrganizationId: m.user.activeOrganizationId === organizationId ? organizationId : null,
          dateJoined: m.user.createdAt,
        }),
      })),
      post: [
        auth,
        async (req, res) => {
          const id = await org(req);
          requireAdmin(principalOf(req));
          const body = parseBody(newMember, req.body);
          res.status(201).json(
            (await addMember(
              context(),
              principalOf(req),
              id,
              {
                email: body.email,
                role: body.role,
                password: body.password,
                firstName: body.first_name,
                lastName: body.last_name,
              },
              req.ip,
            )) satisfies z.output<typeof membership>,
          );
        },
      ],
    },
    {
      api: {
        get: pagedListApi('The organization’s members and invitations', member),
        post: {
          summary: 'Add a member, or invite an existing user',
          description:
            'Owners and administrators, up to their own role. A new email is created with the password and is a member at once (`active`); an existing user gets a `pending` membership to accept.',
          tags: TAGS,
          access: 'authenticated',
          params: { id: idSegment },
          body: newMember,
          responses: { 201: { description: 'The membership.', schema: membership } },
          errors: [...IN_ORG, 'already_member'],
        },
      },
    },
  );

  /** The invitee's own: acts for the caller, not in the organization, so it does not go through `org()`. Before `:userId`. */
  route(
    router,
    '/api/organizations/:id/memberships/accept',
    {
      post: [
        auth,
        async (req, res) =>
          void res.json(
            (await acceptInvitation(context(), principalOf(req), idParam(req.params.id), req.ip)) satisfies z.output<
              typeof membership
            >,
          ),
      ],
    },
    {
      api: {
        post: {
          summary: 'Accept an invitation to the organization',
          description: 'The invitee, with a credential of any of their organizations.',
          tags: TAGS,
          access: 'authenticated',
          params: { id: idSegment },
          responses: { 200: { description: 'The membership, now active.', schema: membership } },
        },
      },
    },
  );

  route(
    router,
    '/api/organizations/:id/memberships/:userId',
    {
      patch: [
        auth,
        async (req, res) => {
          const id = await org(req);
          requireAdmin(principalOf(req));
          const { role } = parseBody(roleChange, req.body);
          const updated = await changeRole(context(), principalOf(req), id, idParam(req.params.userId), role, req.ip);
          res.json({ user_id: updated.userId, role: updated.role, organization: id } satisfies z.output<
            typeof roleChanged
          >);
        },
      ],
      delete: [
        auth,
        async (req, res) => {
          const principal = principalOf(req);
          const userId = idParam(req.params.userId);
          if (!(await declineInvitation(context(), principal, idParam(req.params.id), userId, req.ip))) {
            await removeMember(context(), principal, await org(req), userId, req.ip);
          }
          res.status(204).end();
        },
      ],
    },
    {
      api: {
        patch: {
          summary: 'Change a member’s role',
          description: 'Owners and administrators, up to their own role; the last owner stays one.',
          tags: TAGS,
          access: 'authenticated',
          params: { id: idSegment, userId: idSegment },
          body: roleChange,
          responses: { 200: { description: 'The new role.', schema: roleChanged } },
          errors: [...IN_ORG, 'last_owner'],
        },
        delete: {
          summary: 'Remove a member, or decline one’s own invitation',
          description:
            'Owners and administrators remove members (not the last owner); an invitee deletes their own pending membership to decline it.',
          tags: TAGS,
          access: 'authenticated',
          params: { id: idSegment, userId: idSegment },
          responses: { 204: { description: 'Removed, or declined.' } },
          errors: [...IN_ORG, 'last_owner'],
        },
      },
    },
  );

  route(
    router,
    '/api/organizations/:id/tokens',
    {
      get: pagedList(
        inventoryRow,
        inventoryFilter,
        (ctx, principal, id, page, f) =>
          listOrgTokens(ctx, principal, id, page, {
            type: f.type,
            userId: f.user_id,
            status: f.status,
            usedSince: f.used_since,
          }),
        (r) => ({
          ...r,
          created_at: iso(r.created_at),
          expires_at: iso(r.expires_at),
          last_used_at: iso(r.last_used_at),
          revoked_at: iso(r.revoked_at),
        }),
      ),
    },
    {
      api: {
        get: pagedListApi(
          'Every PAT and legacy token of the organization (metadata only)',
          inventoryRow,
          inventoryFilter,
        ),
      },
    },
  );

  route(
    router,
    '/api/organizations/:id/tokens/:type/:tokenId',
    {
      delete: [
        auth,
        async (req, res) => {
          const id = await org(req);
          const type = tokenType.safeParse(req.params.type);
          if (!type.success) throw fail('not_found');
          await revokeOrgToken(context(), principalOf(req), id, type.data, idParam(req.params.tokenId), req.ip);
          res.status(204).end();
        },
      ],
    },
    {
      api: {
        delete: {
          summary: 'Revoke any token of the organization',
          description: 'Owners and administrators. `type` is `pat` or `legacy`.',
          tags: TAGS,
          access: 'authenticated',
          params: { id: idSegment, type: tokenType, tokenId: idSegment },
          responses: { 204: { description: 'Revoked.' } },
          errors: IN_ORG,
        },
      },
    },
  );

  route(
    router,
    '/api/organizations/:id/audit-events',
    {
      get: pagedList(
        auditEvent,
        auditFilter,
        (ctx, principal, id, page, f) =>
          listOrgAudit(ctx, principal, id, page, { action: f.action, actorUserId: f.actor_user_id }),
        (e) => ({
          id: Number(e.id),
          created_at: iso(e.createdAt),
          actor_user_id: e.actorUserId,
          actor_email: e.actorEmail,
          action: e.action,
          target_type: e.targetType,
          target_id: e.targetId,
          ip: e.ip,
          details: e.details,
        }),
      ),
    },
    { api: { get: pagedListApi('The organization’s audit trail, newest first', auditEvent, auditFilter) } },
  );

  return router;
}
