/**
 * hostd's public API: `defineConfig` and `definePreset` for config files, and every type
 * a config, a preset or a hook sees.
 */
export { defineConfig, definePreset } from './config/define.ts';
export { host } from './host.ts';
export type { DrainingEvent, Host, HostEvent, HostEventMap, HostHandler, HostWorker, ReloadEvent, RequestEvent, ShutdownEvent } from './host.ts';
export { HostdError, type ErrorCode } from './errors.ts';
export { VERSION as version } from './version.ts';

export type {
  ResolvedSettings,
  UserHooks,
  UserSettings,
  SettingName,
  HookName,
} from './config/options.generated.ts';
export type {
  Command,
  ConfigEnv,
  HookEntry,
  Preset,
  PresetInput,
  ResolvedConfig,
  UserConfig,
  UserConfigExport,
  UserConfigFn,
} from './config/types.ts';
export type { OptionsInput, OptionsOutput, OptionsSchema } from './config/preset-options.ts';
export type {
  App,
  AppContext,
  AppFactory,
  ChildExitContext,
  ChildExitReason,
  FetchApp,
  HookContextBase,
  HookContextMap,
  HookFn,
  HookOption,
  Logger,
  NworkersChangedContext,
  OnExitContext,
  OnReloadContext,
  OnStartingContext,
  PostForkContext,
  PostRequestContext,
  PostWorkerInitContext,
  PreForkContext,
  PreRequestContext,
  PrimaryExitReason,
  ServerInfo,
  WhenReadyContext,
  WorkerExitContext,
  WorkerExitReason,
  WorkerInfo,
  WorkerIntContext,
} from './hooks/contexts.ts';
