/**
 * The one logger shape modules take: a message, optionally with structured fields first (pino's
 * order). The server's pino logger fits it; tests pass their own.
 */
export interface Logger {
  info(msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

/** A logger that makes children with fields on every line (pino `child`: stream, session id, component). */
export interface ParentLogger extends Logger {
  debug(msg: string): void;
  debug(fields: Record<string, unknown>, msg: string): void;
  child(bindings: Record<string, unknown>): ParentLogger;
}
