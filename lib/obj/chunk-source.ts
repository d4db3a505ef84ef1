import { ConnectionClosedError, ConsumerNotFoundError } from '../core/internal.js';
import type {
  ConsumerMessages,
  JetStreamClient,
  JsMsg,
  PullConsumer,
} from '../jetstream/internal.js';

// Consumers re-created in a row without a chunk in between before the download gives up.
const MAX_RESUMES = 5;
const RESUME_DELAY = 250;

/** What `next()` read: a chunk, a gap in the sequence, or the end of the connection. */
export type ChunkRead = { chunk: JsMsg } | { gap: true } | { closed: true };

/**
 * An object's chunks in stream order through an ephemeral pull consumer, at most `prefetch`
 * ahead of the reader. A consumer lost in a server restart is re-created from the stream
 * sequence after the last chunk read, so a download survives the restart.
 */
export class ChunkSource {
  private consumer!: PullConsumer;
  private msgs!: ConsumerMessages;
  private it!: AsyncIterator<JsMsg>;
  // Chunks read through the current consumer: its consumer sequence must follow this.
  private delivered = 0;
  private resumeAt = 0;
  private resumes = 0;

  private constructor(
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private readonly subject: string,
    private readonly prefetch: number,
  ) {}

  /** Creates the first consumer; resolves the source and how many chunks the stream holds. */
  static async open(
    js: JetStreamClient,
    stream: string,
    subject: string,
    prefetch: number,
  ): Promise<{ source: ChunkSource; pending: number }> {
    const source = new ChunkSource(js, stream, subject, prefetch);
    await source.start();
    return { source, pending: (await source.consumer.info(true)).numPending };
  }

  async next(): Promise<ChunkRead> {
    for (;;) {
      let r: IteratorResult<JsMsg>;
      try {
        r = await this.it.next();
      } catch (err) {
        if (!(err instanceof ConsumerNotFoundError) || this.resumes >= MAX_RESUMES) throw err;
        await this.resume();
        continue;
      }
      if (r.done) return { closed: true };
      const chunk = r.value;
      const seq = chunk.metadata.sequence;
      // Without acks a chunk lost in transit shows as a gap in the consumer sequence.
      if (seq.consumer !== ++this.delivered) return { gap: true };
      this.resumeAt = seq.stream + 1;
      this.resumes = 0;
      return { chunk };
    }
  }

  /** Stops pulling and deletes the consumer. */
  close(): void {
    this.msgs.stop();
    this.consumer.delete().catch(() => undefined);
  }

  private async start(): Promise<void> {
    const from =
      this.resumeAt > 0
        ? { deliverPolicy: 'by_start_sequence' as const, optStartSeq: this.resumeAt }
        : { deliverPolicy: 'all' as const };
    this.consumer = await this.js.pullSubscribe(this.subject, {
      stream: this.stream,
      config: { ackPolicy: 'none', memStorage: true, numReplicas: 1, ...from },
    });
    this.delivered = 0;
    this.msgs = this.consumer.consume({ maxMessages: this.prefetch });
    this.it = this.msgs[Symbol.asyncIterator]();
  }

  /** A new consumer from the last chunk read; the server may still be starting up. */
  private async resume(): Promise<void> {
    this.close();
    for (;;) {
      this.resumes++;
      await new Promise((r) => setTimeout(r, RESUME_DELAY));
      try {
        return await this.start();
      } catch (err) {
        // A closed connection never comes back: do not keep retrying (and timers) after it.
        if (this.resumes >= MAX_RESUMES || err instanceof ConnectionClosedError) throw err;
      }
    }
  }
}
