/**
 * The app: who is signed in, the header, and the page for the path. Any 401 from the API (the
 * session ended, or there never was one) leads to "Sign in", saying why when there was a session.
 */
import { useCallback, useEffect, useRef, useState, type ComponentType } from 'react';
import { api, ApiError, cookie, describe, ok, onUnauthorized } from './api';
import { Header } from './components/Header';
import { Loading, Page } from './components/Page';
import { AccountPage } from './pages/AccountPage';
import { ApiKeysPage } from './pages/ApiKeysPage';
import { AuditPage } from './pages/AuditPage';
import { LoginPage } from './pages/LoginPage';
import { MembersPage } from './pages/MembersPage';
import { SettingsPage } from './pages/SettingsPage';
import { navigate, useLocation } from './router';
import { loadSession, SessionContext, type Session } from './session';
import type { Page as PagePath } from '../../src/web/pages';

export const SESSION_ENDED = 'Your session has ended. Please sign in again.';

function Home() {
  useEffect(() => navigate('/account', {}, { replace: true }), []);
  return <Loading />;
}

/** Every page of src/web/pages.ts but "Sign in", which needs no session. */
const SIGNED_IN_PAGES: Record<Exclude<PagePath, '/login'>, ComponentType> = {
  '/': Home,
  '/account': AccountPage,
  '/organization/settings': SettingsPage,
  '/organization/api-keys': ApiKeysPage,
  '/organization/members': MembersPage,
  '/organization/audit': AuditPage,
};

function NotFound() {
  return (
    <Page title="Page not found">
      <p>There is no page at this address.</p>
    </Page>
  );
}

export function App() {
  const { path } = useLocation();
  /** undefined: not known yet; null: signed out. */
  const [session, setSession] = useState<Session | null | undefined>();
  const [failure, setFailure] = useState<unknown>();
  const signedIn = useRef(false);
  useEffect(() => {
    signedIn.current = Boolean(session);
  }, [session]);

  useEffect(
    () =>
      onUnauthorized(() => {
        if (window.location.pathname === '/login') return;
        // A csrftoken cookie means this browser had a session that the server no longer knows.
        const ended = signedIn.current || cookie('csrftoken') !== undefined;
        setSession(null);
        const from = window.location.pathname;
        navigate('/login', ended ? { notice: SESSION_ENDED, from } : { from }, { replace: true });
      }),
    [],
  );

  const start = useCallback(async () => {
    setFailure(undefined);
    try {
      setSession(await loadSession());
    } catch (error) {
      // A 401 has already sent the user to "Sign in".
      if (!(error instanceof ApiError && error.status === 401)) setFailure(error);
    }
  }, []);

  const needsSession = path !== '/login' && !session;
  useEffect(() => {
    if (needsSession) void start();
  }, [needsSession, start]);

  const signedInAs = async (from: string | undefined) => {
    const next = await loadSession();
    setSession(next);
    navigate(from && from !== '/login' ? from : '/account', {}, { replace: true });
  };

  const logout = async () => {
    try {
      await ok(api.POST('/api/auth/logout'));
    } catch {
      // Signed out either way: the session is gone or going, and the page forgets it.
    }
    signedIn.current = false;
    setSession(null);
    navigate('/login', { notice: 'You have logged out.' }, { replace: true });
  };

  let content;
  if (path === '/login') {
    content = <LoginPage onSignedIn={signedInAs} />;
  } else if (failure !== undefined) {
    content = (
      <Page title="Something went wrong">
        <p role="alert" className="error">
          {describe(failure)}
        </p>
        <button type="button" onClick={() => void start()}>
          Try again
        </button>
      </Page>
    );
  } else if (!session) {
    content = <Loading />;
  } else {
    const View = SIGNED_IN_PAGES[path as keyof typeof SIGNED_IN_PAGES] ?? NotFound;
    content = <View />;
  }

  return (
    <SessionContext value={session ?? null}>
      <a
        href="#main"
        className="skip-link"
        onClick={(event) => {
          event.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to main content
      </a>
      <Header session={path === '/login' ? null : (session ?? null)} onLogout={() => void logout()} />
      <main id="main" tabIndex={-1}>
        {content}
      </main>
    </SessionContext>
  );
}
