import type { Agent } from 'node:http';
import type { AddressPolicy, FollowOptions, ProbeResult } from '../../net/index.js';
import type { ByteRanges } from './byte-ranges.js';
import type { Throttle } from './throttle.js';

// What one run of a URL job (transfer.ts) shares with the job and between its parts.

/** What the run reports to, and reads from, the job. */
export interface TransferHost {
  readonly url: string;
  readonly dataPath: string;
  readonly statePath: string;
  /** Bytes [start, end) written to the data file; replaced when the run starts over. */
  ranges: ByteRanges;
  /** Total length; null while a stream without Content-Length runs. */
  size: number | null;
  /** Open HTTP connections. */
  connections: number;
  /** Body bytes received in this process. */
  received: number;
  /** After each probe, with the bytes found on disk; false: stop here (nothing selected). */
  probed(probe: ProbeResult, resumedBytes: number): boolean;
  /** Bytes [start, end) are written (the file's length may still be unknown). */
  written(start: number, end: number): void;
  /** Bytes the job may write at most; null: no cap. */
  readonly maxBytes: number | null;
  /** The run starts over from byte 0 (the content changed, or a stream must be restarted). */
  reset(): void;
  /**
   * Set by a ranged run while it runs: a reader wants the bytes from this offset on now
   * (segments.ts starts a connection there unless one is about to reach it).
   */
  prioritize: ((at: number) => void) | null;
}

export interface TransferConfig {
  policy: AddressPolicy;
  segments: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  retries: number;
  retryDelayMs: number;
  maxRedirects: number;
  agents: { http: Agent; https: Agent };
  throttle: Throttle | null;
}

/** The content behind the URL changed (validators, length, or ranges no longer honoured). */
export class ContentChanged extends Error {}

export function followOptions(cfg: TransferConfig, signal: AbortSignal, headers: Record<string, string> = {}): FollowOptions {
  return {
    policy: cfg.policy,
    connectTimeoutMs: cfg.connectTimeoutMs,
    idleTimeoutMs: cfg.idleTimeoutMs,
    maxRedirects: cfg.maxRedirects,
    agents: cfg.agents,
    signal,
    headers,
  };
}
