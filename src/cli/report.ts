import { ConfigInvalidError, type ErrorCode, formatIssue, HostdError } from '../errors.ts';
import { counted } from '../text.ts';
import { out } from './output.ts';

/**
 * Reports an error to the user and returns the exit code. A HostdError is the user's to
 * fix, so it is shown without hostd's stack; anything else is a hostd bug and keeps it.
 */
export function reportError(error: unknown, json: boolean): number {
  if (json) {
    out.json({ valid: false, errors: errorRecords(error) });
    return error instanceof HostdError ? error.exitCode : 1;
  }
  const style = out.errStyle;
  if (error instanceof ConfigInvalidError) {
    for (const issue of error.issues) out.error(formatIssue(issue));
    const n = error.issues.length;
    out.error(style.red(`✗ the config is invalid (${counted(n, 'problem')})`));
    return error.exitCode;
  }
  if (error instanceof HostdError) {
    out.error(`${style.red('hostd:')} ${error.message}`);
    return error.exitCode;
  }
  out.error(`${style.red('hostd: internal error')} (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return 1;
}

export function errorRecords(error: unknown): object[] {
  if (error instanceof ConfigInvalidError) return error.issues.map((issue) => ({ code: error.code, ...issue }));
  if (error instanceof HostdError) return [{ code: error.code, message: error.message }];
  return [{ code: 'HOSTD_ERR_INTERNAL' satisfies ErrorCode, message: error instanceof Error ? error.message : String(error) }];
}
