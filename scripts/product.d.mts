export const ROOT: string;
export const LIVEKIT_VERSION: string;
export const QUIET_ENV: Record<string, string>;
export function say(msg: string): void;
export function freePort(): Promise<number>;
export function findLivekit(): string | undefined;
export function buildWeb(): void;
export function wrangler(args: string[], opts?: { cwd?: string; env?: Record<string, string> }): void;
export interface Product {
  url: string;
  livekitUrl: string | undefined;
  persistTo: string;
  restartWorkers(opts?: { hard?: boolean }): Promise<void>;
  stop(): Promise<void>;
}
export function startProduct(opts?: {
  port?: number;
  persistTo?: string;
  livekit?: boolean;
  requireLivekit?: boolean;
  quiet?: boolean;
  build?: boolean;
  /** wrangler.toml [vars] overrides, as `wrangler dev --var NAME:value`. */
  vars?: Record<string, string>;
}): Promise<Product>;
