// Media fixtures made by ffmpeg's lavfi sources (no binary media in the repository): tiny,
// a few seconds long, made once per test process into a temporary directory.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from './server.js';
import { etagOf, fileOf, formUpload, ticket } from './upload.js';

export const CLIP_SECONDS = 4;
const VIDEO = ['-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=25:duration=${CLIP_SECONDS}`];
const AUDIO = ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${CLIP_SECONDS}`];
/** A keyframe every second: seeking and segment cuts land on whole seconds. */
const GOP = ['-g', '25', '-keyint_min', '25'];

export const SRT = `1
00:00:00,000 --> 00:00:03,500
Hello from the side file

2
00:00:03,500 --> 00:00:04,000
Bye
`;

/** Every fixture: its file name and the ffmpeg arguments after the inputs that make it. */
const RECIPES: Record<string, string[]> = {
  'h264-aac.mp4': [...VIDEO, ...AUDIO, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', ...GOP, '-c:a', 'aac', '-movflags', '+faststart'],
  'hevc-ac3.mkv': [
    ...VIDEO,
    ...AUDIO,
    '-i',
    'embedded.srt',
    '-map',
    '0:v',
    '-map',
    '1:a',
    '-map',
    '2:s',
    '-c:v',
    'libx265',
    '-preset',
    'ultrafast',
    '-x265-params',
    'log-level=none:keyint=25:min-keyint=25:scenecut=0',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'ac3',
    '-c:s',
    'srt',
    '-metadata:s:s:0',
    'language=eng',
  ],
  /** Three segments long: for seeking into a stream. */
  'long-hevc.mkv': [
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x90:rate=25:duration=12',
    '-c:v',
    'libx265',
    '-preset',
    'ultrafast',
    '-x265-params',
    'log-level=none:keyint=25:min-keyint=25:scenecut=0',
    '-pix_fmt',
    'yuv420p',
  ],
  /**
   * 30 s of noisy 640x360 H.264/AAC at 2 Mbit/s (~7.5 MiB), its index (`moov`) at the end as
   * ffmpeg writes it by default: a film a player can start only with both ends of the file.
   */
  'long-h264.mp4': [
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=640x360:rate=25:duration=30',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000:duration=30',
    '-vf',
    'noise=alls=30:allf=t+u',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-b:v',
    '2000k',
    '-maxrate',
    '2000k',
    '-bufsize',
    '2000k',
    ...GOP,
    '-c:a',
    'aac',
  ],
  'vp9-opus.webm': [...VIDEO, ...AUDIO, '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', ...GOP, '-c:a', 'libopus'],
  'mpeg4.avi': [...VIDEO, ...AUDIO, '-c:v', 'mpeg4', '-q:v', '5', ...GOP, '-c:a', 'libmp3lame'],
  'tone.mp3': [...AUDIO, '-c:a', 'libmp3lame', '-b:a', '64k'],
  'tone.flac': [...AUDIO, '-c:a', 'flac'],
  'picture.jpg': ['-f', 'lavfi', '-i', 'testsrc2=size=320x180', '-frames:v', '1'],
  'picture.png': ['-f', 'lavfi', '-i', 'testsrc2=size=160x90', '-frames:v', '1'],
  'picture.webp': ['-f', 'lavfi', '-i', 'testsrc2=size=200x100', '-frames:v', '1', '-c:v', 'libwebp'],
};
export type FixtureName = keyof typeof RECIPES;

let dir: string | null = null;

export function hasFfmpeg(): boolean {
  return spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
}

/** The fixture's bytes, made on first use. */
export function fixture(name: FixtureName): Buffer {
  if (dir === null) {
    dir = mkdtempSync(join(tmpdir(), 'openpan-media-fixtures-'));
    writeFileSync(join(dir, 'embedded.srt'), SRT.replace('side file', 'container'));
    process.once('exit', () => dir && rmSync(dir, { recursive: true, force: true }));
  }
  const path = join(dir, name);
  if (!existsSync(path)) {
    const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...RECIPES[name], path], { cwd: dir, encoding: 'utf8' });
    assert.equal(made.status, 0, `ffmpeg could not make ${name}: ${made.stderr}`);
  }
  return readFileSync(path);
}

/** Puts bytes into a user's drive at `folder/name` through the upload service; the file object. */
export async function putFile(client: Client, folder: string, name: string, data: Uint8Array): Promise<{ uuid: string; path: string }> {
  const t = await ticket(client, { name, hash: etagOf(data), path: folder });
  return fileOf(await formUpload(t.uploadUrl, t.token, data));
}
