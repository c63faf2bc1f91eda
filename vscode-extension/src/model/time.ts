/** Small time helpers shared by the status bar and picker models (unix seconds everywhere). */

export type TimeFormatter = (unixSeconds: number) => string;

/** Local date and time, as the user's locale writes it. */
export const formatLocalTime: TimeFormatter = (s) => new Date(s * 1000).toLocaleString();

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** "8 min", "2 h 5 min", "3 d": short enough for a status bar. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  return `${Math.floor(h / 24)} d`;
}
