/** Progress lines for the developer scripts: one symbol, one sentence. */
export const say = {
  step: (message: string) => process.stdout.write(`\u25b6 ${message}\n`),
  ok: (message: string) => process.stdout.write(`\u2714 ${message}\n`),
  fail: (message: string) => process.stderr.write(`\u2716 ${message}\n`),
  info: (message: string) => process.stdout.write(`  ${message}\n`),
};

export function elapsed(start: number): string {
  const s = (Date.now() - start) / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}
