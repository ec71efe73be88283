import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { type ConfigInputs, resolveConfig } from '../../config/resolve.ts';
import { enterChdir } from '../../config/working-directory.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import { HostdError } from '../../errors.ts';
import { exportDocker } from '../../export/docker.ts';
import { exportKubernetes } from '../../export/kubernetes.ts';
import { type ExportedFile, exportSystemd } from '../../export/systemd.ts';
import { displayPath } from '../../paths.ts';
import { escapeControls } from '../../text.ts';
import { native } from '../../runtime/native.ts';
import { settingFlagArgs } from '../flags.ts';
import { out } from '../output.ts';
import { reportError } from '../report.ts';

export type ExportTarget = 'systemd' | 'kubernetes' | 'docker';

export interface ExportOptions {
  out?: string;
  name?: string;
  socket?: boolean;
  user?: string;
  workingDirectory?: string;
  image?: string;
  from?: string;
  replicas?: string;
  cpus?: string;
  memoryPerWorker?: string;
}

/** The name for units and resources: proc_name if set, else the project's package name. */
function defaultName(config: ResolvedConfig): string {
  if (config.settings.proc_name !== 'hostd') return config.settings.proc_name;
  try {
    const pkg = JSON.parse(readFileSync(join(config.root, 'package.json'), 'utf8')) as { name?: string };
    if (pkg.name) return pkg.name.replace(/^@[^/]+\//, '').replace(/[^a-z0-9-]/gi, '-').toLowerCase();
  } catch {}
  return 'hostd-app';
}

function positiveInteger(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new HostdError('HOSTD_ERR_USAGE', `${flag}: expected an integer ≥ 1, got ${JSON.stringify(text)}`);
  return n;
}

/** WorkingDirectory=: systemd takes only an absolute path; by default the conventional /srv/NAME, never this machine's folder. */
function absoluteDirectory(text: string | undefined, name: string): string {
  if (text === undefined) return `/srv/${name}`;
  if (!isAbsolute(text)) throw new HostdError('HOSTD_ERR_USAGE', `--working-directory: expected an absolute path (systemd takes no other), got ${JSON.stringify(text)}`);
  return text;
}

export async function exportCommand(target: ExportTarget, inputs: ConfigInputs, options: ExportOptions): Promise<number> {
  let files: ExportedFile[];
  try {
    // In `chdir` (--chdir, HOSTD_CHDIR), as hostd run resolves it; --out is taken from where this one started.
    const config = await resolveConfig(enterChdir(inputs));
    const name = options.name ?? defaultName(config);
    // The setting flags given here shaped the files, so the exported command repeats them;
    // with --socket, the sockets systemd passes replace the binds. Not --chdir: it names where
    // the project is on this machine (as HOSTD_CHDIR does, which is not repeated either); the
    // unit's WorkingDirectory and the image's WORKDIR say where it is on the target.
    const flags = { ...inputs.flags };
    delete flags.chdir;
    if (target === 'systemd' && options.socket === true) delete flags.bind;
    const args = settingFlagArgs(flags);
    if (target === 'systemd') {
      files = exportSystemd(config, {
        name,
        socket: options.socket === true,
        workingDirectory: absoluteDirectory(options.workingDirectory, name),
        args,
        user: options.user ?? null,
        notifyFromMain: native() !== null,
      });
    } else if (target === 'docker') {
      files = exportDocker(config, { from: options.from ?? `node:${process.versions.node.split('.')[0]}-slim`, args });
    } else {
      files = exportKubernetes(config, {
        name,
        image: options.image ?? `${name}:latest`,
        replicas: positiveInteger(options.replicas, '--replicas', 2),
        cpus: positiveInteger(options.cpus, '--cpus', 2),
        memoryPerWorker: positiveInteger(options.memoryPerWorker, '--memory-per-worker', 256),
        command: ['node_modules/.bin/hostd', 'run', ...args],
      });
    }
    if (options.out === undefined) {
      out.stdout.write(files.length === 1 ? files[0]!.content : files.map((f) => `# ==> ${f.name} <==\n${f.content}`).join('\n'));
      return 0;
    }
    const dir = resolve(inputs.cwd, options.out);
    // A mistyped folder is a mistake to show, not one to make: nothing is created.
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new HostdError('HOSTD_ERR_EXPORT', `--out: ${displayPath(dir, inputs.cwd)} is not a folder that exists; create it, or leave out --out to print the files`);
    }
    for (const file of files) {
      const path = join(dir, file.name);
      try {
        writeFileSync(path, file.content);
      } catch (error) {
        throw new HostdError('HOSTD_ERR_EXPORT', `--out: cannot write ${displayPath(path, inputs.cwd)}: ${escapeControls((error as Error).message)}`, { cause: error });
      }
      out.line(`wrote ${displayPath(path, inputs.cwd)}`);
    }
  } catch (error) {
    return reportError(error, false);
  }
  return 0;
}
