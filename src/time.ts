/** Local date-time at seconds precision, as the original tools print them: 2020-10-18 16:10:26. */
export function localTime(epochSec: number | null): string {
  if (epochSec == null) return '';
  const d = new Date(epochSec * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
