/** Organizations, token settings, memberships, the token inventory and the audit trail. HTTP only. */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { principalOf, requireAuth } from '../auth/authenticate';
import type { Principal } from '../auth/principal';
import { ROLES } from '../auth/roles';
import type { Context } from '../context';
import { fail } from '../errors';
import { iso } from '../http/responses';
import { pageBody, readPage, type Page } from '../http/paging';
import { route } from '../http/routing';
import { choice, idParam, parseBody, storableString, text } from '../http/validate';
import { MIN_PASSWORD_LENGTH } from '../limits';
import { labelStudioUser } from '../users/user-object';
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
import { settingsPatch } from './settings';

const newOrganization = z.object({ title: text(200) });
const newMember = z.object({
  email: z.email({
    error: (issue) => (issue.input === undefined ? 'This field is required.' : 'Enter a valid email address.'),
  }),
  role: choice(ROLES),
  password: z
    .string()
    .min(MIN_PASSWORD_LENGTH, `Ensure this field has at least ${MIN_PASSWORD_LENGTH} characters.`)
    .max(1024)
    .optional(),
  first_name: storableString().max(150).optional(),
  last_name: storableString().max(150).optional(),
});
const roleChange = z.object({ role: choice(ROLES) });
const tokenType = choice(['pat', 'legacy'] as const);

export function orgsRouter(context: () => Context): Router {
  const router = Router();
  const auth = requireAuth(context);

  route(router, '/api/jwt/settings', {
    get: [auth, async (req, res) => void res.json(await getSettings(context(), principalOf(req)))],
    post: [
      auth,
      async (req, res) => {
        const principal = principalOf(req);
        requireAdmin(principal);
        res.json(await updateSettings(context(), principal, parseBody(settingsPatch, req.body), req.ip));
      },
    ],
  });

  route(router, '/api/organizations', {
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
          })),
        );
      },
    ],
    post: [
      auth,
      async (req, res) => {
        const { title } = parseBody(newOrganization, req.body);
        const org = await createOrganization(context(), principalOf(req), title, req.ip);
        res.status(201).json({ id: org.id, title: org.title, created_at: iso(org.createdAt) });
      },
    ],
  });

  /** Resolves `:id` to an organization the request may act in (403/404 otherwise). */
  const org = (req: Request) => actIn(context(), principalOf(req), idParam(req.params.id));

  /** An administrator's paged list of `:id`'s rows, in the contract's wire shape. */
  const pagedList = <T>(
    list: (
      ctx: Context,
      principal: Principal,
      organizationId: number,
      page: Page,
    ) => Promise<{ count: number; rows: T[] }>,
    wire: (row: T, organizationId: number) => object,
  ) => [
    auth,
    async (req: Request, res: Response) => {
      const id = await org(req);
      const principal = principalOf(req);
      requireAdmin(principal);
      const page = readPage(req);
      const ctx = context();
      const { count, rows } = await list(ctx, principal, id, page);
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

  route(router, '/api/organizations/:id/memberships', {
    get: pagedList(listOrgMembers, (m, organizationId) => ({
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
          await addMember(
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
          ),
        );
      },
    ],
  });

  /** The invitee's own: acts for the caller, not in the organization, so it does not go through `org()`. Before `:userId`. */
  route(router, '/api/organizations/:id/memberships/accept', {
    post: [
      auth,
      async (req, res) =>
        void res.json(await acceptInvitation(context(), principalOf(req), idParam(req.params.id), req.ip)),
    ],
  });

  route(router, '/api/organizations/:id/memberships/:userId', {
    patch: [
      auth,
      async (req, res) => {
        const id = await org(req);
        requireAdmin(principalOf(req));
        const { role } = parseBody(roleChange, req.body);
        const updated = await changeRole(context(), principalOf(req), id, idParam(req.params.userId), role, req.ip);
        res.json({ user_id: updated.userId, role: updated.role, organization: id });
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
  });

  route(router, '/api/organizations/:id/tokens', {
    get: pagedList(listOrgTokens, (r) => ({
      ...r,
      created_at: iso(r.created_at),
      expires_at: iso(r.expires_at),
      last_used_at: iso(r.last_used_at),
      revoked_at: iso(r.revoked_at),
    })),
  });

  route(router, '/api/organizations/:id/tokens/:type/:tokenId', {
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
  });

  route(router, '/api/organizations/:id/audit-events', {
    get: pagedList(listOrgAudit, (e) => ({
      id: Number(e.id),
      created_at: iso(e.createdAt),
      actor_user_id: e.actorUserId,
      action: e.action,
      target_type: e.targetType,
      target_id: e.targetId,
      ip: e.ip,
      details: e.details,
    })),
  });

  return router;
}
