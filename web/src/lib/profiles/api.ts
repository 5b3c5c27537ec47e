/**
 * The profiles and custom emoji HTTP API as the web app calls it (docs/profiles-and-emoji.md):
 * typed-client routes, answers parsed with the shared schemas (workers/shared/profiles.ts).
 * Images go up as raw bodies under /api/uploads/, already cropped and resized (./image.ts).
 */
import { MemberResponse, type Member } from "$shared/communities";
import { MeResponse, type Me } from "$shared/protocol";
import { CustomEmojiListResponse, CustomEmojiResponse, ProfileResponse, type CustomEmoji, type Profile, type UpdateMyProfileBody } from "$shared/profiles";
import { client, done, read } from "$lib/api";

const raw = (file: Blob) => ({ init: { body: file, headers: { "content-type": file.type || "application/octet-stream" } } });

export const profilesApi = {
  profile: (userId: string, communityId?: string): Promise<Profile> =>
    read(client.users[":userId"].profile.$get({ param: { userId }, query: communityId ? { communityId } : {} }), ProfileResponse).then((r) => r.profile),
  update: (body: UpdateMyProfileBody): Promise<Profile> => read(client.me.profile.$patch({ json: body }), ProfileResponse).then((r) => r.profile),
  uploadAvatar: (file: Blob): Promise<Me> => read(client.uploads.me.avatar.$put({}, raw(file)), MeResponse).then((r) => r.user),
  removeAvatar: (): Promise<Me> => read(client.me.avatar.$delete(), MeResponse).then((r) => r.user),
  uploadCommunityAvatar: (communityId: string, userId: string, file: Blob): Promise<Member> =>
    read(client.uploads.communities[":id"].members[":userId"].avatar.$put({ param: { id: communityId, userId } }, raw(file)), MemberResponse).then((r) => r.member),
  resetCommunityAvatar: (communityId: string, userId: string): Promise<Member> =>
    read(client.communities[":id"].members[":userId"].avatar.$delete({ param: { id: communityId, userId } }), MemberResponse).then((r) => r.member),
};

export const emojiApi = {
  list: (communityId: string): Promise<CustomEmoji[]> => read(client.communities[":id"].emoji.$get({ param: { id: communityId } }), CustomEmojiListResponse).then((r) => r.emoji),
  upload: (communityId: string, name: string, file: Blob): Promise<CustomEmoji> =>
    read(client.uploads.communities[":id"].emoji.$post({ param: { id: communityId }, query: { name } }, raw(file)), CustomEmojiResponse).then((r) => r.emoji),
  rename: (communityId: string, emojiId: string, name: string): Promise<CustomEmoji> =>
    read(client.communities[":id"].emoji[":emojiId"].$patch({ param: { id: communityId, emojiId }, json: { name } }), CustomEmojiResponse).then((r) => r.emoji),
  remove: (communityId: string, emojiId: string): Promise<void> => done(client.communities[":id"].emoji[":emojiId"].$delete({ param: { id: communityId, emojiId } })),
};
