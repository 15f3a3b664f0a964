/** A labelled horizontal gauge (utilisation, memory); tone changes past 70 % and 90 %. */
export function Meter({ value, max = 100, label, text }: { value: number; max?: number; label: string; text: string }) {
  const fraction = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  const tone = fraction >= 0.9 ? "hot" : fraction >= 0.7 ? "warm" : "cool";
  return (
    <div className="meter">
      <div className={`meter-fill ${tone}`} style={{ width: `${(fraction * 100).toFixed(1)}%` }} aria-hidden="true" />
      <span className="meter-text">
        <span className="visually-hidden">{label}: </span>
        {text}
      </span>
    </div>
  );
}
