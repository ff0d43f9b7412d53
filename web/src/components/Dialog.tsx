/**
 * A modal dialog: the native <dialog>, opened with showModal() (focus moves in and stays there,
 * Escape closes it, the page behind is inert), named by its title. It is open while mounted;
 * closing it in any way calls `onClose`, and the caller unmounts it.
 *
 * It is drawn beside the app's root rather than inside it, and the root is `aria-hidden` while a
 * dialog is open: what `inert` does for browsers, for every tool that reads ARIA only.
 */
import { useId, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { createPortal } from 'react-dom';
import { describe } from '../api';

interface DialogProps {
  readonly title: string;
  readonly onClose: () => void;
  readonly children: ReactNode;
  /** Wider, for content such as code. */
  readonly wide?: boolean;
}

/**
 * Where focus returns when a dialog closes: what was focused when it opened, or, for a dialog
 * that replaces another ("Create token", then "Token created"), where the first one came from.
 */
let lastOpener: HTMLElement | null = null;
let openDialogs = 0;

export function Dialog({ title, onClose, children, wide = false }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();

  // A layout effect: its cleanup runs while the <dialog> is still in the document.
  useLayoutEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const active = document.activeElement;
    const opener = active instanceof HTMLElement && !active.closest('dialog') ? active : lastOpener;
    lastOpener = opener;
    const root = document.getElementById('root');
    if (openDialogs++ === 0) root?.setAttribute('aria-hidden', 'true');
    if (!dialog.open) dialog.showModal();
    return () => {
      dialog.close();
      if (--openDialogs === 0) root?.removeAttribute('aria-hidden');
      // The opener may be gone (the row of a revoked token): then the page's heading.
      if (opener?.isConnected) opener.focus();
      else document.querySelector<HTMLElement>('main h1')?.focus();
    };
  }, []);

  return createPortal(
    <dialog ref={ref} aria-labelledby={titleId} className={wide ? 'dialog dialog-wide' : 'dialog'} onClose={onClose}>
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>,
    document.body,
  );
}

interface ConfirmProps {
  readonly title: string;
  /** The action's name: the confirm button says it again ("Revoke", "Rotate", "Save"). */
  readonly action: string;
  readonly children: ReactNode;
  readonly onConfirm: () => Promise<void>;
  readonly onClose: () => void;
  readonly danger?: boolean;
}

/** "Are you sure?", with the action's own name on the button that does it. */
export function ConfirmDialog({ title, action, children, onConfirm, onClose, danger = true }: ConfirmProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };

  return (
    <Dialog title={title} onClose={onClose}>
      {children}
      {error !== undefined && (
        <p role="alert" className="error">
          {describe(error)}
        </p>
      )}
      <div className="actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className={danger ? 'danger' : 'primary'} disabled={busy} onClick={() => void confirm()}>
          {action}
        </button>
      </div>
    </Dialog>
  );
}
