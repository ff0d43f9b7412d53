import { useCallback, useEffect, useRef, useState } from 'react';

export interface Resource<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  /** Loads again (after a change); the data shown stays until the new data comes. */
  readonly reload: () => void;
}

/**
 * Data loaded by `load`, again whenever a `deps` value changes. An answer that comes after a
 * newer request was made is dropped, so filters typed quickly cannot show stale results.
 */
export function useResource<T>(load: () => Promise<T>, deps: readonly unknown[]): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [generation, setGeneration] = useState(0);
  const latest = useRef(0);

  useEffect(() => {
    const request = ++latest.current;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => {
        if (request === latest.current) setState({ data, loading: false });
      },
      (error: unknown) => {
        if (request === latest.current) setState((previous) => ({ data: previous.data, error, loading: false }));
      },
    );
    // `load` is a new function at every render; `deps` say when it asks for something new.
  }, [...deps, generation]);

  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** A form's submission: busy while it runs, and its failure to show. */
export function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = useCallback(async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, setError };
}

/**
 * A sentence for a live region (`<p role="status">`), and focus moved to `target` (a heading
 * with tabIndex -1) when it is said: after a revocation the row that had focus is gone.
 */
export function useAnnouncement<T extends HTMLElement = HTMLHeadingElement>() {
  const target = useRef<T>(null);
  const [said, setSaid] = useState({ text: '', count: 0 });
  useEffect(() => {
    if (said.count > 0) target.current?.focus();
  }, [said]);
  const say = useCallback((text: string) => setSaid((previous) => ({ text, count: previous.count + 1 })), []);
  return { text: said.text, say, target };
}
