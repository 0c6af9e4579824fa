// The order people expect of names in a listing, as a string the database compares byte by
// byte (SQLite's BINARY collation, i.e. code point order): stored beside the name, indexed,
// so a page of a 100,000-entry folder is read along an index, never sorted.
//
//   - case-insensitive, width-insensitive and accent-insensitive: "apple" < "Banana" < "cherry",
//     "Äpfel" next to "apfel", "ｆｉｌｅ" next to "file";
//   - numbers by value: "file2" < "file10" (a run of digits sorts by its length without leading
//     zeros, then by its digits), and before letters, as in file managers;
//   - names equal by these rules ("a" and "A", "file01" and "file1") are ordered by the name
//     itself, in code point order: the listing query's tie-break, so the order is total.

const DIGITS_RE = /[0-9]+/g;
const MARKS_RE = /\p{M}+/gu;
/** Starts every number in a key. It is '0', so numbers sort where digits do: after space and most punctuation, before letters. */
const NUMBER_MARK = '0';

/**
 * A run of digits as a key part: the mark, a character for its length without leading zeros
 * (a longer number is a larger one), then the digits. Nothing else in a key follows the mark,
 * since every '0' of a name is inside a run of digits.
 */
function numberKey(digits: string): string {
  const significant = digits.replace(/^0+(?=.)/, '');
  return NUMBER_MARK + String.fromCharCode(0x30 + significant.length) + significant;
}

/** The primary sort key of a name (see above); compare keys by code point, then the names. */
export function nameSortKey(name: string): string {
  // Compatibility decomposition folds widths and ligatures and splits accents off their letters;
  // upper then lower case folds "ß" to "ss" and "ς" to "σ"; NFC puts Hangul syllables, which
  // decomposition split into letters, together again.
  const folded = name.normalize('NFKD').toUpperCase().toLowerCase().normalize('NFKD').replace(MARKS_RE, '').normalize('NFC');
  return folded.replace(DIGITS_RE, numberKey);
}

/** Compares two names as a listing orders them (for tests and in-memory sorts). */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(nameSortKey(a)), Buffer.from(nameSortKey(b))) || Buffer.compare(Buffer.from(a), Buffer.from(b));
}
