import assert from "node:assert/strict";
import { PeerBook } from "./peers.ts";
import { DiskStorage } from "../storage/disk.ts";
import { TcpTransport } from "../transport/tcp.ts";
import { encodeConfChange, initialSnapshot } from "../core/mod.ts";
import type { ConfChange, Entry } from "../types.ts";

/** A real WAL in a temp dir holding the bootstrap snapshot (voters 1 and 2) and `changes` logged after it. */
async function storageWith(changes: (ConfChange | "normal")[]): Promise<{ storage: DiskStorage; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "peer-book-" });
  const storage = await DiskStorage.open(dir, { clusterId: "t", nodeId: 1 });
  const snap = initialSnapshot([1, 2], { "1": "127.0.0.1:7001", "2": "127.0.0.1:7002" });
  const entries: Entry[] = changes.map((c, i) => ({
    term: 1,
    index: i + 2,
    type: c === "normal" ? "normal" : "conf",
    data: c === "normal" ? new TextEncoder().encode("x") : encodeConfChange(c),
  }));
  await storage.save({ term: 1, vote: 0, commit: 1 + entries.length }, [], snap);
  if (entries.length > 0) await storage.save(undefined, entries);
  return { storage, dir };
}

/** A real listening transport: its peer table is what the book must keep in step. */
function transport(id: number): Promise<TcpTransport> {
  return TcpTransport.start({
    id,
    listen: "127.0.0.1:0",
    clusterId: "t",
    clusterSecret: "s",
    onMessage: () => {},
  });
}

const sorted = (m: Map<number, string>) => [...m].sort((a, b) => a[0] - b[0]);

Deno.test("peer book: recovery takes the snapshot's addresses, then conf changes after it (the latest wins)", async () => {
  const { storage, dir } = await storageWith([
    { type: "addLearner", id: 3, addr: "127.0.0.1:7003" },
    "normal",
    { type: "promote", id: 3, addr: "127.0.0.1:8003" },
    { type: "remove", id: 2, addr: "127.0.0.1:9999" },
    { type: "addVoter", id: 4 },
    { type: "addLearner", id: 1, addr: "10.0.0.1:1" },
  ]);
  try {
    const book = new PeerBook(1);
    book.recover(storage);
    assert.deepEqual(sorted(book.addrs), [
      [1, "127.0.0.1:7001"], // a conf change naming this node does not move it
      [2, "127.0.0.1:7002"], // a removal carries no address to learn
      [3, "127.0.0.1:8003"],
    ]);
    assert.equal(book.addr(4), undefined, "a change without an address teaches none");
    assert.equal(book.apiAddrs.size, 0);
  } finally {
    storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("peer book: attach gives the transport every recovered member, and this node's own addresses", async () => {
  const { storage, dir } = await storageWith([{ type: "addLearner", id: 3, addr: "127.0.0.1:7003" }]);
  const t = await transport(1);
  try {
    const book = new PeerBook(1);
    book.recover(storage);
    book.attach(t, "127.0.0.1:18080");
    assert.equal(book.addr(1), t.addr, "own Raft address is the listener's, not the snapshot's");
    assert.equal(book.apiAddr(1), "127.0.0.1:18080");
    assert.deepEqual(sorted(t.peerAddrs()), [[2, "127.0.0.1:7002"], [3, "127.0.0.1:7003"]]);

    const other = new PeerBook(2);
    other.attach(t, undefined);
    assert.equal(other.apiAddr(2), undefined, "no service address announced, none recorded");
  } finally {
    await t.close();
    storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("peer book: a peer heard at a new address is re-pointed; an empty service address keeps the known one", async () => {
  const t = await transport(1);
  try {
    const book = new PeerBook(1);
    book.attach(t, undefined);
    book.installed({ "2": "127.0.0.1:7002" });
    book.heard(2, "127.0.0.1:7102", "127.0.0.1:18082");
    assert.equal(book.addr(2), "127.0.0.1:7102");
    assert.equal(book.apiAddr(2), "127.0.0.1:18082");
    assert.equal(t.peerAddrs().get(2), "127.0.0.1:7102");

    book.heard(2, "127.0.0.1:7102", "");
    assert.equal(book.apiAddr(2), "127.0.0.1:18082");

    // A node not yet in any log entry (a joiner dialing in) becomes reachable too.
    book.heard(9, "127.0.0.1:7009", "127.0.0.1:18089");
    assert.equal(t.peerAddrs().get(9), "127.0.0.1:7009");
    assert.equal(book.apiAddr(9), "127.0.0.1:18089");
  } finally {
    await t.close();
  }
});

Deno.test("peer book: an installed snapshot updates the members but never this node's own address", async () => {
  const t = await transport(1);
  try {
    const book = new PeerBook(1);
    book.attach(t, undefined);
    book.installed({ "1": "10.9.9.9:1", "2": "127.0.0.1:7002", "5": "127.0.0.1:7005" });
    assert.equal(book.addr(1), t.addr);
    assert.deepEqual(sorted(t.peerAddrs()), [[2, "127.0.0.1:7002"], [5, "127.0.0.1:7005"]]);
  } finally {
    await t.close();
  }
});

Deno.test("peer book: an applied removal stops dialing the member; removing this node keeps its listener", async () => {
  const t = await transport(1);
  try {
    const book = new PeerBook(1);
    book.attach(t, undefined);
    book.applied({ type: "addLearner", id: 6, addr: "127.0.0.1:7006" });
    assert.equal(t.peerAddrs().get(6), "127.0.0.1:7006");
    book.applied({ type: "promote", id: 6, addr: "127.0.0.1:7106" });
    assert.equal(t.peerAddrs().get(6), "127.0.0.1:7106");
    book.applied({ type: "remove", id: 6 });
    assert.equal(t.peerAddrs().has(6), false);

    book.applied({ type: "remove", id: 7, addr: "127.0.0.1:7007" });
    assert.equal(book.addr(7), undefined, "a removal never teaches an address");
    assert.equal(t.peerAddrs().has(7), false);

    book.applied({ type: "remove", id: 1 });
    assert.equal(book.addr(1), t.addr);
  } finally {
    await t.close();
  }
});

Deno.test("peer book: a snapshot records the known addresses of voters and learners only", () => {
  const book = new PeerBook(1);
  book.addrs.set(1, "127.0.0.1:7001");
  book.learn({ type: "addLearner", id: 2, addr: "127.0.0.1:7002" });
  book.learn({ type: "addLearner", id: 3, addr: "127.0.0.1:7003" });
  book.learn({ type: "addLearner", id: 5, addr: "127.0.0.1:7005" });
  assert.deepEqual(book.forSnapshot({ voters: [1, 2, 9], learners: [3] }), {
    "1": "127.0.0.1:7001",
    "2": "127.0.0.1:7002",
    "3": "127.0.0.1:7003",
  });
  assert.equal(book.addr(42), undefined);
  assert.equal(book.apiAddr(42), undefined);
  assert.deepEqual(book.forSnapshot({ voters: [], learners: [] }), {});
});

Deno.test("peer book: recovery ignores conf changes the snapshot already covers (its addresses are newer)", async () => {
  // Peer 3 joined at 7003 (index 2); the snapshot at index 3 knows it moved to 9003. The log keeps index 2 and 3 as
  // trailing entries, as NodeSnapshots does after a snapshot.
  const { storage, dir } = await storageWith([{ type: "addLearner", id: 3, addr: "127.0.0.1:7003" }, "normal"]);
  try {
    await storage.createSnapshot({
      meta: {
        index: 3,
        term: 1,
        conf: { voters: [1, 2], learners: [3] },
        addrs: { "1": "127.0.0.1:7001", "2": "127.0.0.1:7002", "3": "127.0.0.1:9003" },
      },
      data: new Uint8Array(0),
    });
    assert.ok(storage.firstIndex() <= 2, "the covered entries stay in the log");
    const book = new PeerBook(1);
    book.recover(storage);
    assert.equal(book.addr(3), "127.0.0.1:9003");
  } finally {
    storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});
