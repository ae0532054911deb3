import { describe, expect, it, vi } from "vitest";
import { Turns } from "../../src/node/turns.ts";

/** Turns whose timer fires when the test says so. */
function manual(budget = 100) {
  const timers: (() => void)[] = [];
  const turns = new Turns(budget, (fire) => timers.push(fire));
  const fire = () => {
    const t = timers.shift();
    if (!t) throw new Error("no timer armed");
    t();
  };
  return { turns, timers, fire };
}

describe("Turns", () => {
  it("starts work that finds the node idle at once, with a fresh budget", () => {
    const { turns, timers, fire } = manual();
    const ran: string[] = [];
    turns.spent = 500;
    turns.offer(() => ran.push("a"));
    expect(ran).toEqual(["a"]);
    expect(turns.spent).toBe(0);
    expect(timers.length).toBe(1);
    fire(); // nothing arrived: the node is idle again
    expect(timers.length).toBe(0);
    turns.offer(() => ran.push("b"));
    expect(ran).toEqual(["a", "b"]);
  });

  it("starts the work that arrives before the timer together in its event, in arrival order", () => {
    const { turns, timers, fire } = manual();
    const ran: string[] = [];
    turns.offer(() => ran.push("a"));
    turns.offer(() => ran.push("b"));
    turns.offer(() => ran.push("c"));
    expect(ran).toEqual(["a"]);
    turns.spent = 150;
    expect(turns.full).toBe(true);
    fire();
    expect(ran).toEqual(["a", "b", "c"]);
    expect(turns.spent).toBe(0); // a new turn, a new budget
    // Running them armed the next timer: work arriving now waits for it.
    expect(timers.length).toBe(1);
    turns.offer(() => ran.push("d"));
    expect(ran).toEqual(["a", "b", "c"]);
    fire();
    expect(ran).toEqual(["a", "b", "c", "d"]);
    fire();
    expect(timers.length).toBe(0);
  });

  it("keeps work offered while the arrived work starts for the next turn", () => {
    const { turns, fire } = manual();
    const ran: string[] = [];
    turns.offer(() => ran.push("a"));
    turns.offer(() => {
      ran.push("b");
      turns.offer(() => ran.push("late"));
    });
    turns.offer(() => ran.push("c"));
    fire();
    expect(ran).toEqual(["a", "b", "c"]);
    fire();
    expect(ran).toEqual(["a", "b", "c", "late"]);
  });

  it("work stopped at a slice's end goes on in the next turn, in one event with the work that arrived meanwhile", async () => {
    const { turns, timers, fire } = manual();
    const ran: string[] = [];
    const goneOn: Promise<number>[] = [];
    turns.offer(() => {
      ran.push("a1");
      goneOn.push(turns.nextTurn().then(() => ran.push("a2")));
    });
    const entered = new Promise<void>((go) => turns.offer(go)).then(() => ran.push("c"));
    goneOn.push(turns.nextTurn().then(() => ran.push("b2")));
    expect(timers.length).toBe(1);
    await Promise.resolve();
    expect(ran).toEqual(["a1"]);
    fire(); // the second turn: the stopped work first, then the work that arrived
    await Promise.all([...goneOn, entered]);
    expect(ran).toEqual(["a1", "a2", "b2", "c"]);
    fire();
    expect(timers.length).toBe(0); // an empty timer starts no turn
  });

  it("work that throws as it starts does not keep the work after it from starting", () => {
    const { turns, fire } = manual();
    const ran: string[] = [];
    const logged = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      turns.offer(() => ran.push("a"));
      turns.offer(() => {
        throw new Error("boom");
      });
      turns.offer(() => ran.push("c"));
      fire();
      expect(ran).toEqual(["a", "c"]);
      expect(String(logged.mock.calls[0]?.[0])).toMatch(/work failed to start in its turn: Error: boom/);
    } finally {
      logged.mockRestore();
    }
  });
});
