// The video and audio player: the browser's own controls, plus keyboard (space plays and
// pauses, ←/→ seek 5 s, ↑/↓ volume, f full screen), the position remembered per file, subtitle
// tracks, and HLS through hls.js where the browser has no native HLS (Chromium).
import { useEffect, useRef } from 'preact/hooks';
import { useI18n } from '../i18n/i18n.js';
import { savedPosition, savePosition } from './position.js';

export interface SubtitleTrack {
  label: string;
  language: string;
  url: string;
}

export interface MediaSource {
  url: string;
  /** An HLS playlist rather than the file itself. */
  hls: boolean;
  /** Known duration (a transcoded stream's own is known only as it is produced). */
  duration: number;
  subtitles: SubtitleTrack[];
}

interface Props {
  fileUuid: string;
  audio: boolean;
  source: MediaSource;
}

const SEEK_STEP = 5;
const SAVE_EVERY_MS = 3000;

type HlsInstance = { destroy(): void };

async function attachHls(media: HTMLMediaElement, url: string): Promise<HlsInstance | null> {
  if (media.canPlayType('application/vnd.apple.mpegurl')) {
    media.src = url;
    return null;
  }
  const { default: Hls } = await import('hls.js');
  if (!Hls.isSupported()) {
    media.src = url;
    return null;
  }
  // No worker: the page's CSP allows workers of this origin only, not hls.js's blob worker.
  const hls = new Hls({ enableWorker: false, maxBufferLength: 30 });
  hls.loadSource(url);
  hls.attachMedia(media);
  return hls;
}

export function MediaPlayer({ fileUuid, audio, source }: Props) {
  const { t } = useI18n();
  const media = useRef<HTMLVideoElement & HTMLAudioElement>(null);
  const frame = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = media.current;
    if (!element) return;
    let hls: HlsInstance | null = null;
    let cancelled = false;
    if (source.hls) {
      void attachHls(element, source.url).then((instance) => {
        if (cancelled) instance?.destroy();
        else hls = instance;
      });
    } else element.src = source.url;
    return () => {
      cancelled = true;
      hls?.destroy();
      element.removeAttribute('src');
      element.load();
    };
  }, [source.url, source.hls]);

  // Resume where this file stopped; remember the position as it plays.
  useEffect(() => {
    const element = media.current;
    if (!element) return;
    const durationOf = () => (Number.isFinite(element.duration) && element.duration > 0 ? element.duration : source.duration);
    let lastSave = 0;
    const restore = () => {
      const at = savedPosition(fileUuid, durationOf());
      if (at > 0) element.currentTime = at;
    };
    const remember = () => {
      if (Date.now() - lastSave < SAVE_EVERY_MS) return;
      lastSave = Date.now();
      savePosition(fileUuid, element.currentTime, durationOf());
    };
    const rememberNow = () => savePosition(fileUuid, element.currentTime, durationOf());
    element.addEventListener('loadedmetadata', restore, { once: true });
    element.addEventListener('timeupdate', remember);
    element.addEventListener('pause', rememberNow);
    return () => {
      if (element.currentTime > 0) rememberNow();
      element.removeEventListener('loadedmetadata', restore);
      element.removeEventListener('timeupdate', remember);
      element.removeEventListener('pause', rememberNow);
    };
  }, [fileUuid, source.duration]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const element = media.current;
      const target = event.target;
      if (!element || event.ctrlKey || event.metaKey || event.altKey) return;
      if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
      // A focused button keeps its own Space.
      if (event.key === ' ' && target instanceof HTMLButtonElement) return;
      const duration = Number.isFinite(element.duration) ? element.duration : source.duration;
      switch (event.key) {
        case ' ':
        case 'k':
          if (element.paused) void element.play().catch(() => {});
          else element.pause();
          break;
        case 'ArrowLeft':
          element.currentTime = Math.max(0, element.currentTime - SEEK_STEP);
          break;
        case 'ArrowRight':
          element.currentTime = duration > 0 ? Math.min(duration, element.currentTime + SEEK_STEP) : element.currentTime + SEEK_STEP;
          break;
        case 'ArrowUp':
          element.volume = Math.min(1, element.volume + 0.1);
          break;
        case 'ArrowDown':
          element.volume = Math.max(0, element.volume - 0.1);
          break;
        case 'f':
          if (document.fullscreenElement) void document.exitFullscreen().catch(() => {});
          else void frame.current?.requestFullscreen().catch(() => {});
          break;
        default:
          return;
      }
      event.preventDefault();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [source.duration]);

  const tracks = source.subtitles.map((track, i) => (
    <track key={track.url} kind="subtitles" label={track.label} srcLang={track.language || undefined} src={track.url} default={i === 0} />
  ));
  return (
    <div class={audio ? 'player audio' : 'player'} ref={frame}>
      {audio ? (
        // biome-ignore lint/a11y/useMediaCaption: an audio file has no captions to offer
        <audio ref={media} controls preload="metadata" data-testid="player" />
      ) : (
        // biome-ignore lint/a11y/useMediaCaption: the file's subtitles are its tracks, when it has any
        <video ref={media} controls preload="metadata" playsInline data-testid="player">
          {tracks}
        </video>
      )}
      <p class="muted hint">{t('viewer.keys')}</p>
    </div>
  );
}
