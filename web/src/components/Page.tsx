/**
 * A page's heading and the document title. After a navigation in the app, focus moves to the
 * heading, so a screen reader announces the new page as it would after a full page load.
 */
import { useEffect, useRef, type ReactNode } from 'react';

let firstPage = true;

export function Page({ title, children }: { readonly title: string; readonly children: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Latchkey`;
    if (firstPage) firstPage = false;
    else heading.current?.focus();
  }, [title]);
  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        {title}
      </h1>
      {children}
    </>
  );
}

/** A sentence for a page the user's role does not show. */
export function NotAllowed({ children }: { readonly children: ReactNode }) {
  return <p className="notice">{children}</p>;
}

/** "Loading…", announced. */
export function Loading() {
  return (
    <p role="status" className="hint">
      Loading…
    </p>
  );
}
