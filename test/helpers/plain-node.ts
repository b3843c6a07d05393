// Memory tests measure a child's RSS. Under `node --import tsx` the loader's own thread adds
// about 40 MB to every child, so these children run as plain JavaScript instead: lib/ and the
// child script are transpiled (TypeScript's transpileModule, no type check) into a temp dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

function transpileFile(from: string, to: string): void {
  const out = ts.transpileModule(fs.readFileSync(from, 'utf8'), {
    fileName: from,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.writeFileSync(to, out.outputText);
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/**
 * Transpile `root`/lib and `files` (paths under `root`) to `.js` under a new temp dir, keeping
 * their layout, with `root`'s node_modules linked in. Returns the dir; the caller removes it.
 */
export function transpileForChild(root: string, files: readonly string[]): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bsv-wire-child-'));
  for (const file of [...walk(path.join(root, 'lib')), ...files.map((f) => path.resolve(root, f))]) {
    transpileFile(file, path.join(out, path.relative(root, file)).replace(/\.ts$/, '.js'));
  }
  fs.writeFileSync(path.join(out, 'package.json'), '{"type":"module"}\n');
  fs.symlinkSync(fs.realpathSync(path.join(root, 'node_modules')), path.join(out, 'node_modules'), 'dir');
  return out;
}
