// Types of scripts/deploy-plan.mjs for the TypeScript that imports it (e2e/deploy-build.test.ts).
export interface Names {
  api: string;
  token: string;
  d1: string;
  r2: string;
  preview: string | null;
}
export type Target = { kind: "production" } | { kind: "preview"; branch: string };
export type Step = { op: string; [k: string]: unknown };
export const PRODUCTION: { api: string; token: string; d1: string; r2: string };
export const PLACEHOLDER_ID: string;
export function previewSlug(branch: string): string;
export function namesFor(target: Target): Names;
export function parseD1List(json: unknown): { name: string; uuid: string }[];
export function parseR2List(text: string): string[];
export function parseSecretList(json: unknown): string[];
export function d1IdInToml(toml: string, binding?: string): string | undefined;
export function setD1IdInToml(toml: string, id: string, binding?: string): string;
export function planDeploy(input: {
  target: Target;
  existing: { d1: { name: string; uuid: string }[]; r2: string[]; apiSecrets: string[]; tokenSecrets: string[] };
  config?: { d1Id?: string };
  env?: { LIVEKIT_URL?: string; LIVEKIT_API_KEY?: string; LIVEKIT_API_SECRET?: string };
  rotate?: boolean;
}): { names: Names; steps: Step[] };
export function planPreviewDelete(input: { branch: string; existing: { d1: { name: string; uuid: string }[]; r2: string[]; workers?: string[] } }): {
  names: Names;
  steps: Step[];
};
export function previewConfig(raw: Record<string, any>, names: Names, opts: { root: string; d1Id: string | undefined }): Record<string, any>;
export function urlFrom(output: string): string | null;
