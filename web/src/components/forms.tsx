import { useEffect, useId, useRef, type InputHTMLAttributes, type ReactNode } from 'react';
import { ApiError } from '../api/problem';

interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'id'> {
  label: string;
  error?: string | null;
  /** Extra explanation shown under the field (server detail, hints). */
  hint?: ReactNode;
}

/** A labelled input whose error is tied to it with aria-describedby and aria-invalid. */
export function Field({ label, error, hint, ...input }: FieldProps) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [error ? errorId : null, hint ? hintId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={error ? 'field field-invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy} {...input} />
      {hint ? (
        <div id={hintId} className="field-hint">
          {hint}
        </div>
      ) : null}
      {error ? (
        <p id={errorId} className="field-error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** Moves focus to the first field marked invalid, once React has rendered the errors. */
export function focusFirstInvalid(form: { current: HTMLFormElement | null }) {
  requestAnimationFrame(() => form.current?.querySelector<HTMLInputElement>('[aria-invalid="true"]')?.focus());
}

/** A form-level error, announced when it appears. */
export function FormError({ message }: { message?: string | null }) {
  if (!message) return null;
  return (
    <p className="form-error" role="alert">
      {message}
    </p>
  );
}

/** A success or information message, announced politely. */
export function Notice({ message }: { message?: string | null }) {
  return (
    <p className={message ? 'notice' : 'notice notice-empty'} role="status" aria-live="polite">
      {message ?? ''}
    </p>
  );
}

/**
 * Splits an API error into a message for one of `fields` (when the server named the field)
 * or a form-level message.
 */
export function splitError<F extends string>(
  error: unknown,
  fields: readonly F[],
  message: (error: unknown) => string,
): { field: F | null; text: string; detail?: string } {
  const text = message(error);
  if (error instanceof ApiError && error.field && (fields as readonly string[]).includes(error.field)) {
    const policy = error.code === 'weak_password' || error.code === 'invalid_field';
    return { field: error.field as F, text, detail: policy ? error.detail : undefined };
  }
  return { field: null, text };
}

/** A card section of a page, named by its h2 heading (aria-labelledby). */
export function Card({ title, className, children }: { title: string; className?: string; children?: ReactNode }) {
  const id = useId();
  return (
    <section className={className ? `card ${className}` : 'card'} aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/** A page heading that takes focus after client-side navigation, so screen readers announce it. */
let firstRender = true;
export function PageTitle({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (firstRender) {
      firstRender = false;
      return;
    }
    ref.current?.focus();
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}
