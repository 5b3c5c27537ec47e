// The part of jsdom (a dev dependency: sanitize.test.ts runs DOMPurify in it) the test uses.
// Not @types/jsdom: vitest's type declarations import jsdom's, which would pull the DOM's
// globals into the workers' type check.
declare module "jsdom" {
  export class JSDOM {
    constructor(html?: string);
    readonly window: Window & typeof globalThis;
  }
}
