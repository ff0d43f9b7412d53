/** The header: where you are, the organization's pages, and the user menu (Account & Settings, Log out). */
import { useEffect, useId, useRef, useState } from 'react';
import { Link, useLocation } from '../router';
import type { Session } from '../session';

export function Header({ session, onLogout }: { readonly session: Session | null; readonly onLogout: () => void }) {
  return (
    <header className="site-header">
      <div className="header-inner">
        <Link to={session ? '/account' : '/login'} className="brand">
          Latchkey
        </Link>
        {session && (
          <>
            <nav aria-label="Organization" className="site-nav">
              {session.organizationTitle && <span className="org-title">{session.organizationTitle}</span>}
              <ul>
                <li>
                  <Link to="/organization/settings">Access Token Settings</Link>
                </li>
                {session.admin && (
                  <>
                    <li>
                      <Link to="/organization/api-keys">API keys</Link>
                    </li>
                    <li>
                      <Link to="/organization/members">Members</Link>
                    </li>
                    <li>
                      <Link to="/organization/audit">Audit log</Link>
                    </li>
                  </>
                )}
              </ul>
            </nav>
            <UserMenu email={session.user.email} onLogout={onLogout} />
          </>
        )}
      </div>
    </header>
  );
}

/** A disclosure (a button that shows a list of links), closed by Escape, a click elsewhere or leaving it. */
function UserMenu({ email, onLogout }: { readonly email: string; readonly onLogout: () => void }) {
  const [open, setOpen] = useState(false);
  const menuId = useId();
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const { path } = useLocation();

  useEffect(() => setOpen(false), [path]);

  useEffect(() => {
    if (!open) return;
    const outside = (event: Event) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', outside);
    document.addEventListener('focusin', outside);
    return () => {
      document.removeEventListener('pointerdown', outside);
      document.removeEventListener('focusin', outside);
    };
  }, [open]);

  return (
    <div
      className="user-menu"
      ref={root}
      onKeyDown={(event) => {
        if (event.key === 'Escape' && open) {
          setOpen(false);
          button.current?.focus();
        }
      }}
    >
      <button
        ref={button}
        type="button"
        className="user-button"
        aria-expanded={open}
        aria-controls={menuId}
        onClick={() => setOpen(!open)}
      >
        <span className="visually-hidden">Account menu for </span>
        {email}
        <span aria-hidden="true" className="caret">
          ▾
        </span>
      </button>
      <ul id={menuId} className="menu" hidden={!open}>
        <li>
          <Link to="/account" onClick={() => setOpen(false)}>
            Account &amp; Settings
          </Link>
        </li>
        <li>
          <button type="button" onClick={onLogout}>
            Log out
          </button>
        </li>
      </ul>
    </div>
  );
}
