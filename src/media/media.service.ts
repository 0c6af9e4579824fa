import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { FILE, type FileObject } from '../files/file-object.js';
import type { DownloadLinks } from '../files/download-links.js';
import type { EntryRef, FilesService } from '../files/files.service.js';
import type { BlobStore } from '../store/blob-store.js';
import { type BrowserSupport, decideByName, decidePlayback, type PlaybackDecision } from './decision.js';
import { type FfmpegTools, runTool } from './ffmpeg.js';
import { imageThumbnail, type Sharp } from './image-thumbnail.js';
import { HlsProducer, hlsPlaylist, planOf, segmentCount, variantOf } from './hls.js';
import { MediaCache, WORK_DIR_PREFIX } from './media-cache.js';
import { type MediaClaims, type MediaWork, openMediaToken, sealMediaToken } from './media-token.js';
import { type MediaProbe, probeFile } from './probe.js';
import { extractVtt, normalizeVtt, SUBTITLE_EXTENSIONS, srtToVtt, TEXT_SUBTITLE_CODECS } from './subtitles.js';

export interface SubtitleTrack {
  label: string;
  language: string;
  url: string;
}

/** How the browser plays one file (the answer of /v1/media/info). */
export interface MediaInfo {
  mode: PlaybackDecision['mode'];
  /** Direct: the file's signed download address; hls: the signed playlist. Empty for needs-ffmpeg. */
  url: string;
  downloadAddress: string;
  /** Seconds; 0 when unknown. */
  duration: number;
  /** needs-ffmpeg: what the browser cannot play as it is. */
  reason: string;
  videoCodec: string;
  audioCodec: string;
  /** Some stream is re-encoded (not only copied into HLS). */
  transcoded: boolean;
  subtitles: SubtitleTrack[];
}

export interface MediaServiceDeps {
  files: FilesService;
  links: DownloadLinks;
  /** Where ffmpeg reads a content from: the store's file, or an address of its bytes (src/store/subprocess-input.ts). */
  contentInput(etag: string): Promise<string>;
  /** The content's bytes, for what is read here rather than by ffmpeg (text subtitles). */
  store: Pick<BlobStore, 'size' | 'read'>;
  secret: string;
  ttlMs: number;
  publicUrl(): string;
  tools: FfmpegTools;
  /** Makes image thumbnails when present (image-thumbnail.ts); ffmpeg does otherwise. */
  sharp: Sharp | null;
  cacheDir: string;
  cacheMaxBytes: number;
  transcodeMax: number;
  onError?(err: unknown, what: string): void;
}

const PROBES_KEPT = 500;
const MAX_SUBTITLE_BYTES = 16 * 1024 * 1024;
const SIBLINGS_LOOKED_AT = 999;
/** Thumbnails are at most this wide. */
const THUMBNAIL_WIDTH = 320;
/** Where in a video its thumbnail is taken: past titles and black openings. */
const THUMBNAIL_AT = 0.1;

export class MediaService {
  readonly cache: MediaCache;
  readonly producer: HlsProducer | null;
  private readonly probes = new Map<string, Promise<MediaProbe | null>>();

  constructor(private readonly deps: MediaServiceDeps) {
    this.cache = new MediaCache(deps.cacheDir, deps.cacheMaxBytes);
    this.producer = deps.tools.ffmpeg
      ? new HlsProducer({ ffmpeg: deps.tools.ffmpeg, cache: this.cache, maxSessions: deps.transcodeMax, onError: deps.onError })
      : null;
  }

  async open(): Promise<void> {
    await this.cache.open();
  }

  close(): void {
    this.producer?.close();
  }

  get hasFfmpeg(): boolean {
    return this.deps.tools.ffmpeg !== null;
  }

  /** ffprobe's findings for a content, once per etag (null without ffprobe or when it fails). */
  probe(etag: string): Promise<MediaProbe | null> {
    let probe = this.probes.get(etag);
    if (probe !== undefined) {
      // Most recently used last: the oldest is dropped first.
      this.probes.delete(etag);
      this.probes.set(etag, probe);
      return probe;
    }
    const ffprobe = this.deps.tools.ffprobe;
    probe = ffprobe
      ? this.deps
          .contentInput(etag)
          .then((input) => probeFile(ffprobe, input))
          .catch((err: unknown) => {
            this.deps.onError?.(err, 'ffprobe failed');
            this.probes.delete(etag);
            return null;
          })
      : Promise.resolve(null);
    this.probes.set(etag, probe);
    if (this.probes.size > PROBES_KEPT) this.probes.delete(this.probes.keys().next().value as string);
    return probe;
  }

  async info(userId: number, ref: EntryRef, support: BrowserSupport, now = Date.now()): Promise<MediaInfo> {
    const file = await this.deps.files.get(userId, ref);
    if (file.type !== FILE) throw new AppError('IS_A_DIRECTORY', `"${file.path}" is a directory; only files play.`);
    const probe = await this.probe(file.storeId);
    const decision = probe ? decidePlayback(probe, file.name, support, this.hasFfmpeg) : decideByName(file.name, this.hasFfmpeg);
    const { downloadAddress } = this.deps.links.forFile(file, now);
    const duration = probe?.duration ?? 0;
    let url = '';
    if (decision.mode === 'direct') url = downloadAddress;
    if (decision.mode === 'hls' && probe) {
      const variant = variantOf({ videoIndex: probe.video?.index ?? -1, video: decision.video, audioIndex: decision.audioIndex, audio: decision.audio });
      url = `${this.mediaUrl(file, { kind: 'hls', variant, duration }, now)}/index.m3u8`;
    }
    return {
      mode: decision.mode,
      url,
      downloadAddress,
      duration,
      reason: decision.mode === 'needs-ffmpeg' ? decision.reason : '',
      videoCodec: probe?.video?.codec ?? '',
      audioCodec: probe?.audio[0]?.codec ?? '',
      transcoded: decision.mode === 'hls' && (decision.video === 'h264' || decision.audio === 'aac'),
      subtitles: decision.mode === 'needs-ffmpeg' ? [] : await this.subtitlesOf(userId, file, probe, now),
    };
  }

  private mediaUrl(file: FileObject, work: MediaWork, now: number): string {
    const claims: MediaClaims = { etag: file.storeId, userId: file.userId, fileUuid: file.uuid, expires: now + this.deps.ttlMs, work };
    return `${this.deps.publicUrl()}/media/${sealMediaToken(this.deps.secret, claims)}`;
  }

  /** Subtitle files beside the video with its base name (`Film.srt`, `Film.en.srt`), then its own text streams. */
  private async subtitlesOf(userId: number, file: FileObject, probe: MediaProbe | null, now: number): Promise<SubtitleTrack[]> {
    const tracks: SubtitleTrack[] = [];
    const base = file.name.includes('.') ? file.name.slice(0, file.name.lastIndexOf('.')) : file.name;
    const folder = file.path.slice(0, file.path.lastIndexOf('/')) || '/';
    const siblings = await this.deps.files.page(userId, { path: folder }, { page: 1, pageSize: SIBLINGS_LOOKED_AT, type: FILE });
    for (const sibling of siblings.list) {
      const ext = sibling.name.slice(sibling.name.lastIndexOf('.') + 1).toLowerCase();
      if (!(SUBTITLE_EXTENSIONS as readonly string[]).includes(ext) || sibling.type !== FILE) continue;
      const stem = sibling.name.slice(0, sibling.name.lastIndexOf('.'));
      if (stem !== base && !stem.startsWith(`${base}.`)) continue;
      if (ext !== 'srt' && ext !== 'vtt' && !this.hasFfmpeg) continue;
      const language = stem.slice(base.length + 1);
      tracks.push({
        label: sibling.name,
        language: /^[a-z]{2,3}(-[A-Za-z]{2,4})?$/.test(language) ? language : '',
        url: `${this.mediaUrl(sibling, { kind: 'subtitle', stream: -1, format: ext }, now)}/subtitle.vtt`,
      });
    }
    if (probe && this.hasFfmpeg) {
      for (const s of probe.subtitles) {
        if (!TEXT_SUBTITLE_CODECS.includes(s.codec)) continue;
        const label = [s.title, s.language].filter(Boolean).join(' · ') || `#${s.index}`;
        tracks.push({ label, language: s.language, url: `${this.mediaUrl(file, { kind: 'subtitle', stream: s.index, format: s.codec }, now)}/subtitle.vtt` });
      }
    }
    return tracks;
  }

  /**
   * Thumbnail addresses of a folder's images and videos, by file uuid. Without ffmpeg an image's
   * thumbnail is the image itself (the browser scales it) and videos have none.
   */
  async thumbnails(userId: number, folder: EntryRef, now = Date.now()): Promise<Record<string, string>> {
    const page = await this.deps.files.page(userId, folder, { page: 1, pageSize: SIBLINGS_LOOKED_AT, type: FILE });
    const out: Record<string, string> = {};
    for (const file of page.list) {
      if (file.type !== FILE || file.size === 0) continue;
      const image = file.mime.startsWith('image/') && file.mime !== 'image/svg+xml';
      const video = file.mime.startsWith('video/');
      const made = image ? this.hasFfmpeg || this.deps.sharp !== null : video && this.hasFfmpeg;
      if (made) out[file.uuid] = `${this.mediaUrl(file, { kind: 'thumbnail', ...(image ? { image } : {}) }, now)}/thumbnail.jpg`;
      else if (image) out[file.uuid] = this.deps.links.forFile(file, now).downloadAddress;
    }
    return out;
  }

  /**
   * Path of a content's thumbnail (JPEG, at most THUMBNAIL_WIDTH px wide): an image scaled by
   * sharp (by ffmpeg without it), a video's frame at a tenth of its duration by ffmpeg.
   */
  async thumbnail(claims: MediaClaims): Promise<string> {
    const work = claims.work;
    if (work.kind !== 'thumbnail') throw new AppError('NOT_FOUND', 'This address has no thumbnail.');
    const sharp = work.image === true ? this.deps.sharp : null;
    const ffmpeg = this.deps.tools.ffmpeg;
    if (sharp === null && !ffmpeg) throw new AppError('SERVICE_UNAVAILABLE', 'This server has no ffmpeg to make thumbnails.');
    const dir = this.cache.dirOf(claims.etag);
    const path = join(dir, 'thumbnail.jpg');
    if (this.cache.has(path)) return path;
    const workDir = join(dir, `${WORK_DIR_PREFIX}thumbnail-${process.pid}-${Date.now()}`);
    await mkdir(workDir, { recursive: true });
    try {
      const out = join(workDir, 'thumbnail.jpg');
      if (sharp !== null) {
        await imageThumbnail(sharp, await this.deps.store.read(claims.etag), out, THUMBNAIL_WIDTH).catch((err: unknown) => {
          throw new AppError('MEDIA_UNREADABLE', `This image cannot be read: ${err instanceof Error ? err.message : String(err)}`);
        });
      } else {
        const probe = await this.probe(claims.etag);
        const at = probe?.video && probe.duration > 0 ? probe.duration * THUMBNAIL_AT : 0;
        const seek = at > 0 ? ['-ss', at.toFixed(2)] : [];
        const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', ...seek, '-i', await this.deps.contentInput(claims.etag)];
        args.push('-frames:v', '1', '-vf', `scale='min(${THUMBNAIL_WIDTH},iw)':-2`, '-q:v', '5', '-f', 'image2', '-c:v', 'mjpeg', out);
        await runTool(ffmpeg as string, args, { timeoutMs: 60_000 });
      }
      await this.cache.add(out, path);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
    return path;
  }

  /** The claims of a media address whose file still holds the content; FORBIDDEN / FILE_NOT_FOUND otherwise. */
  async claimsOf(token: string): Promise<MediaClaims> {
    const claims = openMediaToken(this.deps.secret, token);
    if (!(await this.deps.files.fileHolds(claims.userId, claims.fileUuid, claims.etag))) {
      throw new AppError('FILE_NOT_FOUND', 'This file was removed or replaced; its media address no longer works.');
    }
    return claims;
  }

  playlist(claims: MediaClaims): string {
    if (claims.work.kind !== 'hls') throw new AppError('NOT_FOUND', 'This address has no playlist.');
    return hlsPlaylist(claims.work.duration, (i) => `${String(i).padStart(5, '0')}.ts`);
  }

  /** Path of an HLS segment, produced when it is not cached. */
  async segment(claims: MediaClaims, index: number): Promise<string> {
    const work = claims.work;
    if (work.kind !== 'hls' || !planOf(work.variant)) throw new AppError('NOT_FOUND', 'This address has no segments.');
    if (!this.producer) throw new AppError('SERVICE_UNAVAILABLE', 'This server has no ffmpeg to convert the file.');
    return this.producer.segment(claims.etag, await this.deps.contentInput(claims.etag), work.variant, index, segmentCount(work.duration));
  }

  /** Path of the WebVTT file of a subtitle, made once per content and stream. */
  async subtitle(claims: MediaClaims): Promise<string> {
    const work = claims.work;
    if (work.kind !== 'subtitle') throw new AppError('NOT_FOUND', 'This address has no subtitle.');
    const dir = this.cache.dirOf(claims.etag);
    const path = join(dir, `subtitle-${work.stream}.vtt`);
    if (this.cache.has(path)) return path;
    let vtt: string;
    if (work.stream < 0 && (work.format === 'srt' || work.format === 'vtt')) {
      const size = await this.deps.store.size(claims.etag);
      if (size === null) throw new AppError('FILE_NOT_FOUND', 'The file content is not stored on this server.');
      if (size > MAX_SUBTITLE_BYTES) throw new AppError('PAYLOAD_TOO_LARGE', 'This subtitle file is too large to convert.');
      const chunks: Buffer[] = [];
      for await (const chunk of await this.deps.store.read(claims.etag)) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      vtt = work.format === 'srt' ? srtToVtt(text) : normalizeVtt(text);
    } else {
      if (!this.deps.tools.ffmpeg) throw new AppError('SERVICE_UNAVAILABLE', 'This server has no ffmpeg to convert the subtitle.');
      vtt = await extractVtt(this.deps.tools.ffmpeg, await this.deps.contentInput(claims.etag), work.stream);
    }
    // Written whole in a work directory, then moved into place: a reader never sees half a file.
    const workDir = join(dir, `${WORK_DIR_PREFIX}subtitle-${work.stream}-${process.pid}-${Date.now()}`);
    await mkdir(workDir, { recursive: true });
    try {
      await writeFile(join(workDir, 'subtitle.vtt'), vtt);
      await this.cache.add(join(workDir, 'subtitle.vtt'), path);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
    return path;
  }
}
