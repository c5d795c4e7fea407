import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  escapePropertyKey,
  escapePropertyValue,
  parseProperties,
  propertiesToMap,
  stringifyProperties,
} from '../../../src/config/properties.js';

function read(text: string): Map<string, string> {
  const parsed = parseProperties(text);
  assert.deepEqual(parsed.errors, []);
  return propertiesToMap(parsed);
}

test('#, ! and blank lines are ignored, even when indented', () => {
  const text = '# a comment\n! another\n\n   # indented comment\n\t\nlog.dirs=/data\n';
  assert.deepEqual([...read(text)], [['log.dirs', '/data']]);
});

test('=, : and whitespace all separate key from value, with blanks around them dropped', () => {
  const text = 'a=1\nb: 2\nc 3\nd   =   4\ne\t:\t5\nf = = 6\ng\nh=\n';
  assert.deepEqual(
    [...read(text)],
    [
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
      ['d', '4'],
      ['e', '5'],
      ['f', '= 6'],
      ['g', ''],
      ['h', ''],
    ],
  );
});

test('a trailing backslash continues the line and the next line loses its indentation', () => {
  const text = 'listeners = PLAINTEXT://:9092,\\\n            SSL://:9093\nnext=1\n';
  assert.deepEqual(
    [...read(text)],
    [
      ['listeners', 'PLAINTEXT://:9092,SSL://:9093'],
      ['next', '1'],
    ],
  );
});

test('a continued line starting with # is data, not a comment', () => {
  assert.deepEqual([...read('k = a\\\n  #b\n')], [['k', 'a#b']]);
});

test('an even number of trailing backslashes does not continue the line', () => {
  assert.deepEqual(
    [...read('k = a\\\\\nj = b\n')],
    [
      ['k', 'a\\'],
      ['j', 'b'],
    ],
  );
});

test('a continuation into an empty line ends the value; a backslash at the end of the file is dropped', () => {
  assert.deepEqual(
    [...read('k = a\\\n\nj = b\\')],
    [
      ['k', 'a'],
      ['j', 'b'],
    ],
  );
});

test('escapes: \\t \\n \\r \\f \\uXXXX, escaped separators and spaces in keys', () => {
  const map = read('my\\ key\\=x = tab\\there\\nnew\\u0041\\\\ \\:\\#\\!\\q\n');
  assert.deepEqual([...map], [['my key=x', 'tab\there\nnewA\\ :#!q']]);
});

test('trailing spaces of a value are kept; CRLF and CR line endings work', () => {
  assert.deepEqual(
    [...read('a=1  \r\nb=2\rc=3')],
    [
      ['a', '1  '],
      ['b', '2'],
      ['c', '3'],
    ],
  );
});

test('the last of repeated keys wins; every entry keeps its line number', () => {
  const parsed = parseProperties('a=1\n\n# c\nb=2\na=3\n');
  assert.deepEqual(
    parsed.entries.map((e) => [e.key, e.value, e.line]),
    [
      ['a', '1', 1],
      ['b', '2', 4],
      ['a', '3', 5],
    ],
  );
  assert.deepEqual(propertiesToMap(parsed).get('a'), '3');
});

test('a malformed \\u escape is reported with its line and the line is skipped', () => {
  const parsed = parseProperties('a=1\nb=\\u12G4\nc=3\n');
  assert.deepEqual(parsed.errors, [{ line: 2, message: 'Malformed \\uxxxx encoding.' }]);
  assert.deepEqual([...propertiesToMap(parsed).keys()], ['a', 'c']);
});

const anyText = fc.string({ unit: 'binary', maxLength: 20 });
const entriesArb = fc.uniqueArray(fc.tuple(anyText, anyText), { selector: (e) => e[0], maxLength: 12 });

test('property: any map written by stringifyProperties reads back identically', () => {
  fc.assert(
    fc.property(entriesArb, (entries) => {
      const map = new Map(entries);
      assert.deepEqual(read(stringifyProperties(map, 'generated\nfor a test')), map);
    }),
  );
});

/** Positions in an escaped string where a line may be broken: between escapes, before a non-blank. */
function safeBreaks(escaped: string): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < escaped.length) {
    if (i > 0 && escaped[i] !== ' ') out.push(i);
    if (escaped[i] === '\\') i += escaped[i + 1] === 'u' ? 6 : 2;
    else i += 1;
  }
  return out;
}

test('property: separators, indentation, comments, continuations and line endings do not change the map', () => {
  const layout = fc.record({
    separator: fc.constantFrom('=', ':', ' = ', ' : ', ' ', '\t', '   :'),
    indent: fc.constantFrom('', ' ', '\t', '  \f'),
    comment: fc.option(fc.constantFrom('# note', '! note', '   # indented', ''), { nil: undefined }),
    breakAt: fc.array(fc.nat(), { maxLength: 3 }),
    contIndent: fc.constantFrom('', '  ', '\t'),
  });
  fc.assert(
    fc.property(
      entriesArb,
      fc.array(layout, { minLength: 12, maxLength: 12 }),
      fc.constantFrom('\n', '\r\n', '\r'),
      (entries, layouts, eol) => {
        let text = '';
        entries.forEach(([key, value], idx) => {
          const l = layouts[idx];
          assert.ok(l);
          if (l.comment !== undefined) text += l.comment + eol;
          const k = escapePropertyKey(key);
          // An empty key can only be written with an explicit = or : separator.
          const sep = k === '' && /^\s+$/.test(l.separator) ? '=' : l.separator;
          const v = escapePropertyValue(value);
          const breaks = safeBreaks(v);
          const cuts = [...new Set(l.breakAt.map((n) => breaks[n % Math.max(1, breaks.length)]))]
            .filter((n): n is number => n !== undefined)
            .sort((a, b) => a - b);
          let body = '';
          let from = 0;
          for (const cut of cuts) {
            body += `${v.slice(from, cut)}\\${eol}${l.contIndent}`;
            from = cut;
          }
          body += v.slice(from);
          text += `${l.indent}${k}${sep}${body}${eol}`;
        });
        assert.deepEqual(read(text), new Map(entries));
      },
    ),
  );
});
