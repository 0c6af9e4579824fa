import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs, parseIntOption, parseSize, UsageError } from '../../src/cli/args.js';

const specs = {
  to: { type: 'string', short: 't', description: '' },
  override: { type: 'boolean', description: '' },
  quiet: { type: 'boolean', short: 'q', description: '' },
} as const;

describe('parseArgs', () => {
  it('separates positionals from options, in any order', () => {
    const r = parseArgs(['a.txt', '--to', '/x', 'b.txt', '--override'], specs);
    assert.deepEqual(r.positionals, ['a.txt', 'b.txt']);
    assert.deepEqual(r.options, { to: '/x', override: true });
    assert.equal(r.help, false);
  });

  it('accepts --name=value, -t value, -tvalue and -t=value', () => {
    assert.equal(parseArgs(['--to=/a=b'], specs).options.to, '/a=b');
    assert.equal(parseArgs(['-t', '/b'], specs).options.to, '/b');
    assert.equal(parseArgs(['-t/c'], specs).options.to, '/c');
    assert.equal(parseArgs(['-t=/d'], specs).options.to, '/d');
  });

  it('takes an option value that starts with a dash when it follows the option', () => {
    assert.equal(parseArgs(['--to', '-weird'], specs).options.to, '-weird');
  });

  it('keeps everything after -- and a lone - as positionals', () => {
    const r = parseArgs(['-', '--', '--to', '-q'], specs);
    assert.deepEqual(r.positionals, ['-', '--to', '-q']);
    assert.deepEqual(r.options, {});
  });

  it('lets the last occurrence win', () => {
    assert.equal(parseArgs(['--to', '/a', '--to', '/b'], specs).options.to, '/b');
  });

  it('notices --help and -h', () => {
    assert.equal(parseArgs(['x', '--help'], specs).help, true);
    assert.equal(parseArgs(['-h'], specs).help, true);
    assert.equal(parseArgs(['--', '--help'], specs).help, false);
  });

  it('refuses unknown options, missing values and values for flags', () => {
    assert.throws(
      () => parseArgs(['--nope'], specs),
      (e: Error) => e instanceof UsageError && /unknown option --nope/.test(e.message),
    );
    assert.throws(() => parseArgs(['-x'], specs), /unknown option -x/);
    assert.throws(() => parseArgs(['--to'], specs), /--to needs a value/);
    assert.throws(() => parseArgs(['--override=yes'], specs), /takes no value/);
  });

  it('does not treat inherited object keys as options', () => {
    assert.throws(() => parseArgs(['--constructor'], specs), /unknown option/);
  });
});

describe('parseSize', () => {
  it('reads plain bytes', () => {
    assert.equal(parseSize('0'), 0);
    assert.equal(parseSize('1048576'), 1048576);
  });

  it('reads binary units, in any case, with or without B/iB', () => {
    assert.equal(parseSize('500M'), 500 * 1024 ** 2);
    assert.equal(parseSize('10G'), 10 * 1024 ** 3);
    assert.equal(parseSize('10g'), 10 * 1024 ** 3);
    assert.equal(parseSize('10GB'), 10 * 1024 ** 3);
    assert.equal(parseSize('10GiB'), 10 * 1024 ** 3);
    assert.equal(parseSize('1T'), 1024 ** 4);
    assert.equal(parseSize('64k'), 65536);
    assert.equal(parseSize(' 2 M '), 2 * 1024 ** 2);
    assert.equal(parseSize('100B'), 100);
  });

  it('reads fractions, rounding down to whole bytes', () => {
    assert.equal(parseSize('1.5G'), 1.5 * 1024 ** 3);
    assert.equal(parseSize('0.5K'), 512);
    assert.equal(parseSize('1.0001K'), 1024);
  });

  it('refuses what is not a size', () => {
    for (const bad of ['', 'G', '-1', '-5G', '10X', '1e9', '10 G B', 'iB', '5iB', '1..5G', 'ten']) {
      assert.throws(() => parseSize(bad), UsageError, bad);
    }
  });

  it('refuses sizes beyond what a number holds exactly', () => {
    assert.throws(() => parseSize('999999999P'), /too large/);
  });
});

describe('parseIntOption', () => {
  it('gives the fallback when absent and checks the range', () => {
    assert.equal(parseIntOption(undefined, 'parallel', 4, 1, 32), 4);
    assert.equal(parseIntOption('8', 'parallel', 4, 1, 32), 8);
    assert.throws(() => parseIntOption('0', 'parallel', 4, 1, 32), /between 1 and 32/);
    assert.throws(() => parseIntOption('2.5', 'parallel', 4, 1, 32), /whole number/);
    assert.throws(() => parseIntOption('x', 'parallel', 4, 1, 32), /whole number/);
  });
});
