/** Who is signed in, and in which organization the session acts (every page needs both). */
import { createContext, useContext } from 'react';
import { answer, api, ok } from './api';
import { isAdmin, type Role } from './roles';
import type { paths } from '../../packages/client/src/openapi';

export type User = paths['/api/current-user/whoami']['get']['responses'][200]['content']['application/json'];

export interface Session {
  readonly user: User;
  /** The organization the session is bound to: routes under /api/organizations/:id act only in it. */
  readonly organizationId: number;
  readonly organizationTitle: string;
  /** What the session may do there now. */
  readonly role: Role;
  readonly admin: boolean;
}

/**
 * Whoami says who; forward-auth (`/api/auth/verify`) says which organization this credential is
 * bound to, which is not always `active_organization` (the user may have switched since logging in).
 */
export async function loadSession(): Promise<Session> {
  const [user, verified, organizations] = await Promise.all([
    ok(api.GET('/api/current-user/whoami')),
    answer(api.GET('/api/auth/verify', { parseAs: 'text' })),
    ok(api.GET('/api/organizations')),
  ]);
  const organizationId = Number(verified.response.headers.get('X-Auth-Org-Id'));
  const role = user.role;
  return {
    user,
    organizationId,
    organizationTitle: organizations.find((o) => o.id === organizationId)?.title ?? '',
    role,
    admin: isAdmin(role),
  };
}

export const SessionContext = createContext<Session | null>(null);

/** The signed-in session: pages under the signed-in layout always have one. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession() outside a signed-in page');
  return session;
}
