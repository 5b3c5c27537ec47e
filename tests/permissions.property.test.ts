/**
 * computePermissions against a small reference written from Discord's documented algorithm
 * ("Permission Hierarchy" / "Permission Overwrites"), plus Woxly's implicit rules, on
 * random roles, overwrites and owners.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ALL_PERMISSIONS, P, computePermissions, type OverwriteInput, type PermissionInput } from "../workers/shared/permissions";

const BITS = Object.values(P);

// --- The reference: a plain transcription, sharing no code with permissions.ts ----------

function referenceBase(member: { id: string; roleIds: string[] }, guild: { ownerId: string; everyone: string; roles: Map<string, bigint> }): bigint {
  if (member.id === guild.ownerId) return ALL_PERMISSIONS;
  let permissions = guild.roles.get(guild.everyone) ?? 0n;
  for (const id of member.roleIds) permissions |= guild.roles.get(id) ?? 0n;
  if ((permissions & P.ADMINISTRATOR) === P.ADMINISTRATOR) return ALL_PERMISSIONS;
  return permissions;
}

function referenceOverwrites(
  base: bigint,
  member: { id: string; roleIds: string[] },
  everyoneId: string,
  overwrites: { type: "role" | "member"; id: string; allow: bigint; deny: bigint }[],
): bigint {
  if ((base & P.ADMINISTRATOR) === P.ADMINISTRATOR) return ALL_PERMISSIONS;
  let permissions = base;
  const find = (type: "role" | "member", id: string) => overwrites.find((o) => o.type === type && o.id === id);
  const everyone = find("role", everyoneId);
  if (everyone) {
    permissions &= ~everyone.deny;
    permissions |= everyone.allow;
  }
  let allow = 0n;
  let deny = 0n;
  for (const roleId of member.roleIds) {
    const o = find("role", roleId);
    if (o) {
      allow |= o.allow;
      deny |= o.deny;
    }
  }
  permissions &= ~deny;
  permissions |= allow;
  const mine = find("member", member.id);
  if (mine) {
    permissions &= ~mine.deny;
    permissions |= mine.allow;
  }
  return permissions;
}

/** Woxly's implicit rules in a channel (docs/communities.md): without VIEW_CHANNEL nothing in it; without CONNECT no voice; without SEND_MESSAGES no @everyone or files. */
function referenceImplicit(perms: bigint): bigint {
  const text = [P.SEND_MESSAGES, P.READ_HISTORY, P.ATTACH_FILES, P.ADD_REACTIONS, P.MENTION_EVERYONE, P.MANAGE_MESSAGES, P.CREATE_THREADS, P.SEND_IN_THREADS];
  const voice = [P.SPEAK, P.VIDEO, P.STREAM, P.USE_VOICE_ACTIVITY, P.MUTE_MEMBERS, P.DEAFEN_MEMBERS, P.MOVE_MEMBERS];
  const inChannel = [...text, ...voice, P.VIEW_CHANNEL, P.CONNECT, P.CREATE_INVITE, P.MANAGE_CHANNELS, P.MANAGE_ROLES];
  let p = perms;
  if (!(p & P.VIEW_CHANNEL)) for (const b of inChannel) p &= ~b;
  if (!(p & P.CONNECT)) for (const b of voice) p &= ~b;
  if (!(p & P.SEND_MESSAGES)) p &= ~(P.MENTION_EVERYONE | P.ATTACH_FILES);
  return p;
}

function reference(input: PermissionInput): bigint {
  const roles = new Map<string, bigint>([[input.everyone.id, input.everyone.permissions], ...input.roles.map((r) => [r.id, r.permissions] as const)]);
  const member = { id: input.userId, roleIds: input.roles.map((r) => r.id) };
  const base = referenceBase(member, { ownerId: input.ownerId, everyone: input.everyone.id, roles });
  if (!input.overwrites) return base;
  if (base === ALL_PERMISSIONS) return base;
  const ows = input.overwrites.map((o) => ({ type: o.kind, id: o.id, allow: o.allow, deny: o.deny }));
  return referenceImplicit(referenceOverwrites(base, member, input.everyone.id, ows));
}

// --- Generators ----------------------------------------------------------------------------

/** Permission sets biased towards the interesting bits (view, send, connect, admin). */
const perms = fc.oneof(
  fc.subarray(BITS).map((bits) => bits.reduce((a, b) => a | b, 0n)),
  fc.subarray([P.VIEW_CHANNEL, P.SEND_MESSAGES, P.CONNECT, P.SPEAK, P.ATTACH_FILES, P.MENTION_EVERYONE]).map((bits) => bits.reduce((a, b) => a | b, 0n)),
  fc.constant(0n),
);
const rarelyAdmin = fc.tuple(perms, fc.integer({ min: 0, max: 9 })).map(([p, n]) => (n === 0 ? p | P.ADMINISTRATOR : p & ~P.ADMINISTRATOR));

const ROLE_IDS = ["r1", "r2", "r3", "r4"];
const USER_IDS = ["me", "u2"];

const scenario = fc
  .record({
    ownerIsMe: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
    everyone: rarelyAdmin,
    roleIds: fc.subarray(ROLE_IDS),
    rolePerms: fc.array(rarelyAdmin, { minLength: ROLE_IDS.length, maxLength: ROLE_IDS.length }),
    inChannel: fc.boolean(),
    overwrites: fc.uniqueArray(
      fc.record({
        target: fc.constantFrom<["role" | "member", string]>(["role", "everyone"], ...ROLE_IDS.map((id) => ["role", id] as ["role", string]), ...USER_IDS.map((id) => ["member", id] as ["member", string])),
        allow: perms,
        deny: perms,
      }),
      { selector: (o) => o.target.join(":"), maxLength: 7 },
    ),
  })
  .map(
    (s): PermissionInput => ({
      userId: "me",
      ownerId: s.ownerIsMe ? "me" : "owner",
      everyone: { id: "everyone", permissions: s.everyone },
      roles: s.roleIds.map((id) => ({ id, permissions: s.rolePerms[ROLE_IDS.indexOf(id)]! })),
      overwrites: s.inChannel
        ? s.overwrites.map(
            (o): OverwriteInput => ({ kind: o.target[0], id: o.target[1], allow: o.allow, deny: o.deny & ~o.allow }),
          )
        : undefined,
    }),
  );

describe("computePermissions (property)", () => {
  it("matches the reference implementation of Discord's algorithm", () => {
    fc.assert(
      fc.property(scenario, (input) => {
        expect(computePermissions(input)).toBe(reference(input));
      }),
      { numRuns: 5000 },
    );
  });

  it("owner and ADMINISTRATOR get everything, whatever the overwrites", () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const admin = { ...input, roles: [...input.roles, { id: "adm", permissions: P.ADMINISTRATOR }] };
        expect(computePermissions(admin)).toBe(ALL_PERMISSIONS);
        expect(computePermissions({ ...input, ownerId: input.userId })).toBe(ALL_PERMISSIONS);
      }),
    );
  });

  it("a member overwrite always wins over role overwrites", () => {
    fc.assert(
      fc.property(scenario, fc.constantFrom(P.SEND_MESSAGES, P.READ_HISTORY, P.ADD_REACTIONS), (input, bit) => {
        if (input.ownerId === input.userId || !input.overwrites) return;
        const base = [input.everyone, ...input.roles].reduce((a, r) => a | r.permissions, 0n);
        if (base & P.ADMINISTRATOR) return;
        const others = input.overwrites.filter((o) => !(o.kind === "member" && o.id === input.userId));
        const allowMe = [...others, { kind: "member" as const, id: input.userId, allow: bit | P.VIEW_CHANNEL, deny: 0n }];
        const denyMe = [...others, { kind: "member" as const, id: input.userId, allow: P.VIEW_CHANNEL, deny: bit }];
        expect(computePermissions({ ...input, overwrites: allowMe }) & bit).toBe(bit);
        expect(computePermissions({ ...input, overwrites: denyMe }) & bit).toBe(0n);
      }),
    );
  });

  it("an allow in any role overwrite beats a deny in another role overwrite", () => {
    fc.assert(
      fc.property(scenario, (input) => {
        if (input.ownerId === input.userId || input.roles.length < 2) return;
        const base = [input.everyone, ...input.roles].reduce((a, r) => a | r.permissions, 0n);
        if (base & P.ADMINISTRATOR) return;
        const [r1, r2] = input.roles;
        const ows: OverwriteInput[] = [
          { kind: "role", id: r1!.id, allow: 0n, deny: P.SEND_MESSAGES | P.VIEW_CHANNEL },
          { kind: "role", id: r2!.id, allow: P.SEND_MESSAGES | P.VIEW_CHANNEL, deny: 0n },
        ];
        expect(computePermissions({ ...input, overwrites: ows }) & P.SEND_MESSAGES).toBe(P.SEND_MESSAGES);
      }),
    );
  });
});
