/**
 * `npm run bench -- --against REF`: the code at REF (the base) and the working tree (the head) measured in one
 * session, the same cells in the same rounds. REF's servers and C programs are built once into a folder outside the
 * repository (a `git archive` of the commit, its dependencies installed, `npm run build`), cached by commit, so a
 * second comparison with the same base starts at once. Node core's benchmark/compare.js does the same with two
 * node binaries; here the two sides are two builds of the servers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../../lib/cli-args.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { makeDirectory } from '../../lib/files.js';

export interface BaseBuild {
  /** What the user asked for (HEAD~1, main, a commit, auto). */
  ref: string;
  /** The full commit it resolved to. */
  commit: string;
  /** The built copy's project root (its dist/ holds the servers). */
  root: string;
  /** The models the base's registry knows. */
  models: readonly string[];
  /** "HEAD~1 (abc123def456, merge-base …)" for the report. */
  describe: string;
}

function gitIn(args: string[], cwd: string): { ok: boolean; out: string } {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  return { ok: r.status === 0, out: (r.status === 0 ? r.stdout : r.stderr).trim() };
}

/**
 * `auto`: on a branch, the merge-base with main (what a pull request is judged against); on main itself, HEAD~1 (the
 * commit before the last). Anything else is any revision git understands.
 */
export function resolveRef(ref: string, repo = PROJECT_ROOT): { commit: string; describe: string } {
  const git = (args: string[]): { ok: boolean; out: string } => gitIn(args, repo);
  if (!git(['rev-parse', '--git-dir']).ok) throw new UsageError(`--against needs a git checkout (${repo} is not one)`);
  let spec = ref;
  let how = '';
  if (ref === 'auto') {
    const branch = git(['rev-parse', '--abbrev-ref', 'HEAD']).out;
    const main = ['main', 'origin/main', 'master', 'origin/master'].find(
      (b) => git(['rev-parse', '--verify', '--quiet', `${b}^{commit}`]).ok,
    );
    const head = git(['rev-parse', 'HEAD']).out;
    const mainCommit = main ? git(['rev-parse', `${main}^{commit}`]).out : undefined;
    if (!main || mainCommit === head || branch === 'main' || branch === 'master') {
      spec = 'HEAD~1';
      how = 'auto: on main, the commit before HEAD';
    } else {
      spec = git(['merge-base', 'HEAD', main]).out;
      how = `auto: the merge-base of ${branch} with ${main}`;
    }
  }
  const r = git(['rev-parse', '--verify', '--quiet', `${spec}^{commit}`]);
  if (!r.ok || r.out === '')
    throw new UsageError(`--against ${ref}: not a revision of this repository${spec !== ref ? ` (${spec})` : ''}`);
  return {
    commit: r.out,
    describe: `${ref}${ref === r.out ? '' : ` (${r.out.slice(0, 12)}${how ? `, ${how}` : ''})`}`,
  };
}

/** Where built bases are kept: outside the repository, one folder per commit. */
export function cacheRoot(): string {
  return (
    process.env.CONBENCH_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'conbench', 'against')
  );
}

function run(command: string, args: string[], cwd: string, what: string): void {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0)
    throw new Error(
      `${what} failed in ${cwd}: ${(r.stderr || r.stdout || r.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`,
    );
}

/**
 * Builds (or finds built) the base: the commit's files, its dependencies (the head's node_modules when both lock
 * files are the same, else `npm ci`), `npm run build`. A half-built folder (no stamp) is built again.
 */
export async function prepareBase(ref: string, log: (line: string) => void): Promise<BaseBuild> {
  const { commit, describe } = resolveRef(ref);
  const root = path.join(cacheRoot(), commit);
  const stamp = path.join(root, '.conbench-built');
  if (!existsSync(stamp)) {
    log(`building the base ${describe} into ${root} (once per commit)`);
    rmSync(root, { recursive: true, force: true });
    makeDirectory(root);
    const archive = spawnSync('sh', ['-c', `git archive --format=tar ${commit} | tar -x -C "${root}"`], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    if (archive.status !== 0) throw new Error(`git archive ${commit} failed: ${archive.stderr.trim()}`);
    const lock = (dir: string): string =>
      existsSync(path.join(dir, 'package-lock.json')) ? readFileSync(path.join(dir, 'package-lock.json'), 'utf8') : '';
    if (lock(root) === lock(PROJECT_ROOT) && existsSync(path.join(PROJECT_ROOT, 'node_modules'))) {
      symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
    } else {
      log('the base has other dependencies: npm ci there');
      run('npm', ['ci', '--no-audit', '--no-fund'], root, 'npm ci');
    }
    run('npm', ['run', 'build', '--silent'], root, 'npm run build');
    writeFileSync(stamp, `${commit}\n`);
  }
  const registry = path.join(root, 'dist', 'servers', 'registry.js');
  if (!existsSync(registry))
    throw new Error(`the base ${describe} has no servers/registry.ts: it predates the servers this suite measures`);
  const mod = (await import(pathToFileURL(registry).href)) as {
    MODEL_NAMES?: readonly string[];
    MODELS?: readonly { name: string }[];
  };
  const models = mod.MODEL_NAMES ?? mod.MODELS?.map((m) => m.name) ?? [];
  return { ref, commit, root, models, describe };
}

/** --against with --handler: the handler as it was at REF in its own repository. */
export interface HandlerBase {
  ref: string;
  commit: string;
  /** The handler module at REF: the same path in REF's tree, checked out outside the repository. */
  module: string;
  describe: string;
}

/**
 * The handler at REF: its repository's tree at that commit (a `git archive`, cached by commit outside the repository,
 * the project's node_modules linked in so its imports resolve as they do now), and the module at the same path in it.
 * The servers are this conbench's on both sides: what differs is the user's code.
 */
export function prepareHandlerBase(ref: string, module: string, log: (line: string) => void): HandlerBase {
  const repo = gitIn(['rev-parse', '--show-toplevel'], path.dirname(module));
  if (!repo.ok)
    throw new UsageError(
      `--against with --handler needs the handler in a git repository (${path.dirname(module)} is not in one)`,
    );
  const { commit, describe } = resolveRef(ref, repo.out);
  const relative = path.relative(repo.out, module);
  const root = path.join(cacheRoot(), 'handlers', commit);
  const stamp = path.join(root, '.conbench-archived');
  if (!existsSync(stamp)) {
    log(`checking out ${describe} of ${repo.out} into ${root} (once per commit)`);
    rmSync(root, { recursive: true, force: true });
    makeDirectory(root);
    const archive = spawnSync('sh', ['-c', `git archive --format=tar ${commit} | tar -x -C "${root}"`], {
      cwd: repo.out,
      encoding: 'utf8',
    });
    if (archive.status !== 0) throw new Error(`git archive ${commit} failed: ${archive.stderr.trim()}`);
    const modules = path.join(repo.out, 'node_modules');
    // The project's installed dependencies, unless the revision carries its own.
    if (existsSync(modules) && !existsSync(path.join(root, 'node_modules')))
      symlinkSync(modules, path.join(root, 'node_modules'), 'dir');
    writeFileSync(stamp, `${commit}\n`);
  }
  const based = path.join(root, relative);
  if (!existsSync(based)) throw new UsageError(`--against ${ref}: ${relative} is not in that revision of ${repo.out}`);
  return { ref, commit, module: based, describe: `${describe} of ${relative}` };
}
