import { describe, expect, it } from "vitest";
import { PBKDF2_ITERATIONS, hashPassword, isCommonPassword, verifyPassword } from "../workers/api/src/lib/passwords";

describe("password hashing", () => {
  it("uses exactly 100,000 PBKDF2 iterations, a random salt and the pepper", async () => {
    expect(PBKDF2_ITERATIONS).toBe(100_000);
    const a = await hashPassword("hunter2 hunter2", "pepper-1");
    const b = await hashPassword("hunter2 hunter2", "pepper-1");
    expect(a).not.toBe(b);
    expect(a.split("$")[1]).toBe("100000");
    expect(await verifyPassword("hunter2 hunter2", a, "pepper-1")).toBe(true);
    expect(await verifyPassword("hunter2 hunter3", a, "pepper-1")).toBe(false);
    expect(await verifyPassword("hunter2 hunter2", a, "pepper-2")).toBe(false);
    expect(await verifyPassword("hunter2 hunter2", "garbage", "pepper-1")).toBe(false);
  });

  it("knows the most common passwords", async () => {
    expect(await isCommonPassword("password")).toBe(true);
    expect(await isCommonPassword("Iloveyou")).toBe(true);
    expect(await isCommonPassword("correct horse battery staple 42")).toBe(false);
  });
});
