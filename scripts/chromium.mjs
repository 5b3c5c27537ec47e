// Debian's Chromium as the e2e tests and the benchmarks launch it (through playwright-core):
// headless, no sandbox (these machines run as root), fake camera and microphone, WebRTC on
// loopback. One list for both, so a flag a machine needs is added once.
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  "--allow-loopback-in-peer-connection",
];
