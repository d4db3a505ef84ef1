// When consume() pulls again, and how much: the decision, without a server.
import { planPull, type PullBudget } from '../../lib/jetstream/pull-plan.js';

const budget = (over: Partial<PullBudget>): PullBudget => ({
  max: 500,
  threshold: 250,
  batchLimit: Infinity,
  maxBytes: 0,
  msgs: 0,
  bytes: 0,
  needWholeBudget: false,
  ...over,
});

describe('planPull', () => {
  it('fills the whole budget when nothing is pulled or buffered', () => {
    expect(planPull(budget({}))).toEqual({ batch: 500, bytes: 0 });
  });

  it('waits while more than the threshold is pulled or buffered, then tops up to maxMessages', () => {
    expect(planPull(budget({ msgs: 251 }))).toBeUndefined();
    expect(planPull(budget({ msgs: 250 }))).toEqual({ batch: 250, bytes: 0 });
    expect(planPull(budget({ msgs: 10 }))).toEqual({ batch: 490, bytes: 0 });
  });

  it('never asks for more than the consumer accepts', () => {
    expect(planPull(budget({ batchLimit: 64 }))).toEqual({ batch: 64, bytes: 0 });
  });

  it('works with maxMessages 1 (threshold 0): pulls one once the last one was read', () => {
    const one = { max: 1, threshold: 0 };
    expect(planPull(budget({ ...one, msgs: 1 }))).toBeUndefined();
    expect(planPull(budget({ ...one, msgs: 0 }))).toEqual({ batch: 1, bytes: 0 });
  });

  describe('with maxBytes', () => {
    const bytes = { max: 1_000_000, threshold: 500_000, maxBytes: 4096 };

    it('asks for the byte budget left once half of it is free', () => {
      expect(planPull(budget({ ...bytes }))).toEqual({ batch: 1_000_000, bytes: 4096 });
      expect(planPull(budget({ ...bytes, msgs: 3, bytes: 2049 }))).toBeUndefined();
      expect(planPull(budget({ ...bytes, msgs: 3, bytes: 2048 }))).toEqual({
        batch: 999_997,
        bytes: 2048,
      });
    });

    it('after a message did not fit, pulls again only with the whole budget', () => {
      const stuck = { ...bytes, needWholeBudget: true };
      expect(planPull(budget({ ...stuck, msgs: 1, bytes: 100 }))).toBeUndefined();
      expect(planPull(budget({ ...stuck }))).toEqual({ batch: 1_000_000, bytes: 4096 });
    });
  });
});
