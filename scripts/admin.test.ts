/** The recovery CLI's SQL (scripts/admin.mjs): the app's token shape, only the hash stored, usernames checked. */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RESET_LINK_TTL_MS as APP_TTL, ResetToken } from "../workers/shared/admin";
import { RESET_LINK_TTL_MS, newResetToken, resetLinkSql } from "./admin.mjs";

describe("npm run admin -- reset-link", () => {
  it("makes tokens the reset page accepts, and stores only their SHA-256", () => {
    const token = newResetToken();
    expect(ResetToken.safeParse(token).success).toBe(true);
    const { hash, sql } = resetLinkSql("Bob", token, 1000);
    expect(hash).toBe(createHash("sha256").update(token).digest("hex"));
    expect(sql).not.toContain(token);
    expect(sql).toContain(`'${hash}'`);
    expect(sql).toContain(`1000, ${1000 + RESET_LINK_TTL_MS}`);
    expect(sql).toContain("username_key = 'bob'");
    expect(RESET_LINK_TTL_MS).toBe(APP_TTL);
  });

  it("refuses anything that is not a username (no way out of the quoted string)", () => {
    for (const bad of ["bob' OR 1=1 --", "a", "x;DROP TABLE users", "bob'"]) expect(() => resetLinkSql(bad, "t")).toThrow(/not a username/);
  });
});
