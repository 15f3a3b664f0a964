import { type ReactNode, useEffect, useId, useRef, useState } from "react";

/**
 * A modal dialog on the native <dialog>: showModal() makes the page behind it inert (focus
 * stays inside) and Escape closes it. Focus returns to where it was when the dialog closes.
 */
export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (dialog && !dialog.open) dialog.showModal();
    return () => {
      dialog?.close();
      opener?.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <div className="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      <div className="dialog-body">{children}</div>
    </dialog>
  );
}

/**
 * A button that asks before it acts. The action's failure is shown in the dialog; success closes it.
 */
export function ConfirmButton({
  label,
  title,
  message,
  confirmLabel,
  danger = false,
  disabled = false,
  className = "button",
  onConfirm,
}: {
  label: ReactNode;
  title: string;
  message: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  disabled?: boolean;
  className?: string;
  onConfirm: () => Promise<string | null>;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const close = () => {
    setOpen(false);
    setError(null);
  };
  const confirm = async () => {
    setBusy(true);
    setError(null);
    const failure = await onConfirm();
    setBusy(false);
    if (failure) setError(failure);
    else close();
  };
  return (
    <>
      <button
        type="button"
        className={`${className}${danger ? " danger" : ""}`}
        disabled={disabled}
        onClick={() => setOpen(true)}
      >
        {label}
      </button>
      {open ? (
        <Dialog title={title} onClose={close}>
          <div className="dialog-message">{message}</div>
          {error ? (
            <p className="form-error" role="alert">
              {error}
            </p>
          ) : null}
          <div className="dialog-actions">
            <button type="button" className="button" onClick={close}>
              Cancel
            </button>
            <button
              type="button"
              className={`button ${danger ? "danger" : "primary"}`}
              disabled={busy}
              onClick={() => void confirm()}
            >
              {busy ? "Working…" : confirmLabel}
            </button>
          </div>
        </Dialog>
      ) : null}
    </>
  );
}
