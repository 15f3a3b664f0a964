import { formatTime } from "../components/format";
import { Empty } from "../components/states";
import type { JobDetailFieldsFragment } from "../gql/graphql";

type Event = JobDetailFieldsFragment["events"][number];

/** Every transition and note of the job, oldest first, with its cause and actor. */
export function JobTimeline({ events }: { events: Event[] }) {
  if (events.length === 0) return <Empty>No events yet.</Empty>;
  return (
    <ol className="timeline">
      {events.map((event) => (
        <li key={event.id} className={`timeline-item ${event.toStatus ? "transition" : "note"}`}>
          <div className="timeline-head">
            <span className="timeline-type">
              {event.toStatus ? (
                <>
                  {event.fromStatus ? `${event.fromStatus} → ` : ""}
                  <strong>{event.toStatus}</strong>
                </>
              ) : (
                event.type
              )}
            </span>
            <time dateTime={event.at}>{formatTime(event.at)}</time>
          </div>
          {event.cause || event.actor ? (
            <div className="timeline-meta">
              {event.cause ? <span>cause: {event.cause}</span> : null}
              {event.actor ? <span>by {event.actor}</span> : null}
            </div>
          ) : null}
        </li>
      ))}
    </ol>
  );
}
