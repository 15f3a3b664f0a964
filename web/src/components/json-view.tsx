/** JSON as indented text in a scrollable block (Chromium makes scrollable blocks keyboard-focusable). */
export function JsonView({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <p className="muted">None.</p>;
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}
