/**
 * A choice among the roles the signed-in user may hand out (to a token or to a member): their
 * own and the ones below. The server decides; this only offers what it would accept.
 */
import { rolesUpTo, roleLabel, type Role } from '../roles';
import { useSession } from '../session';
import type { ControlProps } from './Field';

interface RoleSelectProps extends ControlProps {
  readonly value: Role;
  readonly onChange: (role: Role) => void;
}

export function RoleSelect({ value, onChange, ...control }: RoleSelectProps) {
  const session = useSession();
  return (
    <select {...control} value={value} onChange={(event) => onChange(event.target.value as Role)}>
      {rolesUpTo(session.role).map((role) => (
        <option key={role} value={role}>
          {roleLabel(role)}
        </option>
      ))}
    </select>
  );
}
