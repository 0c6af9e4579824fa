// The media module on a real server with Debian's ffmpeg: probing, the direct/remux/transcode
// decision, HLS playlists and segments made on demand (from a seek point too), the segment
// cache's budget, subtitles as WebVTT, the signed stream addresses, and a server without ffmpeg.
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BASELINE_SUPPORT, decidePlayback } from '../../src/media/decision.js';
import { ffmpegArgs, hlsPlaylist, planOf, variantOf } from '../../src/media/hls.js';
import { MediaCache } from '../../src/media/media-cache.js';
import { openMediaToken, sealMediaToken } from '../../src/media/media-token.js';
import { parseProbe, type MediaProbe } from '../../src/media/probe.js';
import { srtToVtt } from '../../src/media/subtitles.js';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { fixture, putFile, SRT } from '../support/media-fixtures.js';

const CHROMIUM = { video: ['h264', 'vp8', 'vp9', 'av1'], audio: ['aac', 'mp3', 'opus', 'vorbis', 'flac'] };

function probeOf(container: string, video: string | null, audio: string | null, pixelFormat = 'yuv420p'): MediaProbe {
  return {
    container,
    duration: 10,
    video: video ? { index: 0, codec: video, width: 320, height: 180, pixelFormat } : null,
    audio: audio ? [{ index: 1, codec: audio, channels: 2, language: '' }] : [],
    subtitles: [],
  };
}

/** ffprobe's view of bytes: codec names and the first packet's time. */
function probeBytes(data: Buffer): { codecs: string[]; start: number } {
  const dir = mkdtempSync(join(tmpdir(), 'openpan-probe-'));
  try {
    writeFileSync(join(dir, 'x.ts'), data);
    const out = spawnSync('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', join(dir, 'x.ts')], { encoding: 'utf8' });
    const json = JSON.parse(out.stdout) as { format: { start_time: string }; streams: Array<{ codec_name: string }> };
    return { codecs: json.streams.map((s) => s.codec_name).sort(), start: Number(json.format.start_time) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('playback decisions', () => {
  test('MP4 H.264/AAC and WebM VP9/Opus play as they are; what the browser lacks goes through ffmpeg', () => {
    assert.deepEqual(decidePlayback(probeOf('mov,mp4,m4a,3gp,3g2,mj2', 'h264', 'aac'), 'a.mp4', CHROMIUM, true), { mode: 'direct' });
    assert.deepEqual(decidePlayback(probeOf('matroska,webm', 'vp9', 'opus'), 'a.webm', CHROMIUM, true), { mode: 'direct' });
    assert.deepEqual(decidePlayback(probeOf('mp3', null, 'mp3'), 'a.mp3', CHROMIUM, true), { mode: 'direct' });
    // H.264 in MKV: the video is copied (remux), AC-3 audio re-encoded.
    assert.deepEqual(decidePlayback({ ...probeOf('matroska,webm', 'h264', 'ac3') }, 'a.mkv', CHROMIUM, true), {
      mode: 'hls',
      video: 'copy',
      audio: 'aac',
      audioIndex: 1,
    });
    assert.deepEqual(decidePlayback(probeOf('matroska,webm', 'hevc', 'ac3'), 'a.mkv', CHROMIUM, true), {
      mode: 'hls',
      video: 'h264',
      audio: 'aac',
      audioIndex: 1,
    });
    assert.deepEqual(decidePlayback(probeOf('avi', 'mpeg4', 'mp3'), 'a.avi', CHROMIUM, true), { mode: 'hls', video: 'h264', audio: 'copy', audioIndex: 1 });
    // 10-bit H.264 decodes nowhere in browsers: transcoded although H.264.
    assert.equal(decidePlayback(probeOf('mov,mp4,m4a,3gp,3g2,mj2', 'h264', 'aac', 'yuv420p10le'), 'a.mp4', CHROMIUM, true).mode, 'hls');
  });

  test('what the browser reports decides: HEVC plays as it is where the browser decodes it', () => {
    const safari = { video: ['h264', 'hevc'], audio: ['aac', 'mp3', 'ac3'] };
    assert.deepEqual(decidePlayback(probeOf('mov,mp4,m4a,3gp,3g2,mj2', 'hevc', 'ac3'), 'a.mp4', safari, true), { mode: 'direct' });
    assert.equal(decidePlayback(probeOf('mov,mp4,m4a,3gp,3g2,mj2', 'hevc', 'ac3'), 'a.mp4', BASELINE_SUPPORT, true).mode, 'hls');
  });

  test('without ffmpeg, what needs it says what the browser cannot play', () => {
    assert.deepEqual(decidePlayback(probeOf('matroska,webm', 'hevc', 'ac3'), 'a.mkv', CHROMIUM, false), {
      mode: 'needs-ffmpeg',
      reason: 'matroska,webm, hevc, ac3',
    });
    assert.deepEqual(decidePlayback(probeOf('mov,mp4,m4a,3gp,3g2,mj2', 'h264', 'aac'), 'a.mp4', CHROMIUM, false), { mode: 'direct' });
  });

  test('variants round-trip; a playlist covers the duration in 4 s segments', () => {
    const plan = { videoIndex: 0, video: 'h264', audioIndex: 1, audio: 'aac' } as const;
    assert.deepEqual(planOf(variantOf(plan)), plan);
    assert.equal(planOf('../../etc'), null);
    const playlist = hlsPlaylist(10, (i) => `${i}.ts`);
    assert.match(playlist, /#EXTINF:4\.000,\n0\.ts\n#EXTINF:4\.000,\n1\.ts\n#EXTINF:2\.000,\n2\.ts\n#EXT-X-ENDLIST/);
    const args = ffmpegArgs('/in', plan, 3, '/work');
    assert.deepEqual(args.slice(args.indexOf('-ss'), args.indexOf('-ss') + 2), ['-ss', '12']);
    assert.ok(args.includes('-segment_start_number') && args[args.indexOf('-segment_start_number') + 1] === '3');
  });

  test('ffprobe JSON: cover art is not the video; languages and titles of subtitle streams', () => {
    const probe = parseProbe(
      JSON.stringify({
        format: { format_name: 'mp3', duration: '3.5' },
        streams: [
          { index: 0, codec_type: 'audio', codec_name: 'mp3', channels: 2 },
          { index: 1, codec_type: 'video', codec_name: 'mjpeg', disposition: { attached_pic: 1 } },
          { index: 2, codec_type: 'subtitle', codec_name: 'subrip', tags: { language: 'eng', title: 'English' } },
        ],
      }),
    );
    assert.equal(probe.video, null);
    assert.equal(probe.duration, 3.5);
    assert.deepEqual(probe.subtitles, [{ index: 2, codec: 'subrip', language: 'eng', title: 'English' }]);
  });

  test('SRT becomes WebVTT', () => {
    assert.equal(srtToVtt('\uFEFF1\r\n0:00:01,5 --> 00:00:02,250\r\nHi --> there\r\n'), 'WEBVTT\n\n1\n00:00:01.500 --> 00:00:02.250\nHi -> there\n');
  });
});

describe('media cache', () => {
  test('over its budget, the least recently used files go first; a restart keeps what fits', async () => {
    const root = mkdtempSync(join(tmpdir(), 'openpan-media-cache-'));
    try {
      const cache = new MediaCache(root, 250);
      await cache.open();
      const put = async (name: string) => {
        const work = join(root, 'work-x');
        await mkdir(work, { recursive: true });
        await writeFile(join(work, name), Buffer.alloc(100));
        await cache.add(join(work, name), join(root, 'etag', name));
      };
      await put('a');
      await put('b');
      assert.ok(cache.has(join(root, 'etag', 'a')), 'a used again: b is now the oldest');
      await put('c');
      assert.deepEqual(cache.list().sort(), ['etag/a', 'etag/c']);
      assert.equal(cache.totalBytes, 200);
      const again = new MediaCache(root, 150);
      await again.open();
      assert.equal(again.list().length, 1, 'a smaller budget after a restart evicts at once');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('media tokens', () => {
  const secret = 'x'.repeat(40);
  const claims = { etag: 'Fto5o-5ea0sNMlW_75VgGJCv2AcJ', userId: 3, fileUuid: 'u', expires: 2_000, work: { kind: 'thumbnail' } } as const;
  test('a token opens under its secret until it expires; altered or foreign ones do not', () => {
    const token = sealMediaToken(secret, claims);
    assert.deepEqual(openMediaToken(secret, token, 1_000), claims);
    assert.throws(() => openMediaToken(secret, token, 3_000), { code: 'FORBIDDEN', message: /expired/ });
    assert.throws(() => openMediaToken('y'.repeat(40), token, 1_000), { code: 'FORBIDDEN' });
    const flipped = `${token.slice(0, 30)}${token[30] === 'A' ? 'B' : 'A'}${token.slice(31)}`;
    assert.throws(() => openMediaToken(secret, flipped, 1_000), { code: 'FORBIDDEN' });
    assert.ok(!token.includes(claims.etag), 'the etag is not readable in the address');
  });
});

describe('media on a server', { timeout: 180_000 }, () => {
  let server: TestServer;
  let alice: Client;

  before(async () => {
    server = await startServer({ OPENPAN_TRANSCODE_MAX: '1' });
    alice = await server.newUser('alice');
    await alice.call('/v1/files/createDirectory', { path: '/Films' });
    for (const name of ['h264-aac.mp4', 'hevc-ac3.mkv', 'long-hevc.mkv', 'mpeg4.avi'] as const) await putFile(alice, '/Films', name, fixture(name));
    await putFile(alice, '/Films', 'hevc-ac3.srt', Buffer.from(SRT));
  });
  after(async () => server?.close());

  const info = (path: string) => alice.call('/v1/media/info', { path, ...CHROMIUM });

  test('an MP4 the browser plays is played from its download address', async () => {
    const answer = await info('/Films/h264-aac.mp4');
    assert.equal(answer.mode, 'direct');
    assert.match(answer.url, /\/dl\//);
    assert.equal(answer.videoCodec, 'h264');
    assert.equal(answer.audioCodec, 'aac');
    assert.ok(Math.abs(answer.duration - 4) < 0.2, `duration ${answer.duration}`);
  });

  test('HEVC/AC-3 MKV: an HLS playlist whose segments are H.264/AAC made on demand', async () => {
    const answer = await info('/Films/hevc-ac3.mkv');
    assert.equal(answer.mode, 'hls');
    assert.equal(answer.transcoded, true);
    const playlist = await fetch(answer.url);
    assert.equal(playlist.status, 200);
    assert.match(playlist.headers.get('content-type') ?? '', /mpegurl/);
    const text = await playlist.text();
    assert.match(text, /#EXTINF:4\.\d+,\n00000\.ts\n#EXT-X-ENDLIST/);
    const segment = await fetch(new URL('00000.ts', answer.url));
    assert.equal(segment.status, 200);
    const bytes = Buffer.from(await segment.arrayBuffer());
    assert.equal(bytes[0], 0x47, 'MPEG-TS sync byte');
    assert.deepEqual(probeBytes(bytes).codecs, ['aac', 'h264']);
  });

  test('AVI (MPEG-4 Part 2 video, MP3 audio): the video is transcoded, the audio copied', async () => {
    const answer = await info('/Films/mpeg4.avi');
    assert.equal(answer.mode, 'hls');
    const bytes = Buffer.from(await (await fetch(new URL('00000.ts', answer.url))).arrayBuffer());
    assert.deepEqual(probeBytes(bytes).codecs, ['h264', 'mp3']);
  });

  test('a seek starts production at the asked segment, not from the beginning; segments are cached', async () => {
    const answer = await info('/Films/long-hevc.mkv');
    assert.match(await (await fetch(answer.url)).text(), /00002\.ts\n#EXT-X-ENDLIST/);
    const last = Buffer.from(await (await fetch(new URL('00002.ts', answer.url))).arrayBuffer());
    const { start } = probeBytes(last);
    assert.ok(start >= 8 && start < 10, `segment 2 starts at ${start} s on the content's timeline`);
    const cached = server.openpan.media.cache.list().filter((p) => p.includes('a-1none'));
    assert.deepEqual(
      cached.map((p) => p.slice(p.lastIndexOf('/') + 1)),
      ['00002.ts'],
      'nothing before the seek point was produced',
    );
    // The cached segment comes back byte for byte without ffmpeg.
    const again = Buffer.from(await (await fetch(new URL('00002.ts', answer.url))).arrayBuffer());
    assert.ok(again.equals(last));
  });

  test('subtitles: the SRT beside the video and the stream inside it, as WebVTT', async () => {
    const answer = await info('/Films/hevc-ac3.mkv');
    assert.deepEqual(
      answer.subtitles.map((s: { label: string }) => s.label),
      ['hevc-ac3.srt', 'eng'],
    );
    const side = await fetch(answer.subtitles[0].url);
    assert.equal(side.status, 200);
    assert.match(side.headers.get('content-type') ?? '', /^text\/vtt/);
    assert.match(await side.text(), /^WEBVTT\n\n1\n00:00:00\.000 --> 00:00:03\.500\nHello from the side file/);
    const inside = await (await fetch(answer.subtitles[1].url)).text();
    assert.match(inside, /^WEBVTT/);
    assert.match(inside, /Hello from the container/);
  });

  test("thumbnails: a video's frame at a tenth of its duration, as JPEG, cached per content", async () => {
    const thumbnails = await alice.call('/v1/media/thumbnails', { path: '/Films' });
    const file = await alice.call('/v1/files/get', { path: '/Films/h264-aac.mp4' });
    assert.equal(Object.keys(thumbnails).length, 4, 'the four videos; not the subtitle file');
    const answer = await fetch(thumbnails[file.uuid]);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('content-type'), 'image/jpeg');
    const jpeg = Buffer.from(await answer.arrayBuffer());
    assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
    assert.ok(server.openpan.media.cache.list().some((p) => p.endsWith('/thumbnail.jpg')));
  });

  test('stream addresses: altered ones are refused, and they die with their file', async () => {
    const answer = await info('/Films/mpeg4.avi');
    const token = new URL(answer.url).pathname.split('/')[2];
    const altered = answer.url.replace(token, `${token.slice(0, 20)}${token[20] === 'A' ? 'B' : 'A'}${token.slice(21)}`);
    assert.equal((await fetch(altered)).status, 403);
    assert.equal((await fetch(`${server.url}/media/not-a-token/00000.ts`)).status, 403);
    assert.equal((await fetch(new URL('../x/00000.ts', answer.url))).status, 403);
    const bob = await server.newUser('bob');
    assert.equal((await bob.raw('/v1/media/info', { path: '/Films/mpeg4.avi' })).status, 404, "another user's path is not found");
    await alice.call('/v1/files/remove', { path: '/Films/mpeg4.avi' });
    const gone = await fetch(answer.url);
    assert.equal(gone.status, 404);
    assert.equal(((await gone.json()) as { code: string }).code, 'FILE_NOT_FOUND');
  });
});

describe('a server without ffmpeg', { timeout: 60_000 }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ OPENPAN_FFMPEG: '/nonexistent/ffmpeg' });
  });
  after(async () => server?.close());

  test('starts; MP4 plays directly; MKV is reported as needing ffmpeg', async () => {
    const alice = await server.newUser('alice');
    await putFile(alice, '/', 'h264-aac.mp4', fixture('h264-aac.mp4'));
    await putFile(alice, '/', 'hevc-ac3.mkv', fixture('hevc-ac3.mkv'));
    assert.equal((await alice.call('/v1/media/info', { path: '/h264-aac.mp4', ...CHROMIUM })).mode, 'direct');
    const mkv = await alice.call('/v1/media/info', { path: '/hevc-ac3.mkv', ...CHROMIUM });
    assert.equal(mkv.mode, 'needs-ffmpeg');
    assert.equal(mkv.url, '');
    assert.match(mkv.reason, /hevc/);
    await putFile(alice, '/', 'picture.png', fixture('picture.png'));
    const thumbnails = await alice.call('/v1/media/thumbnails', { path: '/' });
    assert.equal(Object.keys(thumbnails).length, 1, 'no video thumbnails without ffmpeg');
    assert.match(Object.values(thumbnails)[0] as string, /\/media\/.+\/thumbnail\.jpg$/, 'images still get thumbnails (sharp)');
  });

  test('image thumbnails by sharp: 320 px wide, upright by their EXIF orientation; an undecodable image is refused', async () => {
    const bob = await server.newUser('bob');
    await bob.call('/v1/files/createDirectory', { path: '/Photos' });
    const wide = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#3a7' } })
      .png()
      .toBuffer();
    // Stored 600×400, shown 400×600: orientation 6 turns it a quarter clockwise.
    const turned = await sharp({ create: { width: 600, height: 400, channels: 3, background: '#a37' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const files = {
      wide: await putFile(bob, '/Photos', 'wide.png', wide),
      turned: await putFile(bob, '/Photos', 'turned.jpg', turned),
      broken: await putFile(bob, '/Photos', 'broken.png', Buffer.concat([wide.subarray(0, 200), Buffer.alloc(500, 7)])),
    };
    const thumbnails = await bob.call('/v1/media/thumbnails', { path: '/Photos' });
    const size = async (uuid: string) => {
      const answer = await fetch(thumbnails[uuid]);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('content-type'), 'image/jpeg');
      const meta = await sharp(Buffer.from(await answer.arrayBuffer())).metadata();
      return [meta.format, meta.width, meta.height];
    };
    assert.deepEqual(await size(files.wide.uuid), ['jpeg', 320, 213]);
    assert.deepEqual(await size(files.turned.uuid), ['jpeg', 320, 480]);
    const broken = await fetch(thumbnails[files.broken.uuid]);
    assert.equal(broken.status, 422);
    assert.equal(((await broken.json()) as { code: string }).code, 'MEDIA_UNREADABLE');
  });
});
