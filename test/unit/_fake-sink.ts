import type { MediaSink } from '../../src/contracts/sink.ts';

/** A MediaSink for tests: records writes, answers `write` with `accept`, drains on demand. */
export class FakeSink implements MediaSink {
  readonly chunks: Buffer[] = [];
  accept = true;
  closeCalls = 0;
  private drainCallbacks: (() => void)[] = [];
  private closeResult: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly journal?: string[],
  ) {}

  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.journal?.push(`${this.name}:${chunk.toString()}`);
    return this.accept;
  }

  onDrain(callback: () => void): void {
    this.drainCallbacks.push(callback);
  }

  /** Fires the drain callbacks, as a Writable's 'drain' would. */
  drain(): void {
    this.accept = true;
    for (const cb of this.drainCallbacks) cb();
  }

  /** Makes `close()` return `result` (a pending or rejecting promise). */
  closeWith(result: Promise<void>): void {
    this.closeResult = result;
  }

  close(): Promise<void> {
    this.closeCalls++;
    this.journal?.push(`${this.name}.close`);
    return this.closeResult;
  }
}
