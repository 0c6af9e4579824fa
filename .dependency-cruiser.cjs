// The layering of docs/architecture.md, checked by `npm run lint` (depcruise).
// Paths are relative to the repository root. A rule that fails names the import that broke it;
// the fix is to move the shared piece to the layer both sides may import, not to loosen the rule.

/** Folders under src/ that hold the server's domain: they know nothing of HTTP. */
const DOMAIN = ['db', 'names', 'users', 'files', 'store', 'upload', 'torrent', 'offline', 'engines', 'net', 'settings', 'admin', 'zip', 'shares', 'qbt'];

/** Folders whose index.ts is their public face: code outside imports the index, not the files behind it. */
const WITH_INDEX = ['engines', 'net', 'offline', 'torrent'];

const indexRules = WITH_INDEX.map((folder) => ({
  name: `${folder}-through-index`,
  comment: `Outside src/${folder}/, import src/${folder}/index.ts, not the files behind it (tests may reach in).`,
  severity: 'error',
  from: { path: '^(src|bin)/', pathNot: `^src/${folder}/` },
  to: { path: `^src/${folder}/`, pathNot: `^src/${folder}/index\\.ts$` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules never import each other in a circle.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      comment: 'The folders under src/ form layers: no two of them import each other, directly or through others.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'engines-below-offline',
      comment: 'engines/ downloads for offline/; it never reaches up into the tasks, the drive, users, uploads or HTTP.',
      severity: 'error',
      from: { path: '^src/engines/' },
      to: { path: '^src/(offline|files|users|upload|http|fsck|cli)/|^src/(app|main|config)\\.ts$' },
    },
    {
      name: 'domain-not-http',
      comment: 'Services never import the HTTP layer: route handlers (src/http/) call them, not the reverse.',
      severity: 'error',
      from: { path: `^src/(${DOMAIN.join('|')})/` },
      to: { path: '^src/http/|^src/(app|main)\\.ts$' },
    },
    {
      name: 'torrent-is-a-format-library',
      comment: 'src/torrent/ (bencode, metainfo, magnet links) depends on the name rules and errors.ts alone.',
      severity: 'error',
      from: { path: '^src/torrent/' },
      to: { path: '^(src|web|test|bench|bin)/', pathNot: '^src/(torrent|names)/|^src/errors\\.ts$' },
    },
    {
      name: 'names-is-a-leaf',
      comment: 'src/names/ holds pure rules that db/, files/, users/ and torrent/ share; it imports none of them.',
      severity: 'error',
      from: { path: '^src/names/' },
      to: { path: '^(src|web|test|bench|bin)/', pathNot: '^src/names/|^src/errors\\.ts$' },
    },
    {
      name: 'src-not-tests',
      comment: 'The server and the CLI never import tests or benchmarks.',
      severity: 'error',
      from: { path: '^(src|bin)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'web-not-src',
      comment:
        'The browser UI talks to the server over HTTP only; it shares no code with src/, only the types of the answers (type-only imports of the answer schemas).',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^(src|test|bench|bin)/', pathNot: '^src/http/sixpan/(admin-)?schemas[.]ts$' },
    },
    {
      name: 'web-types-only',
      comment: 'What the browser UI takes from the answer schemas is types, erased at build time.',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^src/', dependencyTypesNot: ['type-only'] },
    },
    ...indexRules,
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves to a file or an installed package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'not-to-undeclared',
      comment: 'Every package imported is declared in package.json.',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'src-not-to-dev-dep',
      comment: 'What ships (src/, bin/, web/) never needs a devDependency at run time; type-only imports are erased.',
      severity: 'error',
      from: { path: '^(src|bin|web)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: '^node_modules/@types/' },
    },
  ],
  options: {
    // Type-only imports count: a layer that names another's types depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.check.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|test/fixtures)/' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
