import { describe, expect, it, vi } from "vitest";
import { FrameCoalescer } from "../../src/node/coalesce.ts";

/** A coalescer whose timer fires when the test says so. */
function manual() {
  const timers: (() => void)[] = [];
  const turns: number[] = [];
  const co = new FrameCoalescer(
    () => turns.push(turns.length + 1),
    (fire) => timers.push(fire),
  );
  const fire = () => {
    const t = timers.shift();
    if (!t) throw new Error("no timer armed");
    t();
  };
  return { co, timers, turns, fire };
}

describe("FrameCoalescer", () => {
  it("runs a frame that finds the node idle at once", () => {
    const { co, timers, fire } = manual();
    const ran: string[] = [];
    co.offer(() => ran.push("a"));
    expect(ran).toEqual(["a"]);
    expect(timers.length).toBe(1);
    fire(); // nothing arrived: the node is idle again
    expect(timers.length).toBe(0);
    co.offer(() => ran.push("b"));
    expect(ran).toEqual(["a", "b"]);
  });

  it("runs the frames that arrive before the timer together in its event, in arrival order", () => {
    const { co, timers, fire } = manual();
    const ran: string[] = [];
    co.offer(() => ran.push("a"));
    co.offer(() => ran.push("b"));
    co.offer(() => ran.push("c"));
    expect(ran).toEqual(["a"]);
    fire();
    expect(ran).toEqual(["a", "b", "c"]);
    // Running them armed the next timer: a frame arriving now waits for it.
    expect(timers.length).toBe(1);
    co.offer(() => ran.push("d"));
    expect(ran).toEqual(["a", "b", "c"]);
    fire();
    expect(ran).toEqual(["a", "b", "c", "d"]);
    fire();
    expect(timers.length).toBe(0);
  });

  it("keeps a frame offered while the queued ones run for the next timer", () => {
    const { co, fire } = manual();
    const ran: string[] = [];
    co.offer(() => ran.push("a"));
    co.offer(() => {
      ran.push("b");
      co.offer(() => ran.push("late"));
    });
    co.offer(() => ran.push("c"));
    fire();
    expect(ran).toEqual(["a", "b", "c"]);
    fire();
    expect(ran).toEqual(["a", "b", "c", "late"]);
  });

  it("work stopped at a slice's end goes on in the next turn, in one event with the frames that arrived meanwhile", async () => {
    const { co, timers, turns, fire } = manual();
    const ran: string[] = [];
    const goneOn: Promise<number>[] = [];
    co.offer(() => {
      ran.push("a1");
      goneOn.push(co.nextTurn().then(() => ran.push("a2")));
    });
    co.offer(() => ran.push("c"));
    goneOn.push(co.nextTurn().then(() => ran.push("b2")));
    expect(turns).toEqual([1]); // a1 started the first turn
    expect(timers.length).toBe(1);
    await Promise.resolve();
    expect(ran).toEqual(["a1"]);
    fire(); // the second turn: the stopped work and the frame that arrived
    expect(turns).toEqual([1, 2]);
    expect(ran).toEqual(["a1", "c"]); // the frame runs in the timer's own call…
    await Promise.all(goneOn);
    expect(ran).toEqual(["a1", "c", "a2", "b2"]); // …the stopped work right after, in its order
    fire();
    expect(timers.length).toBe(0);
    expect(turns).toEqual([1, 2]); // an empty timer starts no turn
  });

  it("a frame that throws does not keep the frames after it from running", () => {
    const { co, fire } = manual();
    const ran: string[] = [];
    const logged = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      co.offer(() => ran.push("a"));
      co.offer(() => {
        throw new Error("boom");
      });
      co.offer(() => ran.push("c"));
      fire();
      expect(ran).toEqual(["a", "c"]);
      expect(String(logged.mock.calls[0]?.[0])).toMatch(/a socket frame failed to start: Error: boom/);
    } finally {
      logged.mockRestore();
    }
  });
});
