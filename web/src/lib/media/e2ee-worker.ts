/**
 * livekit-client's E2EE worker, bundled by Vite as a worker of its own. Imported dynamically,
 * only when joining an end-to-end encrypted channel.
 */
import E2EEWorker from "livekit-client/e2ee-worker?worker";

export function createE2EEWorker(): Worker {
  return new E2EEWorker();
}
