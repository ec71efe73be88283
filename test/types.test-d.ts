import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expectTypeOf, it } from 'vitest';
import type * as z from 'zod/mini';
import type { SettingName as TableSettingName, HookName as TableHookName, HostEventName, HOOKS, HOST_EVENTS, SETTINGS } from '../src/config/settings.ts';
import {
  defineConfig,
  definePreset,
  type HookName,
  type HookContextBase,
  type HookContextMap,
  type HostEventMap,
  type Preset,
  type ResolvedSettings,
  type SettingName,
  type UserConfig,
  type UserSettings,
  type WorkerInfo,
} from '../src/index.ts';

type Input<K extends TableSettingName> = z.input<(typeof SETTINGS)[K]['kind']['schema']>;
type Output<K extends TableSettingName> = z.output<(typeof SETTINGS)[K]['kind']['schema']>;

describe('generated declarations agree with the table', () => {
  it('names the same settings and hooks', () => {
    expectTypeOf<SettingName>().toEqualTypeOf<TableSettingName>();
    expectTypeOf<HookName>().toEqualTypeOf<TableHookName>();
  });

  it('lets a file write every setting but those needed before it loads', () => {
    expectTypeOf<keyof UserSettings>().toEqualTypeOf<Exclude<TableSettingName, 'config_timeout' | 'chdir'>>();
  });

  it('accepts nothing the schema rejects', () => {
    // Every value a user may write (by the declarations) is one the schema accepts.
    type Writable = { [K in Exclude<keyof UserSettings, 'extends'>]: Exclude<UserSettings[K], undefined> };
    type Accepted = { [K in Exclude<keyof UserSettings, 'extends'>]: Input<K> };
    expectTypeOf<Writable>().toExtend<Accepted>();
  });

  it('resolves to what the schema produces', () => {
    type Resolved = { [K in Exclude<TableSettingName, 'extends'>]: ResolvedSettings[K] };
    type Produced = { [K in Exclude<TableSettingName, 'extends'>]: Output<K> };
    expectTypeOf<Resolved>().toEqualTypeOf<Produced>();
  });
});

describe('defineConfig', () => {
  it('rejects unknown keys and misspelt context fields', () => {
    const config: UserConfig = {
      workers: 2,
      // @ts-expect-error a misspelt setting is an error
      wrokers: 2,
    };
    defineConfig({
      post_fork: (ctx) => {
        expectTypeOf(ctx.worker).toEqualTypeOf<WorkerInfo>();
        // @ts-expect-error a misspelt context field is an error
        void ctx.wroker;
      },
    });
    void config;
  });

  it('types settings by the table', () => {
    // @ts-expect-error workers is a number or "auto"
    const bad: UserConfig = { workers: 'many' };
    void bad;
    defineConfig({ workers: 'auto', bind: ['127.0.0.1:0', 'unix:/tmp/a.sock'], loglevel: 'debug', env: { A: '1' } });
  });

  it('accepts an object, a promise, or a (sync or async) function of { command, mode }', () => {
    expectTypeOf(defineConfig({ workers: 1 })).toEqualTypeOf<UserConfig>();
    expectTypeOf(defineConfig(Promise.resolve({ workers: 1 }))).toEqualTypeOf<Promise<UserConfig>>();
    defineConfig(({ command, mode }) => {
      expectTypeOf(command).toEqualTypeOf<'run' | 'check' | 'print-config' | 'export'>();
      expectTypeOf(mode).toEqualTypeOf<string>();
      return { workers: command === 'run' ? 2 : 1 };
    });
    defineConfig(async () => ({ workers: 1 }));
  });

  it('gives each hook exactly its context', () => {
    expectTypeOf<HookContextMap['pre_fork']['worker']>().toEqualTypeOf<WorkerInfo>();
    expectTypeOf<HookContextMap['pre_request']['req']>().toEqualTypeOf<IncomingMessage>();
    expectTypeOf<HookContextMap['pre_request']['res']>().toEqualTypeOf<ServerResponse>();
    expectTypeOf<HookContextMap['post_request']['status']>().toEqualTypeOf<number>();
    expectTypeOf<HookContextMap['post_request']['phase']>().toEqualTypeOf<'post_request'>();
    expectTypeOf<HookContextMap['child_exit']['exit_signal']>().toEqualTypeOf<NodeJS.Signals | null>();
    expectTypeOf<HookContextMap['on_exit']['exit_code']>().toEqualTypeOf<number>();
    expectTypeOf<HookContextMap['on_starting']['signal']>().toEqualTypeOf<AbortSignal>();
    expectTypeOf<HookContextMap['on_reload']['previous']>().toEqualTypeOf<Readonly<ResolvedSettings>>();
    // A worker killed for `timeout` runs no code: only child_exit reports it.
    expectTypeOf<HookContextMap['worker_exit']['reason']>().toEqualTypeOf<'shutdown' | 'reload' | 'max_requests' | 'max_memory'>();
    expectTypeOf<HookContextMap['child_exit']['reason']>().toEqualTypeOf<'shutdown' | 'reload' | 'max_requests' | 'max_memory' | 'timeout' | 'crash' | 'killed' | 'boot_error'>();
    expectTypeOf<HookContextMap['on_exit']['reason']>().toEqualTypeOf<'shutdown' | 'boot_error' | 'upgrade' | 'start_failed' | 'error'>();
    // @ts-expect-error on_starting runs before any worker exists
    type NoWorker = HookContextMap['on_starting']['worker'];
    defineConfig({ worker_exit: [async (ctx) => void ctx.reason, (ctx) => void ctx.worker.id] });
    const twoArguments: UserConfig = {
      // @ts-expect-error a hook takes one argument, its context
      post_request: (ctx, extra: number) => void [ctx, extra],
    };
    void twoArguments;
  });
});

describe('definePreset', () => {
  it('needs a name and rejects unknown keys', () => {
    expectTypeOf(definePreset({ name: 'acme', workers: 2 })).toEqualTypeOf<Preset>();
    // @ts-expect-error a preset needs a name
    definePreset({ workers: 2 });
    // @ts-expect-error unknown key in a preset
    definePreset({ name: 'acme', wrokers: 2 });
    defineConfig({ extends: [definePreset({ name: 'a' }), () => definePreset({ name: 'b' })] });
  });
});

describe('the table of hooks and host events agrees with the context types', () => {
  it("lists exactly each hook's own context fields", () => {
    type RowFields = { [P in TableHookName]: (typeof HOOKS)[P]['context'][number] };
    type TypeFields = { [P in TableHookName]: Exclude<keyof HookContextMap[P], keyof HookContextBase> };
    expectTypeOf<RowFields>().toEqualTypeOf<TypeFields>();
  });

  it("lists exactly each host event's fields, and every event", () => {
    type RowFields = { [E in HostEventName]: (typeof HOST_EVENTS)[E]['context'][number] };
    type TypeFields = { [E in keyof HostEventMap]: keyof HostEventMap[E] };
    expectTypeOf<RowFields>().toEqualTypeOf<TypeFields>();
  });
});
