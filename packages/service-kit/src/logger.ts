import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs on stdout. Known secret-bearing fields are redacted wherever they
 * appear, as a second line of defence: code must not log secrets in the first place.
 */
export function createLogger(opts: { service: string; level?: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      name: opts.service,
      level: opts.level ?? 'info',
      base: { service: opts.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'authorization',
          'password',
          'token',
          'secret',
          '*.authorization',
          '*.password',
          '*.token',
          '*.secret',
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["x-pagerduty-signature"]',
          'headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    opts.destination,
  );
}
