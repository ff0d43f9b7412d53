import { api, ok } from '../api';
import { useResource } from '../hooks';
import { useSession } from '../session';
import type { paths } from '../../../packages/client/src/openapi';

export type Membership =
  paths['/api/organizations/{id}/memberships']['get']['responses'][200]['content']['application/json']['results'][number];

/** The organization's members (the first 500, by email), for the filters of API keys and Audit log. */
export function useMembers(): readonly Membership[] {
  const session = useSession();
  const members = useResource(
    () =>
      ok(
        api.GET('/api/organizations/{id}/memberships', {
          params: { path: { id: String(session.organizationId) }, query: { page_size: '500' } },
        }),
      ),
    [session.organizationId],
  );
  return [...(members.data?.results ?? [])].sort((a, b) => a.email.localeCompare(b.email));
}
