import { isTerminal } from "../../components/badges";
import { formatBytes } from "../../components/format";
import { JsonView } from "../../components/json-view";
import type { JobDetailFieldsFragment } from "../../gql/graphql";

interface Image {
  url: string;
  width?: number;
  height?: number;
  file_name?: string;
}

/** `images[]` of an output (the fal convention): entries with a URL. */
export function outputImages(output: unknown): Image[] {
  if (typeof output !== "object" || output === null) return [];
  const images = (output as { images?: unknown }).images;
  if (!Array.isArray(images)) return [];
  return images.filter(
    (image): image is Image =>
      typeof image === "object" &&
      image !== null &&
      typeof (image as { url?: unknown }).url === "string" &&
      safeUrl((image as Image).url),
  );
}

function safeUrl(url: string): boolean {
  return /^(https?:\/\/|\/|data:image\/)/.test(url);
}

export function JobOutput({ job }: { job: JobDetailFieldsFragment }) {
  if (job.output === null || job.output === undefined) {
    const note =
      job.status === "SUCCEEDED"
        ? "The job returned no output."
        : isTerminal(job.status)
          ? "No output."
          : "No output yet.";
    return <p className="muted">{note}</p>;
  }
  const images = outputImages(job.output);
  return (
    <>
      {images.length ? (
        <div className="images">
          {images.map((image, i) => (
            <figure key={image.url} className="image">
              <a href={image.url} target="_blank" rel="noreferrer">
                <img
                  src={image.url}
                  alt={image.file_name ?? `Output image ${i + 1}`}
                  {...(image.width && image.height ? { width: image.width, height: image.height } : {})}
                />
              </a>
              <figcaption>
                {image.file_name ?? `image ${i + 1}`}
                {image.width && image.height ? ` · ${image.width}×${image.height}` : ""}
              </figcaption>
            </figure>
          ))}
        </div>
      ) : null}
      {job.artifacts.length ? (
        <ul className="artifacts">
          {job.artifacts.map((artifact) => (
            <li key={artifact.id}>
              <a href={artifact.url} target="_blank" rel="noreferrer">
                {artifact.fileName}
              </a>{" "}
              <span className="muted">
                {artifact.contentType}, {formatBytes(artifact.sizeBytes)}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      <JsonView value={job.output} />
    </>
  );
}
