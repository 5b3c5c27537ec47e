/** What the api worker asks of the token worker, and what it gets back. */
import { z } from "zod";

export const PublishSource = z.enum(["camera", "microphone", "screen_share", "screen_share_audio"]);
export type PublishSource = z.infer<typeof PublishSource>;

export const TokenRequest = z.strictObject({
  /** Opaque participant identity (never the username). */
  identity: z.string().min(1).max(128),
  name: z.string().max(64),
  room: z.string().min(1).max(128),
  /** At most 10 minutes. */
  ttlSeconds: z.number().int().min(10).max(600),
  metadata: z.string().max(1024).optional(),
  grants: z.strictObject({
    canSubscribe: z.boolean(),
    canPublishSources: z.array(PublishSource),
    canPublishData: z.boolean(),
    canUpdateOwnMetadata: z.boolean(),
  }),
});
export type TokenRequest = z.infer<typeof TokenRequest>;

export const TokenResponse = z.object({ url: z.string(), token: z.string() });
export type TokenResponse = z.infer<typeof TokenResponse>;
