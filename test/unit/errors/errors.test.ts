import { describe, expect, it } from 'vitest';
import {
  createError,
  DashrelayError,
  type ErrorCode,
  errorCatalogue,
  toDashrelayError,
} from '../../../src/errors/errors.ts';

const entries = Object.entries(errorCatalogue) as [ErrorCode, (typeof errorCatalogue)[ErrorCode]][];

describe('createError', () => {
  it('fills %s placeholders in order', () => {
    const err = createError('DR_ERR_ANALYZER_LOAD', './plugin.js', 'boom');
    expect(err.message).toBe('Could not load analyzer ./plugin.js: boom');
  });

  it('fills missing arguments with an empty string', () => {
    expect(createError('DR_ERR_ANALYZER_LOAD', 'x').message).toBe('Could not load analyzer x: ');
  });

  it('leaves a template without placeholders as is', () => {
    expect(createError('DR_ERR_SERVER_SHUTDOWN').message).toBe('The server is shutting down');
  });

  it.each([
    { code: 'DR_ERR_INGEST_STREAM_BUSY', status: undefined, closeCode: 4009 },
    { code: 'DR_ERR_STREAM_NOT_FOUND', status: 404, closeCode: undefined },
    { code: 'DR_ERR_SERVER_INTERNAL', status: 500, closeCode: 1011 },
    { code: 'DR_ERR_CONFIG_INVALID', status: undefined, closeCode: undefined },
  ] as const)('carries code, status and closeCode of $code', ({ code, status, closeCode }) => {
    const err = createError(code, 'cam1');
    expect(err).toBeInstanceOf(DashrelayError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('DashrelayError');
    expect(err.code).toBe(code);
    expect(err.status).toBe(status);
    expect(err.closeCode).toBe(closeCode);
  });
});

describe('createError with an Error argument', () => {
  it('uses its message for the placeholder and keeps it as the cause', () => {
    const cause = new Error('ENOSPC: no space left on device');
    const err = createError('DR_ERR_OUTPUT_DIR', '/out', cause);
    expect(err.message).toBe('Cannot write to the output directory /out: ENOSPC: no space left on device');
    expect(err.cause).toBe(cause);
  });
});

describe('toDashrelayError', () => {
  it('returns a catalogue error unchanged', () => {
    const err = createError('DR_ERR_INGEST_STREAM_BUSY', 'cam');
    expect(toDashrelayError(err)).toBe(err);
  });

  it('wraps anything else as DR_ERR_SERVER_INTERNAL with the original as cause', () => {
    const cause = new TypeError('x is undefined');
    const err = toDashrelayError(cause);
    expect(err.code).toBe('DR_ERR_SERVER_INTERNAL');
    expect(err.closeCode).toBe(1011);
    expect(err.cause).toBe(cause);
    expect(err.message).toMatch(/x is undefined/);
    expect(toDashrelayError('a string').code).toBe('DR_ERR_SERVER_INTERNAL');
  });
});

describe('DashrelayError', () => {
  it('keeps a cause', () => {
    const cause = new Error('disk full');
    const err = new DashrelayError('DR_ERR_ARCHIVE_WRITE', ['/a.mkv', 'disk full'], { cause });
    expect(err.cause).toBe(cause);
    expect(err.message).toBe('Could not write the archive /a.mkv: disk full');
  });
});

describe('errorCatalogue', () => {
  it.each(entries)('%s has a DR_ERR_<AREA>_<WHAT> code and a message', (code, spec) => {
    expect(code).toMatch(/^DR_ERR_[A-Z]+_[A-Z_]+$/);
    expect(spec.message.length).toBeGreaterThan(0);
  });

  it.each(entries.filter(([, spec]) => 'closeCode' in spec))(
    '%s uses a WebSocket close code of 1001, 1011 or 4000–4999',
    (_code, spec) => {
      const closeCode = (spec as { closeCode: number }).closeCode;
      expect(closeCode === 1001 || closeCode === 1011 || (closeCode >= 4000 && closeCode <= 4999)).toBe(true);
    },
  );

  it.each(entries.filter(([, spec]) => 'status' in spec))('%s uses an HTTP error status', (_code, spec) => {
    const status = (spec as { status: number }).status;
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(600);
  });
});
