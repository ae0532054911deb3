import { describe, expect, it } from "vitest";
import { FrameCoalescer } from "../../src/node/coalesce.ts";

/** A coalescer whose timer fires when the test says so. */
function manual() {
  const timers: (() => void)[] = [];
  const co = new FrameCoalescer((fire) => timers.push(fire));
  const fire = () => {
    const t = timers.shift();
    if (!t) throw new Error("no timer armed");
    t();
  };
  return { co, timers, fire };
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
});
