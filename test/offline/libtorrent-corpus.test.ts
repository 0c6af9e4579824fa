// libtorrent's own test corpus (test/fixtures/torrents/libtorrent, copied from arvidn/libtorrent)
// through openpan's parser, as `start` runs it: parseTorrent, then assertDownloadable.
//
// - A torrent libtorrent loads parses here to the same torrent: info hashes, piece length and
//   count, and the same files (pad files and symlinks aside) with the same sizes and offsets.
//   Names libtorrent keeps as they are must be identical; names it rewrites (hostile or
//   undecodable ones) only have to come out safe, since each parser rewrites them its own way.
//   The download check may answer PROTOCOL_UNSUPPORTED (v2-only, layouts WebTorrent gets wrong),
//   never TORRENT_INVALID.
// - A torrent libtorrent refuses is TORRENT_INVALID here, with a reason.
// - Nothing escapes as anything but an AppError.
//
// src/torrent/README.md lists every remaining disagreement and every torrent parsed but
// not downloaded; this test holds both lists to the truth.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AppError } from '../../src/errors.js';
import { nameProblem } from '../../src/names/file-names.js';
import { assertDownloadable, destinationPath, MAX_NAME_CLASHES, parseTorrent, type TorrentMeta } from '../../src/torrent/metainfo.js';
import { buildV1 } from '../support/torrent-builder.js';

const DIR = join(import.meta.dirname, '../fixtures/torrents/libtorrent');
const PARSER_README = join(import.meta.dirname, '../../src/torrent/README.md');

interface ExpectedFile {
  path: string;
  size: number;
  offset: number;
  pad: boolean;
  symlink: boolean;
  /** libtorrent left the name as the torrent spells it (else it rewrote a hostile or undecodable name). */
  kept?: boolean;
}

type Expectation =
  | { file: string; expect: 'fail'; error: string; source: string }
  | {
      file: string;
      expect: 'load';
      source: string;
      name: string;
      nameKept: boolean;
      nameAlternatives?: string[];
      pieceLength: number;
      pieceCount: number;
      infoHash: string | null;
      infoHashV2: string | null;
      files: ExpectedFile[];
    };

const { torrents: EXPECTATIONS } = JSON.parse(readFileSync(join(DIR, 'expectations.json'), 'utf8')) as { torrents: Expectation[] };

const read = (file: string): Buffer => readFileSync(join(DIR, file));

/** The `file` cells of the table under a `### heading` of the parser's README. */
function readmeTable(heading: string): string[] {
  const text = readFileSync(PARSER_README, 'utf8');
  const start = text.indexOf(`### ${heading}`);
  assert.ok(start >= 0, `README has "### ${heading}"`);
  const section = text.slice(start + 4 + heading.length).split(/\n#{1,3} /)[0];
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.split('|')[1].trim().replace(/`/g, ''));
}

/** Every mismatch between what libtorrent expects of a torrent it loads and what openpan made of it. */
function layoutMismatches(e: Extract<Expectation, { expect: 'load' }>, meta: TorrentMeta): string[] {
  const out: string[] = [];
  const same = (what: string, ours: unknown, theirs: unknown) => ours !== theirs && out.push(`${what}: openpan ${String(ours)}, libtorrent ${String(theirs)}`);
  same('infoHash', meta.infoHash, e.infoHash);
  same('infoHashV2', meta.infoHashV2, e.infoHashV2);
  same('piece length', meta.pieceLength, e.pieceLength);
  same('piece count', meta.pieceCount, e.pieceCount);
  const names = [e.name, ...(e.nameAlternatives ?? [])];
  if (e.nameKept ? !names.includes(meta.name) : nameProblem(meta.name) !== null)
    out.push(`name: openpan ${JSON.stringify(meta.name)}, libtorrent ${JSON.stringify(e.name)}`);

  const theirs = e.files.filter((f) => !f.pad && !f.symlink);
  same('file count', meta.files.length, theirs.length);
  theirs.forEach((t, i) => {
    const ours = meta.files[i];
    if (ours === undefined) return;
    const segments = destinationPath(meta, ours);
    same(`file ${i} size`, ours.size, t.size);
    // libtorrent lays a hybrid out by its v2 tree, where empty files sit elsewhere; its own
    // v1/v2 comparison ignores them too.
    if (t.size > 0) same(`file ${i} offset`, ours.offset, t.offset);
    const unsafe = segments.find((s) => nameProblem(s) !== null);
    if (unsafe !== undefined) out.push(`file ${i}: unsafe segment ${JSON.stringify(unsafe)}`);
    if (t.kept) {
      const path = segments.join('/');
      const spellings = names.map((n) => (e.name === n ? t.path : n + t.path.slice(e.name.length)));
      if (!spellings.includes(path)) out.push(`file ${i} path: openpan ${JSON.stringify(path)}, libtorrent ${JSON.stringify(t.path)}`);
    }
  });
  return out;
}

interface Outcome {
  file: string;
  agrees: boolean;
  crashed: boolean;
  /** Set when a torrent libtorrent loads parses but is not downloaded here. */
  unsupported: string | null;
  detail: string;
}

function judge(e: Expectation): Outcome {
  const outcome: Outcome = { file: e.file, agrees: false, crashed: false, unsupported: null, detail: '' };
  let meta: TorrentMeta;
  try {
    meta = parseTorrent(read(e.file));
    assertDownloadable(meta);
  } catch (err) {
    if (!(err instanceof AppError)) {
      outcome.crashed = true;
      outcome.detail = `crashed: ${err instanceof Error ? err.stack : String(err)}`;
      return outcome;
    }
    outcome.detail = `${err.code}: ${err.message}`;
    if (e.expect === 'fail') {
      outcome.agrees = err.code === 'TORRENT_INVALID' && err.message.length > 'Invalid torrent: '.length;
      return outcome;
    }
    if (err.code !== 'PROTOCOL_UNSUPPORTED') return outcome;
    // Parsed, but the engine cannot download it: the parse must still agree with libtorrent.
    outcome.unsupported = err.message;
    meta = parseTorrent(read(e.file));
  }
  if (e.expect === 'fail') {
    outcome.detail = `accepted a torrent libtorrent refuses with ${e.error}`;
    return outcome;
  }
  const mismatches = layoutMismatches(e, meta);
  outcome.agrees = mismatches.length === 0;
  if (!outcome.agrees) outcome.detail = mismatches.join('; ');
  return outcome;
}

describe('libtorrent test corpus', () => {
  test('every .torrent of the corpus has an expectation from libtorrent, and every expectation its file', () => {
    const files = readdirSync(DIR)
      .filter((f) => f.endsWith('.torrent'))
      .sort();
    assert.deepEqual(EXPECTATIONS.map((e) => e.file).sort(), files);
    assert.ok(files.length >= 100, `${files.length} files`);
    assert.ok(EXPECTATIONS.some((e) => e.expect === 'load') && EXPECTATIONS.some((e) => e.expect === 'fail'));
  });

  test('openpan agrees with libtorrent on at least 98% of it, never crashes, and the README lists every difference', () => {
    const outcomes = EXPECTATIONS.map(judge);
    const crashes = outcomes.filter((o) => o.crashed);
    const agreeing = outcomes.filter((o) => o.agrees).length;
    const percent = (100 * agreeing) / outcomes.length;
    const unsupported = outcomes.filter((o) => o.agrees && o.unsupported !== null);
    console.log(
      `libtorrent corpus: openpan agrees on ${agreeing}/${outcomes.length} torrents (${percent.toFixed(1)}%), ` +
        `${crashes.length} crashes; ${unsupported.length} of the agreeing ones parse but are not downloaded (PROTOCOL_UNSUPPORTED)`,
    );
    assert.deepEqual(
      crashes.map((o) => `${o.file}: ${o.detail}`),
      [],
    );

    const disagreements = outcomes.filter((o) => !o.agrees);
    const listed = readmeTable('Disagreements');
    assert.deepEqual(
      disagreements.map((o) => o.file).sort(),
      [...listed].sort(),
      `disagreements now:\n${disagreements.map((o) => `  ${o.file}: ${o.detail}`).join('\n')}`,
    );
    assert.ok(percent >= 98, `${percent.toFixed(1)}% < 98%`);
    assert.deepEqual(unsupported.map((o) => o.file).sort(), [...readmeTable('Parsed but not downloaded')].sort());
  });

  test('an empty file and every truncation of a torrent libtorrent loads are TORRENT_INVALID', () => {
    const refused = (bytes: Buffer, what: string) =>
      assert.throws(
        () => parseTorrent(bytes),
        (err: unknown) => err instanceof AppError && err.code === 'TORRENT_INVALID' && err.message.length > 0,
        what,
      );
    refused(Buffer.alloc(0), 'empty file');
    refused(Buffer.from('\n'), 'a newline alone');
    for (const e of EXPECTATIONS) {
      if (e.expect !== 'load') continue;
      const bytes = read(e.file);
      let end = bytes.length;
      while (bytes[end - 1] === 0x0a) end--; // a trailing newline is not part of the torrent
      // Cut points spread over the file, and the last few bytes, where a cut leaves most intact.
      const cuts = new Set<number>([end - 1, end - 2, end - 3]);
      for (let k = 0; k < 40; k++) cuts.add(Math.floor((end * k) / 40));
      for (const n of cuts) if (n >= 0) refused(bytes.subarray(0, n), `${e.file} cut to ${n} of ${end} bytes`);
    }
  });
});

describe('libtorrent rules openpan now follows', () => {
  const parse = (file: string) => parseTorrent(read(file));
  const refusedWith = (fn: () => unknown, code: string, pattern: RegExp) =>
    assert.throws(fn, (err: unknown) => err instanceof AppError && err.code === code && pattern.test(err.message));

  test('a trailing newline after the torrent is ignored; any other trailing byte is not', () => {
    const bytes = read('large_piece_size.torrent');
    assert.equal(bytes[bytes.length - 1], 0x0a);
    const good = read('base.torrent');
    assert.equal(parseTorrent(Buffer.concat([good, Buffer.from('\r\n \t')])).infoHash, parseTorrent(good).infoHash);
    refusedWith(() => parseTorrent(Buffer.concat([good, Buffer.from('\nx')])), 'TORRENT_INVALID', /trailing data/);
  });

  test('a pad file without a path is a pad file; WebTorrent cannot load it, an engine that reads BEP 47 can', () => {
    const meta = parse('pad_file_no_path.torrent');
    assert.deepEqual(
      meta.files.map((f) => [f.path.join('/'), f.size]),
      [['foo/bar.txt', 45]],
    );
    assert.equal(meta.engineFileCount, 2);
    assert.equal(meta.streamSize, 45 + 2124);
    refusedWith(() => assertDownloadable(meta), 'PROTOCOL_UNSUPPORTED', /pad file without "path"/);
    assertDownloadable(meta, { bep47: true });
  });

  test('symlinks take no bytes of the payload and are not files, whatever their "length" says', () => {
    const one = parse('symlink1.torrent'); // the symlink claims 425 bytes
    assert.deepEqual(
      one.files.map((f) => f.path.join('/')),
      ['a/b/bar'],
    );
    assert.equal(one.streamSize, 425);
    refusedWith(() => assertDownloadable(one), 'PROTOCOL_UNSUPPORTED', /symlink whose "length" is 425/);

    const noLength = parse('symlink_zero_size.torrent');
    assert.deepEqual(
      noLength.files.map((f) => f.path.join('/')),
      ['a/b/bar'],
    );
    refusedWith(() => assertDownloadable(noLength), 'PROTOCOL_UNSUPPORTED', /symlink/);

    // Symlinks of length 0 lay out the same for every engine: downloadable.
    const framework = parse('symlink2.torrent');
    assert.deepEqual(
      framework.files.map((f) => f.path.join('/')),
      ['Versions/A/_CodeSignature/CodeResources', 'Versions/A/Resources/Info.plist', 'Versions/A/SDL2'],
    );
    assertDownloadable(framework);

    const v2 = parse('v2_symlinks.torrent');
    assert.equal(v2.files.length, 3);
    assert.ok(v2.files.every((f) => f.size > 0));
    refusedWith(() => parse('invalid_symlink.torrent'), 'TORRENT_INVALID', /only byte strings/);
  });

  test('a torrent whose files are all empty parses, but there is nothing to download', () => {
    for (const file of ['zero.torrent', 'zero2.torrent']) {
      const meta = parse(file);
      assert.equal(meta.totalSize, 0);
      refusedWith(() => assertDownloadable(meta), 'TORRENT_INVALID', /nothing to download/);
    }
  });

  test('v2: pieces roots, piece layers and their merkle roots are checked', () => {
    refusedWith(() => parse('v2_zero_root.torrent'), 'TORRENT_INVALID', /"pieces root" is all zeros/);
    refusedWith(() => parse('v2_zero_root_small.torrent'), 'TORRENT_INVALID', /"pieces root" is all zeros/);
    refusedWith(() => parse('v2_invalid_pad_file.torrent'), 'TORRENT_INVALID', /cannot be a pad file/);
    refusedWith(() => parse('v2_piece_layer_invalid_file_hash.torrent'), 'TORRENT_INVALID', /33 bytes, not a 32-byte pieces root/);
    refusedWith(() => parse('v2_unknown_piece_layer_entry.torrent'), 'TORRENT_INVALID', /belongs to no file/);
    refusedWith(() => parse('v2_non_multiple_piece_layer.torrent'), 'TORRENT_INVALID', /32-byte hashes/);
    refusedWith(() => parse('v2_unordered_files.torrent'), 'TORRENT_INVALID', /canonical bencode.*not sorted/);
    // A layer of the right size whose hashes do not lead to the root: refused when the download starts.
    for (const file of ['v2_invalid_piece_layer_root.torrent', 'v2_invalid_root_hash.torrent']) {
      const meta = parse(file);
      assert.match(meta.refusal ?? '', /does not hash to its "pieces root"/);
      refusedWith(() => assertDownloadable(meta, { v2: true }), 'TORRENT_INVALID', /does not hash/);
    }
    // Real layers verify, including a file whose last piece is short and a layer padded to a power of two.
    for (const file of ['v2_only.torrent', 'v2_multiple_files.torrent', 'v2_hybrid.torrent', 'v2_empty_file.torrent', 'v2_symlinks.torrent']) {
      assert.equal(parse(file).refusal, null, file);
    }
    // Some files without a layer is fine, like a torrent made from a magnet link.
    assert.equal(parse('v2_incomplete_piece_layer.torrent').refusal, null);
  });

  test('hybrid: the v1 list and the v2 tree must name the same files at the same offsets', () => {
    refusedWith(() => parse('v2_mismatching_metadata.torrent'), 'TORRENT_INVALID', /v1 file "test1MB" and the v2 file "_est1MB" disagree/);
    refusedWith(() => parse('v2_bad_file_alignment.torrent'), 'TORRENT_INVALID', /./);
    // Hybrids written without tail padding (libtorrent 2.0.0–2.0.7) still load.
    assert.equal(parse('v2_hybrid-missing-tailpad.torrent').files.length, parse('v2_hybrid.torrent').files.length);
  });

  test(`files sharing a path: numbering them may take ${MAX_NAME_CLASHES} tries, not more`, () => {
    refusedWith(() => parse('duplicate_files2.torrent'), 'TORRENT_INVALID', /share a name.*more than 500 tries/);
    assert.equal(parse('duplicate_files.torrent').files.length, 2);
    // n files of one name take (n-1)(n-2)/2 failed tries: 33 files take 496, 34 take 528.
    const alike = (n: number) => buildV1({ name: 'dups', files: Array.from({ length: n }, () => ({ path: ['a.txt'], size: 1 })) }).torrent;
    assert.equal(parseTorrent(alike(33)).files.length, 33);
    refusedWith(() => parseTorrent(alike(34)), 'TORRENT_INVALID', /more than 500 tries/);
    // Many different pairs are cheap to number and stay allowed.
    const pairs = buildV1({ name: 'pairs', files: Array.from({ length: 2000 }, (_, i) => ({ path: [`f${i >> 1}`], size: 1 })) }).torrent;
    assert.equal(parseTorrent(pairs).files.length, 2000);
  });

  test('an "attr" that is not a byte string is ignored, as libtorrent ignores it', () => {
    const { torrent } = buildV1({ name: 'attr', files: [{ path: ['a'], size: 3, extra: { attr: 7 } }] });
    assert.equal(parseTorrent(torrent).files.length, 1);
  });
});
