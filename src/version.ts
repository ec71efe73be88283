declare const __HOSTD_VERSION__: string | undefined;

/** hostd's version, set at build time (the package.json version). */
export const VERSION: string = typeof __HOSTD_VERSION__ === 'string' ? __HOSTD_VERSION__ : '0.0.0-dev';
