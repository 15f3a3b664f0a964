/** Wait before reconnect attempt `retries` (0-based): 0.5 s doubling to 10 s, with jitter so replicas are not hit at once. */
export function reconnectDelayMs(retries: number, random: () => number = Math.random): number {
  const base = Math.min(500 * 2 ** retries, 10_000);
  return Math.round(base * (0.75 + random() * 0.5));
}
