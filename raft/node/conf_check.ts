/**
 * A guard against a member whose bootstrap disagrees with its group's log: a node that was listed in its own
 * `peers` and started without `join` founds a group of its own (a snapshot at index 1, term 1, like every
 * founder's, but with other voters). When the real group then adds it, its log matches the leader's from index 1
 * on, yet its membership does not: it would act as a voter the group never made. The group's log is the truth,
 * so a change about this node that its own view contradicts stops the node with a clear message.
 * @module
 */

import type { ConfChange, ConfState, NodeId } from "../types.ts";

/** This node's view of the membership while one Ready's committed entries are applied in order. */
export class OwnConfView {
  private readonly voters: Set<NodeId>;
  private readonly learners: Set<NodeId>;

  constructor(private readonly self: NodeId, conf: ConfState) {
    this.voters = new Set(conf.voters);
    this.learners = new Set(conf.learners);
  }

  /** Checks `cc` against the view, then applies it. Throws when a change about this node contradicts it. */
  apply(cc: ConfChange): void {
    if (cc.id === this.self) {
      const member = this.voters.has(cc.id) || this.learners.has(cc.id);
      const wrong = (cc.type === "addLearner" && member) || (cc.type === "addVoter" && this.voters.has(cc.id)) ||
        (cc.type === "promote" && !this.learners.has(cc.id));
      if (wrong) {
        throw new Error(
          `the group's log says "${cc.type} ${cc.id}" but this node sees itself as ` +
            `${this.voters.has(cc.id) ? "a voter" : member ? "a learner" : "no member"}: it founded a group of ` +
            `its own (listed in its own peers without join?); stop it, empty its data dir and start it with join`,
        );
      }
    }
    if (cc.type === "remove") {
      this.voters.delete(cc.id);
      this.learners.delete(cc.id);
    } else if (cc.type === "addLearner") {
      if (!this.voters.has(cc.id)) this.learners.add(cc.id);
    } else {
      this.learners.delete(cc.id);
      this.voters.add(cc.id);
    }
  }
}
