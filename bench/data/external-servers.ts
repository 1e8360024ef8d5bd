/**
 * Servers brought from outside, as models of the suite: `--server NAME=COMMAND` (repeatable) and `--servers FILE`
 * (JSON or YAML: a list of { name, command, protocols?, httpPath? }). Parsed here, checked for what can be checked
 * without running anything: names that are new, commands that are not empty, protocols the drivers speak.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../../lib/cli-args.js';
import { PROTOCOLS, type Protocol } from '../../servers/protocol.js';
import { MODELS, type ExternalModel } from '../../servers/registry.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;

interface ServerSpec {
  name: string;
  command: string;
  protocols?: Protocol[];
  httpPath?: string;
}

function checked(spec: ServerSpec, where: string): ExternalModel {
  if (!NAME.test(spec.name))
    throw new UsageError(`${where}: the name "${spec.name}" must be 1–40 letters, digits, '.', '_' or '-'`);
  if (MODELS.some((m) => m.name === spec.name))
    throw new UsageError(`${where}: "${spec.name}" is a built-in model's name; call the server something else`);
  if (spec.command.trim() === '') throw new UsageError(`${where}: the command of "${spec.name}" is empty`);
  const protocols = spec.protocols ?? ['tcp'];
  for (const p of protocols)
    if (!PROTOCOLS.includes(p))
      throw new UsageError(
        `${where}: "${spec.name}" names protocol "${String(p)}"; the drivers speak ${PROTOCOLS.join(', ')}`,
      );
  if (spec.httpPath !== undefined && !spec.httpPath.startsWith('/'))
    throw new UsageError(`${where}: the httpPath of "${spec.name}" must start with /`);
  return {
    name: spec.name,
    runtime: 'external',
    command: spec.command,
    ...(spec.httpPath !== undefined ? { httpPath: spec.httpPath } : {}),
    summary: `external: ${spec.command}`,
    protocols,
    // Unknown: the driver is sized as for a server that may use every CPU it is given.
    parallel: true,
    available: () => ({ ok: true }),
  };
}

/** `NAME=COMMAND`, as --server takes it. */
export function serverFromFlag(text: string): ExternalModel {
  const eq = text.indexOf('=');
  if (eq <= 0)
    throw new UsageError(`--server takes NAME=COMMAND, e.g. 'py-threads=python3 srv.py {port}' (got "${text}")`);
  return checked({ name: text.slice(0, eq), command: text.slice(eq + 1) }, '--server');
}

/** The servers a --servers file lists. */
export function serversFromFile(file: string): ExternalModel[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `--servers ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  let list: unknown;
  try {
    list = parseYaml(text); // YAML is a superset of JSON: either works
  } catch (error) {
    throw new UsageError(`--servers ${file}: not JSON or YAML (${(error as Error).message.split('\n')[0]})`);
  }
  if (!Array.isArray(list))
    throw new UsageError(`--servers ${file}: must hold a list of { name, command, protocols?, httpPath? }`);
  return list.map((item, i) => {
    const o = item as Partial<ServerSpec> | null;
    if (typeof o?.name !== 'string' || typeof o.command !== 'string')
      throw new UsageError(`--servers ${file}: item ${i + 1} needs a name and a command (strings)`);
    if (o.protocols !== undefined && !Array.isArray(o.protocols))
      throw new UsageError(`--servers ${file}: item ${i + 1}'s protocols must be a list`);
    return checked(
      {
        name: o.name,
        command: o.command,
        ...(o.protocols ? { protocols: o.protocols } : {}),
        ...(o.httpPath !== undefined ? { httpPath: String(o.httpPath) } : {}),
      },
      `--servers ${file}`,
    );
  });
}

/** Every external server of the command line, named once each. */
export function externalServers(flags: readonly string[] | undefined, file: string | undefined): ExternalModel[] {
  const all = [...(flags ?? []).map(serverFromFlag), ...(file !== undefined ? serversFromFile(file) : [])];
  const seen = new Set<string>();
  for (const s of all) {
    if (seen.has(s.name)) throw new UsageError(`two servers are named "${s.name}"`);
    seen.add(s.name);
  }
  return all;
}
