import type { ReactNode } from "react";

/** One term of a facts list (<dl className="facts">). */
export function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="fact">
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}
