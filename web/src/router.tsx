/**
 * A router small enough to read: the path is `location.pathname`, changed with the history API.
 * What a page hands to the next (a notice for "Sign in", the page to return to) travels in
 * `history.state`, never in the URL.
 */
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

export interface RouteState {
  /** A sentence for the next page to show (e.g. why the user is at "Sign in"). */
  readonly notice?: string;
  /** Where to go after signing in. */
  readonly from?: string;
}

export interface Location {
  readonly path: string;
  readonly state: RouteState;
}

const listeners = new Set<() => void>();

/** `/organization/members/` and `/organization/members` are the same page, as on the server. */
const normalize = (path: string) => (path.length > 1 ? path.replace(/\/+$/, '') : path);

function read(): Location {
  const state: unknown = window.history.state;
  return { path: normalize(window.location.pathname), state: typeof state === 'object' && state ? state : {} };
}

let current = read();

function update() {
  current = read();
  for (const listener of listeners) listener();
}

window.addEventListener('popstate', update);

export function navigate(path: string, state: RouteState = {}, { replace = false } = {}): void {
  if (replace) window.history.replaceState(state, '', path);
  else window.history.pushState(state, '', path);
  update();
}

export function useLocation(): Location {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => current,
  );
}

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & { readonly to: string };

/** An ordinary link (it opens in a new tab as any link does) that, clicked plainly, stays in the app. */
export function Link({ to, onClick, ...props }: LinkProps) {
  const { path } = useLocation();
  const follow = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    )
      return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={to} aria-current={path === to ? 'page' : undefined} onClick={follow} {...props} />;
}
