/**
 * Bearer-token authentication of public requests (SPEC §6): a read-write token
 * (REST_TOKEN) and a read-only token (REST_READONLY_TOKEN), from `Authorization: Bearer X`
 * or, for clients that cannot set headers (browsers' WebSocket, curl one-liners),
 * `?_token=X`. The header wins when both are present.
 *
 * Comparison is constant-time: both sides are hashed with SHA-256 first, so the compared
 * buffers always have the same length and the time taken says nothing about the length
 * or a common prefix of the real token.
 */
import type { Env } from "../env.ts";

export const UNAUTHORIZED_MESSAGE = "WRONGPASS invalid or missing auth token";

export type AuthResult =
  | { ok: true; readOnly: boolean }
  | { ok: false; status: 401 | 500; message: string };

/** The token a request presents, or null. */
export function presentedToken(request: Request): string | null {
  const h = request.headers.get("authorization");
  if (h !== null) {
    const m = /^\s*bearer\s+(\S+)\s*$/i.exec(h);
    return m ? m[1]! : null;
  }
  return new URL(request.url).searchParams.get("_token");
}

/** Check a request's token against the deployment's tokens. */
export async function authenticate(request: Request, env: Pick<Env, "REST_TOKEN" | "REST_READONLY_TOKEN">): Promise<AuthResult> {
  const rw = env.REST_TOKEN ?? "";
  const ro = env.REST_READONLY_TOKEN ?? "";
  if (rw === "" && ro === "") {
    // Fail closed, but say why: a deployment without secrets is a configuration mistake.
    return { ok: false, status: 500, message: "ERR the server has no REST_TOKEN configured (wrangler secret put REST_TOKEN, or .dev.vars locally)" };
  }
  const given = presentedToken(request);
  if (given === null || given === "") return { ok: false, status: 401, message: UNAUTHORIZED_MESSAGE };
  // Compare against both tokens every time, so timing does not tell which one matched.
  const which = await checkToken(given, env);
  if (which === null) return { ok: false, status: 401, message: UNAUTHORIZED_MESSAGE };
  return { ok: true, readOnly: which === "read-only" };
}

/**
 * Which token a password given to AUTH is (RESP clients through the gateway: `redis-cli -a`,
 * ioredis `password`). Both tokens are compared every time, in constant time.
 */
export async function checkToken(given: string, env: Pick<Env, "REST_TOKEN" | "REST_READONLY_TOKEN">): Promise<"read-write" | "read-only" | null> {
  const rw = env.REST_TOKEN ?? "";
  const ro = env.REST_READONLY_TOKEN ?? "";
  const [isRw, isRo] = await Promise.all([rw !== "" && tokenEquals(given, rw), ro !== "" && tokenEquals(given, ro)]);
  return isRw ? "read-write" : isRo ? "read-only" : null;
}

/**
 * What a password given to AUTH over RESP is: a REST token, or the replication secret (a real
 * Redis replica's `masterauth` through the gateway: the connection becomes a replication link).
 */
export async function checkAuth(given: string, env: Pick<Env, "REST_TOKEN" | "REST_READONLY_TOKEN" | "REPLICATION_SECRET">): Promise<"read-write" | "read-only" | "replication" | null> {
  const secret = env.REPLICATION_SECRET ?? "";
  const [token, isSecret] = await Promise.all([checkToken(given, env), secret !== "" && tokenEquals(given, secret)]);
  return token ?? (isSecret ? "replication" : null);
}

const encoder = new TextEncoder();

/** Constant-time string equality through SHA-256 digests of both sides. */
export async function tokenEquals(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  // workerd has crypto.subtle.timingSafeEqual; Node (unit tests) does not.
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual?: (x: ArrayBuffer, y: ArrayBuffer) => boolean };
  if (typeof subtle.timingSafeEqual === "function") return subtle.timingSafeEqual(da, db);
  const x = new Uint8Array(da);
  const y = new Uint8Array(db);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}
