import { formatMb } from "../../components/format";
import { Meter } from "../../components/meter";
import type { NodeFieldsFragment } from "../../gql/graphql";

type Gpu = NodeFieldsFragment["gpus"][number];

/** GPUs of a node with live utilisation and memory gauges. */
export function GpuTable({ gpus }: { gpus: Gpu[] }) {
  return (
    <div className="table-scroll">
      <table className="table gpus">
        <caption className="visually-hidden">GPUs</caption>
        <thead>
          <tr>
            <th scope="col">GPU</th>
            <th scope="col">Utilisation</th>
            <th scope="col">Memory</th>
            <th scope="col" className="num">
              Temp
            </th>
            <th scope="col" className="num">
              Power
            </th>
          </tr>
        </thead>
        <tbody>
          {[...gpus]
            .sort((a, b) => a.index - b.index)
            .map((gpu) => (
              <tr key={gpu.uuid} data-gpu={gpu.index}>
                <th scope="row">
                  <span className="mono">{gpu.index}</span> {gpu.name}
                </th>
                <td>
                  {typeof gpu.utilizationPct === "number" ? (
                    <Meter
                      value={gpu.utilizationPct}
                      label={`GPU ${gpu.index} utilisation`}
                      text={`${Math.round(gpu.utilizationPct)}%`}
                    />
                  ) : (
                    "—"
                  )}
                </td>
                <td>
                  <Meter
                    value={gpu.memoryUsedMb}
                    max={gpu.memoryTotalMb}
                    label={`GPU ${gpu.index} memory`}
                    text={`${formatMb(gpu.memoryUsedMb)} / ${formatMb(gpu.memoryTotalMb)}`}
                  />
                </td>
                <td className="num">
                  {typeof gpu.temperatureC === "number" ? `${Math.round(gpu.temperatureC)} °C` : "—"}
                </td>
                <td className="num">{typeof gpu.powerW === "number" ? `${Math.round(gpu.powerW)} W` : "—"}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}
