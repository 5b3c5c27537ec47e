// zod probes `new Function("")` for its JIT when it builds object schemas; the CSP forbids
// eval, so every page load reported a securitypolicyviolation. zod picks this global config
// up when it loads (globalThis.__zod_globalConfig), and `jitless` skips the probe. A file,
// before the app's modules, because the CSP allows no inline scripts.
globalThis.__zod_globalConfig = Object.assign(globalThis.__zod_globalConfig || {}, { jitless: true });
