/**
 * FAILOVER (Redis 7.0 replication.c failoverCommand / updateFailoverStatus): a coordinated
 * switchover from this master to one of its replicas without losing a write.
 *
 *   FAILOVER [TO node [port]] [TIMEOUT ms] [FORCE]      FAILOVER ABORT
 *
 * 1. no-failover → waiting-for-sync: writes are paused (clients wait, Redis's
 *    CLIENT_PAUSE_WRITE; lazy and active expiry and the master's PINGs stop too, so the
 *    offset stands still) and the reply is +OK at once.
 * 2. The target (or, without TO, the first replica) acknowledges the master's offset →
 *    failover-in-progress: this node becomes a replica of the target and its handshake sends
 *    `PSYNC <replid> <offset+1> FAILOVER`; the target promotes itself (PSYNC2: its old replid
 *    becomes replid2) and answers +CONTINUE.
 * 3. On +CONTINUE (or +FULLRESYNC) the failover is done: writes resume (and are refused by
 *    the replica this node now is: READONLY, or a reroute for writes the router sent), and
 *    the other replicas are pointed at the new master, where they partially resynchronize.
 * A TIMEOUT without FORCE aborts (writes resume here); with FORCE it fails over anyway.
 * A refused PSYNC FAILOVER aborts: this node becomes a master again (REPLICAOF NO ONE).
 * In our deployment the target is a node name, as REPLICAOF takes one (the port is accepted
 * and ignored).
 */
import { RedisError, type Reply, OK } from "../protocol/reply.ts";

export type FailoverState = "no-failover" | "waiting-for-sync" | "failover-in-progress";

/** How often the waiting master checks its replicas' acknowledged offsets. */
export const FAILOVER_POLL_MS = 10;
/** Longest wait for the target's answer to PSYNC FAILOVER before aborting. */
export const FAILOVER_PSYNC_TIMEOUT_MS = 10_000;

/** The replica list as the failover needs it (MasterSide.list()). */
export interface FailoverReplica {
  name: string;
  state: string;
  ackOffset: number;
}

export interface FailoverHost {
  name: string;
  isReplica(): boolean;
  offset(): number;
  replicas(): FailoverReplica[];
  /** Pause (a promise that resolves on resume) or resume client writes. */
  setWritePause(pause: Promise<void> | null): void;
  /** Become a replica of `target`, sending PSYNC … FAILOVER (ReplicaSide.follow). */
  followForFailover(target: string): void;
  /** Become a master again (an aborted failover-in-progress). */
  unsetMaster(): void;
  /** Point another replica at the new master (an RPC to that node). */
  repoint(replica: string, target: string): Promise<void>;
  log(msg: string): void;
}

export class Failover {
  state: FailoverState = "no-failover";
  private target: string | null = null;
  private endMs: number | null = null;
  private force = false;
  private resume: (() => void) | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Replicas attached when the failover started, to point at the new master afterwards. */
  private others: string[] = [];

  constructor(
    private readonly host: FailoverHost,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The FAILOVER command (arguments after the name). */
  command(args: string[]): Reply {
    if (args.length === 1 && args[0]!.toLowerCase() === "abort") {
      if (this.state === "no-failover") return new RedisError("ERR No failover in progress.");
      this.abort("Failover manually aborted");
      return OK;
    }
    let timeoutMs = 0;
    let force = false;
    let target: string | null = null;
    for (let j = 0; j < args.length; j++) {
      const a = args[j]!.toLowerCase();
      if (a === "timeout" && j + 1 < args.length && timeoutMs === 0) {
        const v = args[j + 1]!;
        if (!/^-?\d{1,18}$/.test(v)) return new RedisError("ERR value is not an integer or out of range");
        timeoutMs = Number(v);
        if (timeoutMs <= 0) return new RedisError("ERR FAILOVER timeout must be greater than 0");
        j++;
      } else if (a === "to" && j + 1 < args.length && target === null) {
        target = args[j + 1]!;
        j++;
        // Redis's TO host port: the port is optional here (a node name is enough).
        if (j + 1 < args.length && /^\d{1,5}$/.test(args[j + 1]!)) j++;
      } else if (a === "force" && !force) {
        force = true;
      } else {
        return new RedisError("ERR syntax error");
      }
    }
    if (this.state !== "no-failover") return new RedisError("ERR FAILOVER already in progress.");
    if (this.host.isReplica()) return new RedisError("ERR FAILOVER is not valid when server is a replica.");
    const replicas = this.host.replicas().filter((r) => r.state !== "handshake");
    if (replicas.length === 0) return new RedisError("ERR FAILOVER requires connected replicas.");
    if (force && (timeoutMs === 0 || target === null)) {
      return new RedisError("ERR FAILOVER with force option requires both a timeout and target HOST and IP.");
    }
    if (target !== null) {
      const r = replicas.find((x) => x.name === target);
      if (!r) return new RedisError("ERR FAILOVER target HOST and PORT is not a replica.");
      if (r.state !== "online") return new RedisError("ERR FAILOVER target replica is not online.");
    }
    this.host.log(target ? `FAILOVER requested to ${target}.` : "FAILOVER requested to any replica.");
    this.target = target;
    this.force = force;
    this.endMs = timeoutMs ? this.clock() + timeoutMs : null;
    this.others = replicas.map((r) => r.name);
    this.state = "waiting-for-sync";
    this.host.setWritePause(
      new Promise<void>((resolve) => {
        this.resume = resolve;
      }),
    );
    this.schedule(0);
    return OK;
  }

  private schedule(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.update();
    }, ms);
  }

  /** updateFailoverStatus: timeout, or a caught-up replica to fail over to. */
  update(): void {
    if (this.state !== "waiting-for-sync") return;
    const now = this.clock();
    if (this.endMs !== null && this.endMs <= now) {
      if (this.force) {
        this.host.log(`FAILOVER to ${this.target} time out exceeded, failing over.`);
        this.start();
      } else this.abort("Replica never caught up before timeout");
      return;
    }
    const offset = this.host.offset();
    const replicas = this.host.replicas();
    const caughtUp = this.target
      ? replicas.find((r) => r.name === this.target && r.ackOffset === offset)
      : replicas.find((r) => r.state === "online" && r.ackOffset === offset);
    if (caughtUp) {
      this.target = caughtUp.name;
      this.host.log(`Failover target ${this.target} is synced, failing over.`);
      this.start();
      return;
    }
    this.schedule(FAILOVER_POLL_MS);
  }

  private start(): void {
    this.state = "failover-in-progress";
    this.host.followForFailover(this.target!);
    // The answer comes through psyncResult(); this timer only guards against none coming.
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state === "failover-in-progress") this.abort("Failover target did not answer PSYNC FAILOVER in time");
    }, FAILOVER_PSYNC_TIMEOUT_MS);
  }

  /** The answer to our PSYNC FAILOVER: accepted (+CONTINUE / +FULLRESYNC) or refused. */
  psyncResult(accepted: boolean): void {
    if (this.state !== "failover-in-progress") return;
    if (!accepted) {
      this.abort("Failover target rejected psync request");
      return;
    }
    const target = this.target!;
    const others = this.others.filter((n) => n !== target && n !== this.host.name);
    this.clear();
    this.host.log(`FAILOVER to ${target} done; pointing ${others.length} other replica(s) at it.`);
    for (const n of others) {
      this.host.repoint(n, target).catch((e: unknown) => this.host.log(`could not point ${n} at ${target}: ${String(e)}`));
    }
  }

  /** abortFailover. */
  abort(why: string): void {
    if (this.state === "no-failover") return;
    this.host.log(`FAILOVER to ${this.target ?? "any replica"} aborted: ${why}`);
    if (this.state === "failover-in-progress") this.host.unsetMaster();
    this.clear();
  }

  /** clearFailoverState: back to no-failover, writes resume. */
  private clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.state = "no-failover";
    this.target = null;
    this.endMs = null;
    this.force = false;
    this.others = [];
    const resume = this.resume;
    this.resume = null;
    this.host.setWritePause(null);
    resume?.();
  }
}
