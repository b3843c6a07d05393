// The layer rules of ARCHITECTURE.md, checked by scanning the import specifiers of every file under lib/.
// Each rule names what a layer must never import; a new import that breaks one fails here, naming the file.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LIB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../lib');

/** Every lib layer above the codecs: what a lower layer must not reach up to. */
const ABOVE_CODECS = ['peer', 'transport', 'connect', 'peerstore', 'discovery', 'manager', 'capture', 'chain', 'metrics', 'cli'];
/** Node modules that do I/O: codecs and state machines take bytes and time as inputs instead. */
const IO_MODULES = ['node:net', 'node:dgram', 'node:dns', 'node:fs', 'node:fs/promises', 'node:http', 'node:https', 'node:tls', 'node:child_process', 'socks', 'dns-packet'];

interface LayerRule {
  readonly layer: string;
  readonly forbiddenLayers: readonly string[];
  readonly forbiddenPackages?: readonly string[];
  readonly why: string;
}

const RULES: readonly LayerRule[] = [
  { layer: 'encoding', forbiddenLayers: ['messages', 'framing', 'block', ...ABOVE_CODECS], forbiddenPackages: IO_MODULES, why: 'byte readers/writers are the bottom layer' },
  { layer: 'messages', forbiddenLayers: ['framing', 'block', ...ABOVE_CODECS], forbiddenPackages: IO_MODULES, why: 'codecs are pure functions of a payload' },
  { layer: 'framing', forbiddenLayers: ['block', ...ABOVE_CODECS], forbiddenPackages: IO_MODULES, why: 'the framer turns bytes into frames and does no I/O' },
  { layer: 'block', forbiddenLayers: ABOVE_CODECS, forbiddenPackages: IO_MODULES, why: 'the streaming block decoder is pure' },
  {
    layer: 'peer',
    forbiddenLayers: ['transport', 'connect', 'peerstore', 'discovery', 'manager', 'capture', 'chain', 'metrics', 'cli'],
    forbiddenPackages: IO_MODULES,
    why: 'a PeerConnection is handed a Duplex and never dials',
  },
  {
    layer: 'transport',
    forbiddenLayers: ['messages', 'framing', 'block', 'peer', 'connect', 'peerstore', 'discovery', 'manager', 'chain', 'metrics', 'cli'],
    why: 'dialers return a Duplex and know nothing of the protocol',
  },
  {
    layer: 'peerstore',
    forbiddenLayers: ['messages', 'framing', 'block', 'peer', 'transport', 'connect', 'discovery', 'manager', 'chain', 'metrics', 'cli'],
    why: 'the address book is storage only',
  },
  { layer: 'discovery', forbiddenLayers: ['framing', 'block', 'peer', 'connect', 'peerstore', 'manager', 'chain', 'metrics', 'cli'], why: 'seed lookup knows nothing of peers' },
  { layer: 'connect', forbiddenLayers: ['peerstore', 'discovery', 'manager', 'chain', 'metrics', 'cli'], why: 'connect helpers join one peer to a dialer or listener' },
  { layer: 'manager', forbiddenLayers: ['connect', 'capture', 'chain', 'metrics', 'cli'], why: 'the chain follower is above the Manager, which knows nothing of it; capture reaches it only as a tap factory' },
  { layer: 'capture', forbiddenLayers: ['transport', 'connect', 'peerstore', 'discovery', 'manager', 'chain', 'metrics', 'cli'], why: 'capture taps one connection and replays into one; it knows nothing above the peer' },
  { layer: 'chain', forbiddenLayers: ['metrics', 'cli'], why: 'the CLI is the top; metrics read the follower, which knows nothing of them' },
  { layer: 'metrics', forbiddenLayers: ['cli'], why: 'metrics sit beside the chain follower, reading the Manager and the follower; only the CLI and the app serve them' },
];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|js|mts|cts)$/.test(entry.name)) out.push(full);
  }
  return out;
}

/** Static, dynamic and re-export specifiers, plus `import('x').T` type references. */
function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

/** The top-level lib directory a relative specifier lands in ('' for lib/*.ts itself), or undefined for packages. */
function targetLayer(fromFile: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const rel = path.relative(LIB, path.resolve(path.dirname(fromFile), specifier));
  if (rel.startsWith('..')) return '..';
  const parts = rel.split(path.sep);
  return parts.length > 1 ? parts[0] : '';
}

t.test('the import scanner sees every form of import', async (t) => {
  const sample = [
    "import { a } from '../transport/index.js';",
    "import type { B } from '../transport/tcp.js';",
    "export { c } from '../transport/x.js';",
    "export * from '../transport/y.js';",
    "import '../transport/side-effect.js';",
    "const m = await import('../transport/lazy.js');",
    'import {\n  multi,\n  line,\n} from "../transport/multi.js";',
  ].join('\n');
  t.same(importSpecifiers(sample), [
    '../transport/index.js',
    '../transport/tcp.js',
    '../transport/x.js',
    '../transport/y.js',
    '../transport/multi.js',
    '../transport/side-effect.js',
    '../transport/lazy.js',
  ]);
  t.equal(targetLayer(path.join(LIB, 'peer/x.ts'), '../transport/index.js'), 'transport');
  t.equal(targetLayer(path.join(LIB, 'peer/x.ts'), './connection.js'), 'peer');
  t.equal(targetLayer(path.join(LIB, 'peer/x.ts'), '../networks.js'), '');
});

for (const rule of RULES) {
  t.test(`lib/${rule.layer} never imports ${rule.forbiddenLayers.join(', ')}${rule.forbiddenPackages ? ' or I/O modules' : ''} (${rule.why})`, async (t) => {
    const files = sourceFiles(path.join(LIB, rule.layer));
    t.ok(files.length > 0, `lib/${rule.layer} has source files`);
    const violations: string[] = [];
    for (const file of files) {
      for (const specifier of importSpecifiers(readFileSync(file, 'utf8'))) {
        const target = targetLayer(file, specifier);
        const bad =
          (target !== undefined && (rule.forbiddenLayers.includes(target) || target === '..')) ||
          (target === undefined && rule.forbiddenPackages?.includes(specifier));
        if (bad) violations.push(`${path.relative(LIB, file)} imports '${specifier}'`);
      }
    }
    t.same(violations, [], 'no forbidden import');
  });
}

t.test('only lib/index.ts and the CLI sit on top: no other lib file imports lib/index.ts or lib/cli', async (t) => {
  const violations: string[] = [];
  for (const file of sourceFiles(LIB)) {
    const rel = path.relative(LIB, file);
    if (rel.startsWith(`cli${path.sep}`)) continue;
    for (const specifier of importSpecifiers(readFileSync(file, 'utf8'))) {
      const target = targetLayer(file, specifier);
      if (target === 'cli') violations.push(`${rel} imports '${specifier}'`);
      if (target === '' && /(^|\/)index\.js$/.test(specifier) && path.dirname(file) !== LIB) violations.push(`${rel} imports '${specifier}'`);
      if (target === '' && path.dirname(file) === LIB && rel !== 'index.ts' && specifier === './index.js') violations.push(`${rel} imports '${specifier}'`);
    }
  }
  t.same(violations, []);
});
