import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import type { AudioPlan, VideoPlan } from './decision.js';
import { WORK_DIR_PREFIX, type MediaCache } from './media-cache.js';

// HLS made on demand: a playlist of fixed-length segments covering the whole duration, and an
// ffmpeg process per stream that produces segments from wherever the player asks. A request for
// a segment the running process will reach soon waits for it; one further away (a seek) stops
// that process and starts one at the asked segment. Finished segments go into the media cache,
// shared by every viewer of the content. A process far ahead of its viewer pauses (SIGSTOP);
// one nobody asks anything of stops.

export const SEGMENT_SECONDS = 4;
/** A request this many segments beyond what is produced waits rather than restarting. */
const WAIT_AHEAD = 3;
/** Production pauses this many segments ahead of the furthest request. */
const PAUSE_AHEAD = 8;
const IDLE_STOP_MS = 60_000;
const SEGMENT_WAIT_MS = 60_000;
const POLL_MS = 150;

export interface HlsPlan {
  videoIndex: number;
  video: VideoPlan;
  audioIndex: number;
  audio: AudioPlan;
}

/** The plan as a name (cache directory, token); parsed back by planOf. */
export function variantOf(plan: HlsPlan): string {
  return `v${plan.videoIndex}${plan.video}-a${plan.audioIndex}${plan.audio}`;
}

const VARIANT_RE = /^v(-?\d+)(copy|h264|none)-a(-?\d+)(copy|aac|none)$/;

export function planOf(variant: string): HlsPlan | null {
  const m = VARIANT_RE.exec(variant);
  if (!m) return null;
  return { videoIndex: Number(m[1]), video: m[2] as VideoPlan, audioIndex: Number(m[3]), audio: m[4] as AudioPlan };
}

/** A tail this short (audio running past the video by a frame) joins the last segment rather than making its own. */
const SHORTEST_TAIL_SECONDS = 0.1;

export function segmentCount(duration: number): number {
  return Math.max(1, Math.ceil((duration - SHORTEST_TAIL_SECONDS) / SEGMENT_SECONDS));
}

/** A VOD playlist of every segment; `segmentUri(n)` names segment n (relative to the playlist). */
export function hlsPlaylist(duration: number, segmentUri: (index: number) => string): string {
  const count = segmentCount(duration);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${SEGMENT_SECONDS}`, '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD'];
  for (let i = 0; i < count; i++) {
    const length = i === count - 1 ? duration - i * SEGMENT_SECONDS : SEGMENT_SECONDS;
    lines.push(`#EXTINF:${Math.max(0.001, length).toFixed(3)},`, segmentUri(i));
  }
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

/** ffmpeg's arguments producing MPEG-TS segments from segment `start` on into `workDir`. */
export function ffmpegArgs(input: string, plan: HlsPlan, start: number, workDir: string): string[] {
  const offset = start * SEGMENT_SECONDS;
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
  if (offset > 0) args.push('-ss', String(offset));
  args.push('-i', input);
  if (plan.video !== 'none') args.push('-map', `0:${plan.videoIndex}`);
  if (plan.audio !== 'none') args.push('-map', `0:${plan.audioIndex}`);
  if (plan.video === 'copy') args.push('-c:v', 'copy');
  if (plan.video === 'h264') {
    args.push(
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '23',
      '-pix_fmt',
      'yuv420p',
      '-vf',
      "scale=-2:'min(720,ih)'",
      // Keyframes on the segment grid: every segment starts where the playlist says.
      '-force_key_frames',
      `expr:gte(t,n_forced*${SEGMENT_SECONDS})`,
    );
  }
  if (plan.audio === 'copy') args.push('-c:a', 'copy');
  if (plan.audio === 'aac') args.push('-c:a', 'aac', '-ac', '2', '-b:a', '160k');
  args.push(
    '-sn',
    '-dn',
    '-f',
    'segment',
    '-segment_time',
    String(SEGMENT_SECONDS),
    '-segment_start_number',
    String(start),
    '-segment_format',
    'mpegts',
    '-segment_list',
    join(workDir, 'list.csv'),
    '-segment_list_type',
    'csv',
    // Timestamps continue the content's timeline, so segments of different runs join up.
    '-output_ts_offset',
    String(offset),
    join(workDir, '%05d.ts'),
  );
  return args;
}

interface Waiter {
  index: number;
  resolve(path: string): void;
  reject(err: Error): void;
}

interface Session {
  key: string;
  etag: string;
  variant: string;
  start: number;
  /** The next segment the process will finish. */
  next: number;
  furthestRequested: number;
  lastRequestAt: number;
  workDir: string;
  process: ChildProcess;
  paused: boolean;
  ended: boolean;
  /** Finished: its timer, waiters and work directory are gone. */
  stopped: boolean;
  ticking: boolean;
  error: string;
  listRead: number;
  waiters: Waiter[];
  timer: NodeJS.Timeout;
}

export interface HlsProducerOptions {
  ffmpeg: string;
  cache: MediaCache;
  maxSessions: number;
  onError?(err: unknown, what: string): void;
  now?: () => number;
}

export class HlsProducer {
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;

  constructor(private readonly options: HlsProducerOptions) {
    this.now = options.now ?? Date.now;
  }

  segmentPath(etag: string, variant: string, index: number): string {
    return join(this.options.cache.dirOf(etag), variant, `${String(index).padStart(5, '0')}.ts`);
  }

  /** Running ffmpeg processes (tests, diagnostics). */
  get running(): number {
    return this.sessions.size;
  }

  /** The path of segment `index`, from the cache or produced for it (waiting at most a minute). */
  async segment(etag: string, input: string, variant: string, index: number, count: number): Promise<string> {
    const plan = planOf(variant);
    if (!plan || !Number.isSafeInteger(index) || index < 0 || index >= count) throw new AppError('NOT_FOUND', 'No such segment.');
    const path = this.segmentPath(etag, variant, index);
    if (this.options.cache.has(path)) return path;
    const key = `${etag}/${variant}`;
    let session = this.sessions.get(key);
    if (session && (session.ended || index < session.start || index > session.next + WAIT_AHEAD)) {
      this.stop(session);
      session = undefined;
    }
    session ??= await this.startSession(key, etag, variant, input, plan, index);
    session.lastRequestAt = this.now();
    session.furthestRequested = Math.max(session.furthestRequested, index);
    if (session.paused && session.next <= session.furthestRequested + PAUSE_AHEAD) this.resume(session);
    return this.waitFor(session, index);
  }

  private async startSession(key: string, etag: string, variant: string, input: string, plan: HlsPlan, start: number): Promise<Session> {
    if (this.sessions.size >= this.options.maxSessions) {
      // The stream asked nothing of for longest gives way; all of them busy: come back later.
      const idlest = [...this.sessions.values()].sort((a, b) => a.lastRequestAt - b.lastRequestAt)[0];
      if (this.now() - idlest.lastRequestAt < SEGMENT_SECONDS * 1000) {
        throw new AppError('SERVICE_UNAVAILABLE', `The server is converting ${this.sessions.size} streams already; try again shortly.`);
      }
      this.stop(idlest);
    }
    const workDir = join(this.options.cache.dirOf(etag), `${WORK_DIR_PREFIX}${variant}-${start}-${process.pid}-${Date.now()}`);
    await mkdir(workDir, { recursive: true });
    const child = spawn(this.options.ffmpeg, ffmpegArgs(input, plan, start, workDir), { stdio: ['ignore', 'ignore', 'pipe'] });
    const session: Session = {
      key,
      etag,
      variant,
      start,
      next: start,
      furthestRequested: start,
      lastRequestAt: this.now(),
      workDir,
      process: child,
      paused: false,
      ended: false,
      stopped: false,
      ticking: false,
      error: '',
      listRead: 0,
      waiters: [],
      timer: setInterval(() => void this.tick(session), POLL_MS),
    };
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      session.error = (session.error + text).slice(-2000);
    });
    child.on('error', (err) => {
      session.error ||= err.message;
      session.ended = true;
    });
    child.on('exit', () => {
      session.ended = true;
      void this.tick(session);
    });
    this.sessions.set(key, session);
    return session;
  }

  private waitFor(session: Session, index: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timeout = setTimeout(() => {
        session.waiters = session.waiters.filter((w) => w !== waiter);
        reject(new AppError('SERVICE_UNAVAILABLE', `Segment ${index} is not ready yet; the server is still converting.`));
      }, SEGMENT_WAIT_MS);
      const waiter: Waiter = {
        index,
        resolve: (path) => {
          clearTimeout(timeout);
          resolve(path);
        },
        reject: (err) => {
          clearTimeout(timeout);
          reject(err);
        },
      };
      session.waiters.push(waiter);
    });
  }

  /** Takes what ffmpeg finished into the cache, answers waiters, pauses, stops the idle. */
  private async tick(session: Session): Promise<void> {
    if (session.stopped || session.ticking) return;
    session.ticking = true;
    try {
      await this.step(session);
    } finally {
      session.ticking = false;
    }
    // The process ended while this tick read its list: read it once more, to the end.
    if (session.ended && !session.stopped) await this.tick(session);
  }

  private async step(session: Session): Promise<void> {
    if (session.process.exitCode === null && !session.ended && this.now() - session.lastRequestAt > IDLE_STOP_MS) {
      this.stop(session);
      return;
    }
    let list = '';
    try {
      list = await readFile(join(session.workDir, 'list.csv'), 'utf8');
    } catch {
      // nothing finished yet
    }
    // Only whole lines: ffmpeg may be writing the last one.
    const complete = list
      .slice(0, list.lastIndexOf('\n') + 1)
      .split('\n')
      .filter(Boolean);
    for (const line of complete.slice(session.listRead)) {
      if (session.stopped) return;
      session.listRead++;
      const name = line.split(',')[0];
      const index = Number.parseInt(name, 10);
      if (!Number.isSafeInteger(index)) continue;
      try {
        await this.options.cache.add(join(session.workDir, name), this.segmentPath(session.etag, session.variant, index));
      } catch (err) {
        this.options.onError?.(err, 'an HLS segment could not be cached');
      }
      session.next = Math.max(session.next, index + 1);
      for (const w of session.waiters.filter((w) => w.index === index)) w.resolve(this.segmentPath(session.etag, session.variant, index));
      session.waiters = session.waiters.filter((w) => w.index !== index);
    }
    if (session.ended) {
      this.finish(session);
      return;
    }
    if (!session.paused && session.next > session.furthestRequested + PAUSE_AHEAD) {
      session.paused = session.process.kill('SIGSTOP');
    }
  }

  private resume(session: Session): void {
    if (session.paused) session.process.kill('SIGCONT');
    session.paused = false;
  }

  private finish(session: Session): void {
    if (session.stopped) return;
    session.stopped = true;
    clearInterval(session.timer);
    if (this.sessions.get(session.key) === session) this.sessions.delete(session.key);
    const why = session.error.trim() ? `ffmpeg stopped: ${session.error.trim().split('\n').pop()}` : 'The stream ended before this segment.';
    for (const w of session.waiters) w.reject(new AppError('SERVICE_UNAVAILABLE', why));
    session.waiters = [];
    void rm(session.workDir, { recursive: true, force: true });
  }

  private stop(session: Session): void {
    session.ended = true;
    if (session.process.exitCode === null) {
      if (session.paused) session.process.kill('SIGCONT');
      session.process.kill('SIGKILL');
    }
    this.finish(session);
  }

  close(): void {
    for (const session of [...this.sessions.values()]) this.stop(session);
  }
}
