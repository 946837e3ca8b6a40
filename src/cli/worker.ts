/**
 * Worker threads that run TypeScript modules. Run from sources (tsx, vitest),
 * a worker first registers tsx's ESM loader in its own thread: Node 20 does
 * not apply an inherited `--import` loader to a worker's entry module. Built
 * (.js) modules start directly.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** tsx's ESM API module (its package exports, `import` condition). */
function tsxEsmApi(): string {
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  const exp = (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api'];
  return path.join(path.dirname(pkg), exp.import.default);
}

/** A worker running `module` (a sibling of `from`, given without extension, e.g. './paper-worker'). */
export function startModuleWorker(from: string, module: string, options: WorkerOptions = {}): Worker {
  const ts = from.endsWith('.ts');
  const url = new URL(`${module}.${ts ? 'ts' : 'js'}`, from);
  if (!ts) return new Worker(url, options);
  const api = pathToFileURL(tsxEsmApi()).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { ...options, eval: true, execArgv: [] });
}
