import type { IncomingMessage } from 'node:http';
import type { FileHandle } from 'node:fs/promises';
import { FetchError, type RawBodyHandlers } from '../../net/index.js';
import { PositionalWriter } from './positional-writer.js';
import type { StateSaver } from './resume-state.js';
import type { TransferConfig, TransferHost } from './transfer-host.js';

// Bytes of one response into the data file: as they arrive, throttled, capped, paused while the
// disk catches up.

export interface Segment {
  /** Next byte to receive. */
  pos: number;
  /** End (exclusive); lowered when another connection steals the tail. */
  end: number;
}

/** What `receive` reads from: raw-get's response, or Node's through `bodyOf`. */
export interface BodySource {
  read(handlers: RawBodyHandlers): void;
  pause(): void;
  resume(): void;
  destroy(): void;
}

/**
 * Node's response as a BodySource. Event-driven rather than `for await`: the response stays in
 * flowing mode (no buffering in the stream, which would stop the socket's reads at its small
 * high-water mark) and is paused only when the reader asks.
 */
export function bodyOf(res: IncomingMessage): BodySource {
  return {
    read(handlers) {
      let ended = false;
      const end = (err: Error | null): void => {
        if (ended) return;
        ended = true;
        res.off('data', handlers.data);
        res.pause();
        handlers.end(err);
      };
      res.on('data', handlers.data);
      res.once('end', () => end(null));
      res.once('close', () => end(null)); // closed without 'end' or 'error': the reader's length check decides
      // 'error' stays handled after the end: the socket may still close under the response.
      res.on('error', (err) => end(err));
    },
    pause: () => res.pause(),
    resume: () => res.resume(),
    destroy: () => res.destroy(),
  };
}

/**
 * Writes the body into [seg.pos, seg.end) as it arrives; throws if it ends before `rangeEnd` (or
 * seg.end). Returns (or throws) only once every byte it took is written, so the caller may retry
 * from `seg.pos`, or close the file, at once. The body is paused while the writer's queue is full
 * or the throttle asks for a wait.
 */
export async function receive(
  host: TransferHost,
  cfg: TransferConfig,
  signal: AbortSignal,
  body: BodySource,
  seg: Segment,
  rangeEnd: number,
  fh: FileHandle,
  saver: StateSaver | null,
): Promise<void> {
  const writer = new PositionalWriter(fh.fd, seg.pos, (start, end) => {
    host.ranges.add(start, end);
    host.written(start, end);
    saver?.touch();
  });
  let streamError: unknown = null;
  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      let diskWait = false;
      let throttleWait = false;
      const settle = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        body.pause();
        if (err === undefined || err === null) resolve();
        else reject(err);
      };
      const maybeResume = (): void => {
        if (!settled && !diskWait && !throttleWait) body.resume();
      };
      writer.onDrain = () => {
        diskWait = false;
        maybeResume();
      };
      writer.onError = settle;
      body.read({
        data(chunk: Buffer): void {
          if (settled) return;
          // A source of unknown length stops at the room its users have, not at a full disk.
          if (host.maxBytes !== null && seg.pos + chunk.length > host.maxBytes) {
            settle(tooLarge(host.maxBytes));
            return;
          }
          host.received += chunk.length;
          const take = Math.min(chunk.length, seg.end - seg.pos);
          if (take > 0) {
            seg.pos += take;
            if (!writer.push(take === chunk.length ? chunk : chunk.subarray(0, take))) {
              diskWait = true;
              body.pause();
            }
          }
          // Another connection took the rest of this range: stop here. (At the response's own
          // end, wait for its end instead, so that a keep-alive connection can be reused.)
          if (seg.pos >= seg.end && seg.end < rangeEnd) {
            settle();
            return;
          }
          if (cfg.throttle !== null) {
            throttleWait = true;
            body.pause();
            void cfg.throttle.take(chunk.length, signal).then(() => {
              throttleWait = false;
              maybeResume();
            });
          }
        },
        end: settle,
      });
    });
  } catch (err) {
    streamError = err;
  }
  await writer.drained(); // a write error wins: it is the disk's, not retried
  if (streamError !== null) throw streamError;
  if (seg.pos < Math.min(seg.end, rangeEnd))
    throw new FetchError('SIZE_MISMATCH', `The response ended at byte ${seg.pos}, before the end of its range (${rangeEnd}).`);
}

export function tooLarge(maxBytes: number): FetchError {
  return new FetchError('SPACE_EXCEEDED', `The download is larger than the ${maxBytes} bytes of space left for it.`);
}
