import { formatTime } from "./format";

export interface TimelineItem {
  id: string;
  at: string;
  /** A state change (from → to), or else a note of this type. */
  from?: string | null;
  to?: string | null;
  type: string;
  /** Cause, message, actor…: shown small under the head. */
  meta: string[];
}

/** What happened to a job or a node, in order; transitions get a filled dot, notes a hollow one. */
export function Timeline({ items }: { items: TimelineItem[] }) {
  return (
    <ol className="timeline">
      {items.map((item) => (
        <li key={item.id} className={`timeline-item ${item.to ? "transition" : "note"}`}>
          <div className="timeline-head">
            <span className="timeline-type">
              {item.to ? (
                <>
                  {item.from ? `${item.from} → ` : ""}
                  <strong>{item.to}</strong>
                </>
              ) : (
                item.type
              )}
            </span>
            <time dateTime={item.at}>{formatTime(item.at)}</time>
          </div>
          {item.meta.length ? (
            <div className="timeline-meta">
              {item.meta.map((line) => (
                <span key={line}>{line}</span>
              ))}
            </div>
          ) : null}
        </li>
      ))}
    </ol>
  );
}
