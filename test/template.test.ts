import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TspodError } from '../src/core/errors.js';
import {
  compileTemplate,
  defaultHeader,
  goJson,
  goSprintf,
  renderFormat,
  renderInspect,
  renderTemplate,
  tabwrite,
  toJsonArray,
} from '../src/core/template/index.js';

// Expected outputs marked "podman" were produced by podman 4.3's Go text/template
// (`podman info --format ...`) on equivalent data.

const image = {
  Id: 'sha256:0123',
  RepoTags: ['alpine:latest', 'alpine:3.19'],
  Config: {
    Cmd: ['/bin/sh', '-c', 'echo hi'],
    Env: ['PATH=/usr/bin', 'TERM=xterm'],
    Labels: { 'org.opencontainers.image.title': 'alpine', maintainer: 'me' },
    ExposedPorts: null,
    Volumes: {},
  },
  RootFS: { Type: 'layers', Layers: ['sha256:aa', 'sha256:bb'] },
  Size: 7_800_000,
  Ratio: 0.5,
  Os: 'linux',
  Dangling: false,
};

const r = (format: string, data: unknown = image): string => renderTemplate(format, data);

function throwsTspod(fn: () => unknown, line: string): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, TspodError);
    assert.is((e as TspodError).exitCode, 125);
    assert.is((e as TspodError).line, line);
    return;
  }
  assert.unreachable(`no error; expected ${line}`);
}

test('fields, nested fields, map keys and missing values', () => {
  assert.is(r('{{.Os}}'), 'linux');
  assert.is(r('{{.Config.Cmd}}'), '[/bin/sh -c echo hi]');
  assert.is(r('{{.RootFS.Layers}}'), '[sha256:aa sha256:bb]');
  assert.is(r('{{.Config.Labels.maintainer}}'), 'me');
  assert.is(r('{{index .Config.Labels "org.opencontainers.image.title"}}'), 'alpine');
  assert.is(r('{{.Nope}}|{{.Config.Nope}}|{{.Nope.Deeper}}'), '<no value>|<no value>|<no value>');
  // A null map (Go: nil map) yields no value for any key rather than an error.
  assert.is(r('{{.Config.ExposedPorts}}|{{.Config.ExposedPorts.x}}'), '<no value>|<no value>');
  assert.is(r('{{.}}', 'plain'), 'plain');
  assert.is(r('{{$}}', 42), '42');
  assert.is(r('{{(index .RepoTags 1)}}|{{(.RootFS).Type}}'), 'alpine:3.19|layers');
  assert.is(r('{{with $c := .Config}}{{$c.Env}}{{end}}'), '[PATH=/usr/bin TERM=xterm]');
  assert.is(r('plain text with } and {'), 'plain text with } and {');
});

test("Go's default printing of values", () => {
  const data = {
    list: ['a', 'b', 'c'],
    nested: [['a', 'b'], [], [1, 2]],
    map: { z: 1, a: 'x', m: [true, false] },
    empty: {},
    big: 1e21,
    float: 2.5,
    tiny: 1e-7,
    neg: -3,
    withNull: ['a', null],
    yes: true,
  };
  assert.is(r('{{.list}}', data), '[a b c]');
  assert.is(r('{{.nested}}', data), '[[a b] [] [1 2]]');
  assert.is(r('{{.map}}', data), 'map[a:x m:[true false] z:1]');
  assert.is(r('{{.empty}}', data), 'map[]');
  assert.is(r('{{.big}}|{{.float}}|{{.tiny}}|{{.neg}}', data), '1000000000000000000000|2.5|1e-07|-3');
  assert.is(r('{{.withNull}}|{{.yes}}', data), '[a <nil>]|true');
  assert.is(r('{{.Size}}'), '7800000');
});

test('variables, assignment and scopes', () => {
  assert.is(r('{{$x := .Os}}{{$x}}'), 'linux');
  assert.is(r('{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}'), '2');
  assert.is(r('{{range .RepoTags}}{{$.Os}}:{{.}} {{end}}'), 'linux:alpine:latest linux:alpine:3.19 ');
  assert.is(r('{{range $i, $e := .RootFS.Layers}}{{$i}}={{$e}};{{end}}'), '0=sha256:aa;1=sha256:bb;');
  assert.is(r('{{range $e := .RootFS.Layers}}{{$e}} {{end}}'), 'sha256:aa sha256:bb ');
  assert.is(r('{{with $x := 1}}{{$x}}{{else}}{{$x}}{{end}}'), '1');
  throwsTspod(() => r('{{if 1}}{{$x := 2}}{{end}}{{$x}}'), 'template: invalid format "{{if 1}}{{$x := 2}}{{end}}{{$x}}": undefined variable "$x"');
  throwsTspod(() => r('{{$x = 1}}'), 'template: cannot execute "{{$x = 1}}": at <$x>: undefined variable: $x');
});

test('range over slices, maps (sorted keys), integers and nothing; else, break and continue', () => {
  assert.is(r('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}'), 'maintainer=me;org.opencontainers.image.title=alpine;');
  assert.is(r('{{range .Config.Volumes}}x{{else}}none{{end}}'), 'none');
  assert.is(r('{{range .Config.ExposedPorts}}x{{else}}none{{end}}|{{range .Nope}}x{{else}}none{{end}}'), 'none|none');
  assert.is(r('{{range 3}}{{.}}{{end}}'), '012');
  assert.is(r('{{range $i := 1000000000}}{{if eq $i 3}}{{break}}{{end}}{{$i}}{{end}}'), '012');
  assert.is(r('{{range $i, $e := .Config.Env}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{end}}'), 'TERM=xterm');
  assert.is(r('{{range .Config.Cmd}}{{if eq . "-c"}}{{break}}{{end}}{{.}}{{end}}'), '/bin/sh');
  throwsTspod(() => r('{{range .Os}}{{end}}'), 'template: cannot execute "{{range .Os}}{{end}}": at <.Os>: range can\'t iterate over linux');
  throwsTspod(() => r('{{break}}'), 'template: invalid format "{{break}}": {{break}} outside {{range}}');
});

test('if / else if / else, with / else with, and truth', () => {
  const f = '{{if eq .Os "windows"}}win{{else if .Dangling}}dangling{{else if .RepoTags}}tagged{{else}}none{{end}}';
  assert.is(r(f), 'tagged');
  assert.is(r(f, { Os: 'linux', Dangling: true }), 'dangling');
  assert.is(r(f, { Os: 'linux', RepoTags: [] }), 'none');
  assert.is(r('{{with .Config}}{{.Cmd}}{{end}}'), '[/bin/sh -c echo hi]');
  assert.is(r('{{with .Config.Volumes}}x{{else with .RootFS}}{{.Type}}{{end}}'), 'layers');
  assert.is(r('{{if 0}}a{{end}}{{if ""}}b{{end}}{{if .Config.Volumes}}c{{end}}{{if .Ratio}}d{{end}}'), 'd');
});

test('pipelines pass the value as the last argument', () => {
  assert.is(r('{{.Os | upper}}'), 'LINUX');
  assert.is(r('{{.Os | printf "%s-%s" "a"}}'), 'a-linux');
  assert.is(r('{{.Config.Cmd | len | printf "%03d"}}'), '003');
  assert.is(r('{{.Os |}}'), 'linux');
  assert.is(r('{{"x" | and 1}}|{{0 | or ""}}'), 'x|0');
  throwsTspod(() => r('{{"x" | .Os}}'), 'template: cannot execute "{{\\"x\\" | .Os}}": at <.Os>: Os is not a method but has arguments');
  throwsTspod(() => r('{{1 | 2}}'), 'template: invalid format "{{1 | 2}}": non executable command in pipeline stage 2');
});

test('functions: json, index, len, join, split, upper, lower, title, truncate, pad, slice', () => {
  assert.is(r('{{json .RootFS.Layers}}'), '["sha256:aa","sha256:bb"]');
  assert.is(r('{{json .Config.Labels}}'), '{"org.opencontainers.image.title":"alpine","maintainer":"me"}');
  assert.is(r('{{json "a<b&c"}}|{{json .Nope}}|{{json 1.5}}'), '"a<b&c"|null|1.5');
  assert.is(r('{{index .RepoTags 1}}|{{index .Config.Labels "missing"}}'), 'alpine:3.19|<no value>');
  assert.is(r('{{len .RepoTags}}|{{len "héllo"}}|{{len .Config.Labels}}'), '2|6|2');
  assert.is(r('{{join .Config.Cmd " "}}|{{join .RepoTags ","}}'), '/bin/sh -c echo hi|alpine:latest,alpine:3.19');
  assert.is(r('{{split "a,b,c" ","}}|{{index (split .Id ":") 1}}|{{split "ab" ""}}'), '[a b c]|0123|[a b]');
  assert.is(r('{{upper .Os}}|{{lower "MiXed"}}|{{title "hello wORLD-x_y"}}'), 'LINUX|mixed|Hello WORLD-X_y');
  assert.is(r('{{truncate .Id 10}}|{{truncate "abc" 5}}|{{truncate "héllo" 2}}'), 'sha256:012|abc|hé');
  assert.is(r('[{{pad "a" 1 2}}]|[{{pad "" 1 2}}]'), '[ a  ]|[]');
  assert.is(r('{{slice "abcdef" 1 3}}|{{slice "abcdef" 2}}|{{slice .RepoTags 1}}'), 'bc|cdef|[alpine:3.19]');
  assert.is(r('{{html "<a href=\'x\'>&"}}|{{urlquery "a b&c"}}'), '&lt;a href=&#39;x&#39;&gt;&amp;|a+b%26c');
  throwsTspod(() => r('{{index .RepoTags 5}}'), 'template: cannot execute "{{index .RepoTags 5}}": at <index .RepoTags 5>: error calling index: index out of range: 5');
  throwsTspod(() => r('{{len 3}}'), 'template: cannot execute "{{len 3}}": at <len 3>: error calling len: len of type int');
  throwsTspod(() => r('{{upper .Size}}'), 'template: cannot execute "{{upper .Size}}": at <upper .Size>: wrong type for value; expected string; got int');
  throwsTspod(() => r('{{slice "abc" 2 1}}'), 'template: cannot execute "{{slice \\"abc\\" 2 1}}": at <slice "abc" 2 1>: error calling slice: invalid slice index: 2 > 1');
  throwsTspod(() => r('{{join .RepoTags}}'), 'template: cannot execute "{{join .RepoTags}}": at <join .RepoTags>: wrong number of args for join: want 2 got 1');
});

test('print, println and comparisons; and/or short-circuit', () => {
  assert.is(r('{{print 1 2 "a" "b" 3}}|{{println 1 "a"}}|{{print nil}}'), '1 2ab3|1 a\n|<nil>');
  assert.is(r('{{eq 1 1 2}}|{{eq "a" "b" "a"}}|{{ne 1 2}}|{{lt 1 2}}|{{le 2 2}}|{{gt "b" "a"}}|{{ge 1 2}}'), 'true|true|true|true|true|true|false');
  assert.is(r('{{eq .Nope .Nada}}|{{eq .Os .Nope}}|{{not ""}}|{{not .Os}}'), 'true|false|true|false');
  assert.is(r('{{and 1 0 2}}|{{or 0 "" "x"}}|{{and 1 2}}|{{or 0 ""}}'), '0|x|2|');
  // The second argument is never evaluated, so the failing index does not run.
  assert.is(r('{{or .Os (index .RepoTags 99)}}|{{and .Nope (index .RepoTags 99)}}'), 'linux|<no value>');
  throwsTspod(() => r('{{eq 1 "a"}}'), 'template: cannot execute "{{eq 1 \\"a\\"}}": at <eq 1 "a">: error calling eq: incompatible types for comparison');
  throwsTspod(() => r('{{lt true false}}'), 'template: cannot execute "{{lt true false}}": at <lt true false>: error calling lt: invalid type for comparison');
  throwsTspod(() => r('{{eq .RepoTags .RepoTags}}'), 'template: cannot execute "{{eq .RepoTags .RepoTags}}": at <eq .RepoTags .RepoTags>: error calling eq: invalid type for comparison');
});

test('printf verbs, flags and error markers like Go (podman)', () => {
  const p = (format: string, ...args: unknown[]): string => goSprintf(format, args);
  assert.is(p('%5.2f|%-10s|%q|%d|%x|%s', 3.14159, 'ab', 'x\ty', 42, 'hi', 5), ' 3.14|ab        |"x\\ty"|42|6869|%!s(int=5)');
  assert.is(
    p('%05s|%x|%X|%#x|%o|%b|%c|%U|%e|%g|%G|%8.3e|%t|%T|%T', 'ab', 255, 'hi', 255, 8, 5, 65, 65, 123456.789, 0.000012345, 1e21, 1234.5, true, 1.5, 's'),
    '000ab|ff|6869|0xff|10|101|A|U+0041|1.234568e+05|1.2345e-05|1E+21|1.234e+03|true|float64|string',
  );
  assert.is(p('%d %s', 1), '1 %!s(MISSING)');
  assert.is(p('%d', 1, 2), '1%!(EXTRA int=2)');
  assert.is(p('%!'), '%!!(MISSING)');
  assert.is(p('%z', 3), '%!z(int=3)');
  assert.is(p('%d|%s|%d', 'x', true, 1.5), '%!d(string=x)|%!s(bool=true)|%!d(float64=1.5)');
  assert.is(p('%-5d|%+d|% d|%05d|%.3d', 42, 42, 42, -42, 7), '42   |+42| 42|-0042|007');
  assert.is(p('%q|%q|%#q|%q', 'a"b\n\x01é☺', 65, 'ab', '\u2028'), '"a\\"b\\n\\x01é☺"|\'A\'|`ab`|"\\u2028"');
  assert.is(p('%v|%v|%.2v|%6.2f|%g|%g', 0.1, 100000.5, 3.14159, -2.5, 1e-5, 123456789.5), '0.1|100000.5|3.1| -2.50|1e-05|1.234567895e+08');
  // Exact ties round half to even, as Go's strconv does.
  assert.is(p('%.0f|%.0f|%.2f|%.2f|%.1f|%.0f', 2.5, 3.5, 0.125, 1.005, 0.001, 0.6), '2|4|0.12|1.00|0.0|1');
  assert.is(p('%x|%X|%o|%#o|%b|%08.3f|%+05d|%-05d|%x', -255, 3054, 8, 8, -5, -3.14159, 42, 42, 'é'), '-ff|BEE|10|010|-101|-003.142|+0042|42   |c3a9');
  assert.is(p('%[2]d %[1]d', 1, 2), '2 1');
  assert.is(p('%*d|%-*d|%%|%', 5, 3, 4, 7), '    3|7   |%|%!(NOVERB)');
  assert.is(p('%*d', 'x', 3), '%!(BADWIDTH)3');
  assert.is(p('%s|%v|%d|%s', ['a', 'b'], { k: 1 }, [1, 2], null), '[a b]|map[k:1]|[1 2]|%!s(<nil>)');
  assert.is(p('%-12s|%12s|%.3s', 'héllo', 'héllo', 'héllo'), 'héllo       |       héllo|hél');
  assert.is(r('{{printf "%-10s|%5.2f" .Os .Ratio}}'), 'linux     | 0.50');
  throwsTspod(() => r('{{printf}}'), 'template: cannot execute "{{printf}}": at <printf>: wrong number of args for printf: want at least 1 got 0');
});

test('literals: numbers, characters, strings and raw strings', () => {
  assert.is(r('{{-3}}|{{ -3 }}|{{0x1F}}|{{1_000}}|{{\'a\'}}|{{017}}|{{0o17}}|{{0b101}}|{{1.5e3}}|{{.5}}|{{+2}}'), '-3|-3|31|1000|97|15|15|5|1500|0.5|2');
  assert.is(r('{{"\\x41\\u00e9\\101\\t|"}}|{{`raw\\n`}}|{{true}}|{{false}}'), 'AéA\t||raw\\n|true|false');
});

test('whitespace trim markers and comments', () => {
  assert.is(r('{{23 -}} < {{- 45}}'), '23<45');
  assert.is(r('a  {{- .Os -}}  \n b'), 'alinuxb');
  assert.is(r('{{/* a comment */}}x{{- /* trimmed */ -}}  y'), 'xy');
  assert.is(r('{{range .RepoTags -}}\n  {{.}}\n{{- end}}'), 'alpine:latestalpine:3.19');
  throwsTspod(() => r('{{/* x */ }}'), 'template: invalid format "{{/* x */ }}": comment ends before closing delimiter');
  throwsTspod(() => r('{{/* x '), 'template: invalid format "{{/* x ": unclosed comment');
});

test('malformed templates and unknown functions are one-line TspodErrors (podman wording)', () => {
  const cases: [string, string][] = [
    ['{{.Foo', 'unclosed action'],
    ['{{foo .Host}}', 'function "foo" not defined'],
    ['{{end}}', 'unexpected {{end}}'],
    ['{{if 1}}x', 'unexpected EOF'],
    ['{{else}}', 'unexpected {{else}}'],
    ['{{range}}{{end}}', 'missing value for range'],
    ['{{.Host.}}', 'unexpected <.> in operand'],
    ['{{3x}}', 'bad number syntax: "3x"'],
    ['{{"abc}}', 'unterminated quoted string'],
    ['{{a#}}', "bad character U+0023 '#'"],
    ['{{|}}', 'unexpected "|" in command'],
    ['{{x := 1}}', 'function "x" not defined'],
    ['{{$y}}', 'undefined variable "$y"'],
    ['{{range $a, $b, $c := 1}}{{end}}', 'too many declarations in range'],
    ['{{$a, $b := 1}}', 'too many declarations in command'],
    ['{{"x".Foo}}', 'unexpected . after term "\\"x\\""'],
    ['{{else if 1}}', 'unexpected {{else}}'],
    ['{{(1}}', 'unclosed left paren'],
    ['{{1)}}', 'unexpected right paren'],
    ['{{define "x"}}{{end}}', '{{define}} is not supported'],
    ['a\n{{.X}}\n{{.Y', 'line 3: unclosed action'],
  ];
  for (const [format, detail] of cases) {
    throwsTspod(() => compileTemplate(format), `template: invalid format ${JSON.stringify(format).replace(/\\n/g, '\\n')}: ${detail}`);
  }
  throwsTspod(() => r('{{nil}}'), 'template: cannot execute "{{nil}}": at <nil>: nil is not a command');
  throwsTspod(() => r('{{1 2}}'), 'template: cannot execute "{{1 2}}": at <1>: can\'t give argument to non-function 1');
  throwsTspod(() => r('{{.Os.Foo}}'), 'template: cannot execute "{{.Os.Foo}}": at <.Os.Foo>: can\'t evaluate field Foo in type string');
  throwsTspod(() => r('{{.RepoTags.Foo}}'), 'template: cannot execute "{{.RepoTags.Foo}}": at <.RepoTags.Foo>: can\'t evaluate field Foo in type []interface {}');
});

const images = [
  { Repository: 'docker.io/library/alpine', Tag: 'latest', ID: 'c059bfaa849c', CreatedSince: '2 weeks ago', Size: '5.59MB', Labels: { a: '1' } },
  { Repository: 'busybox', Tag: '1.36', ID: 'a416a98b71e2', CreatedSince: '3 months ago', Size: '4.26MB', Labels: null },
];
const imageOpts = {
  defaultTable: 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}',
  headers: { ID: 'IMAGE ID', CreatedSince: 'CREATED' },
};

test('renderFormat: the default table looks like docker images', () => {
  const expected = [
    'REPOSITORY                 TAG       IMAGE ID       CREATED        SIZE',
    'docker.io/library/alpine   latest    c059bfaa849c   2 weeks ago    5.59MB',
    'busybox                    1.36      a416a98b71e2   3 months ago   4.26MB',
    '',
  ].join('\n');
  assert.is(renderFormat(undefined, images, imageOpts), expected);
  assert.is(renderFormat('table', images, imageOpts), expected);
  assert.is(renderFormat(undefined, [], imageOpts), 'REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n');
});

test('renderFormat: custom tables, typed \\t escapes, derived headers, header functions', () => {
  assert.is(
    renderFormat('table {{.ID}}\\t{{.Repository}}:{{.Tag}}', images, imageOpts),
    'IMAGE ID       REPOSITORY:TAG\nc059bfaa849c   docker.io/library/alpine:latest\na416a98b71e2   busybox:1.36\n',
  );
  // Fields without a header entry get their name split at CamelCase and upper-cased; string
  // functions leave the header alone (Docker's header functions).
  assert.is(
    renderFormat('table {{upper .Tag}}\t{{truncate .ID 4}}\t{{json .Labels}}\t{{.CreatedSince}}\t{{.Labels.a}}', images, { defaultTable: '' }),
    [
      ['TAG', 'ID', 'LABELS', 'CREATED SINCE', 'A'],
      ['LATEST', 'c059', '{"a":"1"}', '2 weeks ago', '1'],
      ['1.36', 'a416', 'null', '3 months ago', '<no value>'],
    ]
      .map(([tag, id, labels, created, a]) => `${tag!.padEnd(10)}${id!.padEnd(10)}${labels!.padEnd(12)}${created!.padEnd(16)}${a}\n`)
      .join(''),
  );
  // A header that fails to render (range over a header string) is printed up to the failure, as Docker does.
  assert.is(
    renderFormat('table {{.Tag}}\t{{range .Labels}}{{.}}{{end}}', images, imageOpts),
    'TAG       \nlatest    1\n1.36      \n',
  );
});

test('renderFormat: plain templates, json lines and newline handling', () => {
  assert.is(renderFormat('{{.ID}}', images, imageOpts), 'c059bfaa849c\na416a98b71e2\n');
  assert.is(renderFormat('{{.Repository}}\\t{{.Tag}}', images, imageOpts), 'docker.io/library/alpine\tlatest\nbusybox\t1.36\n');
  assert.is(renderFormat('{{.ID}}\\n', images, imageOpts), 'c059bfaa849c\na416a98b71e2\n');
  assert.is(renderFormat('{{.ID}}', [], imageOpts), '');
  const lines = renderFormat('json', images, imageOpts).split('\n');
  assert.is(lines.length, 3);
  assert.equal(JSON.parse(lines[0]!), images[0]);
  assert.is(lines[1], '{"Repository":"busybox","Tag":"1.36","ID":"a416a98b71e2","CreatedSince":"3 months ago","Size":"4.26MB","Labels":null}');
  assert.is(renderFormat('{{json .}}', images, imageOpts), renderFormat('json', images, imageOpts));
  throwsTspod(() => renderFormat('table {{.ID', [], imageOpts), 'template: invalid format "table {{.ID": unclosed action');
  throwsTspod(() => renderFormat('{{.ID.X}}', images, imageOpts), 'template: cannot execute "{{.ID.X}}": at <.ID.X>: can\'t evaluate field X in type string');
});

test('renderInspect: JSON array like docker inspect, or a template per value', () => {
  const values = [{ Id: 'x', Cmd: ['sh', '-c', 'a && b < c'], Empty: [] }];
  const expected = '[\n    {\n        "Id": "x",\n        "Cmd": [\n            "sh",\n            "-c",\n            "a \\u0026\\u0026 b \\u003c c"\n        ],\n        "Empty": []\n    }\n]\n';
  assert.is(renderInspect(undefined, values), expected);
  assert.is(renderInspect('json', values), expected);
  assert.is(renderInspect(undefined, []), '[]\n');
  assert.is(toJsonArray([]), '[]');
  assert.is(renderInspect('{{.Id}} {{json .Cmd}}', [...values, { Id: 'y' }]), 'x ["sh","-c","a && b < c"]\ny null\n');
  assert.is(renderInspect('{{json .}}', [{ a: 1 }]), '{"a":1}\n');
});

test('goJson: compact, U+2028/2029 escaped, missing as null', () => {
  assert.is(goJson({ a: [1, 'x'], b: undefined, c: null }), '{"a":[1,"x"],"b":null,"c":null}');
  assert.is(goJson('\u2028<'), '"\\u2028<"');
  assert.is(goJson('<&>', true), '"\\u003c\\u0026\\u003e"');
  assert.is(goJson(undefined), 'null');
});

test('tabwrite: Go tabwriter alignment with wide cells (Docker: minwidth 10, padding 3)', () => {
  assert.is(tabwrite('a\tb\tc\n'), 'a         b         c\n');
  assert.is(
    tabwrite('NAME\tID\nthe-very-long-name-of-a-container\t1\nx\t22\n'),
    `${'NAME'.padEnd(36)}ID\nthe-very-long-name-of-a-container   1\n${'x'.padEnd(36)}22\n`,
  );
  // Widths count characters, not bytes.
  assert.is(tabwrite('héllo\tx\nab\ty\n', { minWidth: 0, padding: 1 }), 'héllo x\nab    y\n');
  // The text after the last tab is not a column: it is never padded and does not widen anything.
  assert.is(tabwrite('a\tshort\nb\ta-much-much-longer-last-cell\n', { minWidth: 0, padding: 1 }), 'a short\nb a-much-much-longer-last-cell\n');
  // A trailing tab makes the last text a column cell (padded).
  assert.is(tabwrite('a\tb\t\n', { minWidth: 0, padding: 1 }), 'a b \n');
  // Text without a trailing newline keeps it that way.
  assert.is(tabwrite('a\tb', { minWidth: 0, padding: 1 }), 'a b');
});

test('tabwrite: column blocks end where a line has fewer cells (checked against podman)', () => {
  // podman's own table output for these rows, with podman's settings (minwidth 12, padding 2).
  const text = [
    'REPOSITORY\tTAG\tIMAGE ID\tend',
    'localhost/a\t1\te8568d7ab8aa\tend',
    'localhost/a-much-longer-repository-name\tv2end',
    'localhost/quite/long/name\tlatest-and-then-some\te8568d7ab8aa\tend',
    '',
  ].join('\n');
  assert.is(
    tabwrite(text, { minWidth: 12, padding: 2 }),
    [
      'REPOSITORY                               TAG         IMAGE ID      end',
      'localhost/a                              1           e8568d7ab8aa  end',
      'localhost/a-much-longer-repository-name  v2end',
      'localhost/quite/long/name                latest-and-then-some  e8568d7ab8aa  end',
      '',
    ].join('\n'),
  );
  // A line without tabs splits the table into independently aligned parts.
  assert.is(tabwrite('aaaaaa\tb\nno tabs here\nc\td\n', { minWidth: 0, padding: 1 }), 'aaaaaa b\nno tabs here\nc d\n');
});

test('defaultHeader splits CamelCase like Docker and Podman', () => {
  assert.equal(
    ['ID', 'Names', 'CreatedAt', 'ImageID', 'RootFS', 'HTTPServer', 'Repository'].map(defaultHeader),
    ['ID', 'NAMES', 'CREATED AT', 'IMAGE ID', 'ROOT FS', 'HTTP SERVER', 'REPOSITORY'],
  );
});

test.run();
