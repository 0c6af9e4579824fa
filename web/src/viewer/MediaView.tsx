// Video and audio: played from the file's own signed address.
import type { Api } from '../api/client.js';
import type { FileObject } from '../api/types.js';
import { MediaPlayer } from './MediaPlayer.js';

export function MediaView({ file, address, audio }: { api: Api; file: FileObject; address: string; audio: boolean }) {
  return <MediaPlayer fileUuid={file.uuid} audio={audio} source={{ url: address, hls: false, duration: Number.NaN, subtitles: [] }} />;
}
