// Media on a server whose content is in an S3 bucket (s3rver on 127.0.0.1): ffprobe and ffmpeg
// read the content through a presigned address with ranges, text subtitles are read through the
// store; nothing is copied to the local disk for them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fixture, putFile, SRT } from '../support/media-fixtures.js';
import { startS3, type TestS3 } from '../support/s3-server.js';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { storedBlobs } from '../support/upload.js';

const CHROMIUM = { video: ['h264', 'vp8', 'vp9', 'av1'], audio: ['aac', 'mp3', 'opus', 'vorbis', 'flac'] };

describe('media on the S3 store', { timeout: 180_000 }, () => {
  let s3: TestS3;
  let server: TestServer;
  let alice: Client;

  before(async () => {
    s3 = await startS3();
    server = await startServer({ ...s3.env('media'), OPENPAN_TRANSCODE_MAX: '1' });
    alice = await server.newUser('alice');
    await alice.call('/v1/files/createDirectory', { path: '/Films' });
    for (const name of ['h264-aac.mp4', 'hevc-ac3.mkv'] as const) await putFile(alice, '/Films', name, fixture(name));
    await putFile(alice, '/Films', 'hevc-ac3.srt', Buffer.from(SRT));
  });
  after(async () => {
    await server?.close();
    await s3?.close();
  });

  test('ffprobe reads the content from the bucket: codecs and duration', async () => {
    const answer = await alice.call('/v1/media/info', { path: '/Films/h264-aac.mp4', ...CHROMIUM });
    assert.equal(answer.mode, 'direct');
    assert.equal(answer.videoCodec, 'h264');
    assert.equal(answer.audioCodec, 'aac');
    assert.deepEqual(await storedBlobs(server.dataDir), []);
  });

  test('an HLS segment and the subtitles (the SRT beside the video, the stream inside it) are made from the bucket', async () => {
    const answer = await alice.call('/v1/media/info', { path: '/Films/hevc-ac3.mkv', ...CHROMIUM });
    assert.equal(answer.mode, 'hls');
    const segment = await fetch(new URL('00000.ts', answer.url));
    assert.equal(segment.status, 200);
    const bytes = Buffer.from(await segment.arrayBuffer());
    assert.equal(bytes[0], 0x47, 'MPEG-TS sync byte');
    assert.deepEqual(
      answer.subtitles.map((s: { label: string }) => s.label),
      ['hevc-ac3.srt', 'eng'],
    );
    assert.match(await (await fetch(answer.subtitles[0].url)).text(), /^WEBVTT\n\n1\n00:00:00\.000 --> 00:00:03\.500\nHello from the side file/);
    assert.match(await (await fetch(answer.subtitles[1].url)).text(), /Hello from the container/);
  });

  test("a thumbnail is a JPEG of the video's frame, made from the bucket", async () => {
    const thumbnails = await alice.call('/v1/media/thumbnails', { path: '/Films' });
    const file = await alice.call('/v1/files/get', { path: '/Films/h264-aac.mp4' });
    const answer = await fetch(thumbnails[file.uuid]);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual([...Buffer.from(await answer.arrayBuffer()).subarray(0, 2)], [0xff, 0xd8]);
  });
});
