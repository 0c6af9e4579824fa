// Video and audio: the server says how this browser plays the file (as it is, or as HLS made by
// ffmpeg) and which subtitles it has; without ffmpeg on the server, the viewer says so.
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { FileObject, MediaInfo } from '../api/types.js';
import { useI18n } from '../i18n/i18n.js';
import { browserSupport } from './codecs.js';
import { MediaPlayer } from './MediaPlayer.js';

export function MediaView({ api, file, address, audio }: { api: Api; file: FileObject; address: string; audio: boolean }) {
  const { t } = useI18n();
  const [info, setInfo] = useState<MediaInfo | null>(null);
  useEffect(() => {
    let current = true;
    setInfo(null);
    api.mediaInfo(file.uuid, browserSupport()).then(
      (answer) => current && setInfo(answer),
      // An older server, or a failed probe: try the file as it is.
      () =>
        current &&
        setInfo({
          mode: 'direct',
          url: address,
          downloadAddress: address,
          duration: 0,
          reason: '',
          videoCodec: '',
          audioCodec: '',
          transcoded: false,
          subtitles: [],
        }),
    );
    return () => {
      current = false;
    };
  }, [api, file.uuid, address]);

  if (!info) return <p class="muted">{t('drive.loading')}</p>;
  if (info.mode === 'needs-ffmpeg')
    return (
      <p class="no-preview" data-testid="needs-ffmpeg">
        {t('viewer.needsFfmpeg', { reason: info.reason })}
      </p>
    );
  return (
    <>
      <MediaPlayer
        fileUuid={file.uuid}
        audio={audio}
        source={{ url: info.url, hls: info.mode === 'hls', duration: info.duration || Number.NaN, subtitles: info.subtitles }}
      />
      {info.transcoded && <p class="muted media-note">{t('viewer.transcoding')}</p>}
    </>
  );
}
