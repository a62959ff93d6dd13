import { request } from 'undici';

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** A Server-Sent Events connection read frame by frame. */
export class SseClient {
  private buffer = '';
  private readonly frames: SseFrame[] = [];
  private waiting: (() => void) | undefined;
  ended = false;

  private constructor(
    readonly status: number,
    readonly headers: Record<string, string | string[] | undefined>,
    private readonly body: AsyncIterable<Buffer> & { destroy(): void },
  ) {}

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const res = await request(url, { headers: { accept: 'text/event-stream', ...headers } });
    const client = new SseClient(res.statusCode, res.headers, res.body);
    void client.pump();
    return client;
  }

  private async pump(): Promise<void> {
    try {
      for await (const chunk of this.body) {
        this.buffer += chunk.toString('utf8');
        let end = this.buffer.indexOf('\n\n');
        while (end !== -1) {
          this.frames.push(parse(this.buffer.slice(0, end)));
          this.buffer = this.buffer.slice(end + 2);
          end = this.buffer.indexOf('\n\n');
        }
        this.waiting?.();
      }
    } catch {
      // closed by us
    } finally {
      this.ended = true;
      this.waiting?.();
    }
  }

  /** The next frame that is an event (not a comment); null when the stream ended first. */
  async nextEvent(timeoutMs = 10_000): Promise<SseFrame | null> {
    const frame = await this.next((f) => f.comment === undefined, timeoutMs);
    return frame;
  }

  /** The next frame matching `accept`, skipping others; null when the stream ended first. */
  async next(accept: (frame: SseFrame) => boolean = () => true, timeoutMs = 10_000): Promise<SseFrame | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.frames.shift();
      if (frame !== undefined) {
        if (accept(frame)) return frame;
        continue;
      }
      if (this.ended) return null;
      if (Date.now() > deadline) throw new Error('no SSE frame in time');
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  /** Events until the stream ends. */
  async rest(timeoutMs = 10_000): Promise<SseFrame[]> {
    const events: SseFrame[] = [];
    for (;;) {
      const frame = await this.nextEvent(timeoutMs);
      if (frame === null) return events;
      events.push(frame);
    }
  }

  close(): void {
    this.body.destroy();
  }
}

function parse(block: string): SseFrame {
  const frame: SseFrame = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) frame.comment = line.slice(1).trim();
    else if (line.startsWith('id:')) frame.id = line.slice(3).trim();
    else if (line.startsWith('event:')) frame.event = line.slice(6).trim();
    else if (line.startsWith('data:'))
      frame.data = (frame.data === undefined ? '' : `${frame.data}\n`) + line.slice(5).trimStart();
  }
  return frame;
}
