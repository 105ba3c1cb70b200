/**
 * Typed errors shared by every store implementation. Callers branch on `instanceof` or on `code`; the
 * codes are also what the namespace state machine puts in its apply results and what an HTTP layer can
 * carry over the wire (see {@link errorFromCode}).
 * @module
 */

/** Machine-readable error kinds. */
export type StoreErrorCode =
  | "exists"
  | "not_found"
  | "conflict"
  | "compacted"
  | "no_quorum"
  | "not_leader"
  | "session_expired"
  | "unsupported"
  | "not_empty"
  | "closed"
  | "invalid";

/** Base class of every store error. */
export class StoreError extends Error {
  /** The error kind. */
  readonly code: StoreErrorCode;
  /** An error of kind `code`. */
  constructor(code: StoreErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A create (or a CAS expecting absence) found the node already there. */
export class ExistsError extends StoreError {
  /** `path` exists already. */
  constructor(readonly path: string) {
    super("exists", `node ${path} already exists`);
  }
}

/** A read/list with `must`, or a CAS/delete expecting a node, found nothing. */
export class NotFoundError extends StoreError {
  /** `path` does not exist. */
  constructor(readonly path: string) {
    super("not_found", `node ${path} does not exist`);
  }
}

/** A compare-and-set found another revision than the expected one (`actual` is 0 when the node is absent). */
export class RevisionConflictError extends StoreError {
  /** `path` is at revision `actual`, not `expected`. */
  constructor(readonly path: string, readonly expected: number, readonly actual: number) {
    super("conflict", `node ${path}: expected revision ${expected}, found ${actual}`);
  }
}

/** A watch asked for history that was already discarded; the caller must re-list and watch from now. */
export class CompactedError extends StoreError {
  /** Revision `requested` is older than the oldest kept, `compactRevision`. */
  constructor(readonly requested: number, readonly compactRevision: number) {
    super(
      "compacted",
      `revision ${requested} is compacted (history starts after ${compactRevision}); re-read and watch from now`,
    );
  }
}

/** The replicated store cannot currently commit (no leader or no majority). */
export class NoQuorumError extends StoreError {
  /** The store cannot reach a majority. */
  constructor(message = "no quorum: the store cannot commit right now") {
    super("no_quorum", message);
  }
}

/** This member is not the leader; `leaderAddr` (when known) is where to send the request. */
export class NotLeaderError extends StoreError {
  /** This member is not the leader; the leader's id and address when known. */
  constructor(readonly leaderId?: number, readonly leaderAddr?: string) {
    super(
      "not_leader",
      leaderAddr
        ? `not the leader; the leader is ${leaderId ?? "?"} at ${leaderAddr}`
        : "not the leader; leader unknown",
    );
  }
}

/** The session is gone (expired or closed); its ephemeral nodes were deleted. */
export class SessionExpiredError extends StoreError {
  /** Session `sessionId` expired. */
  constructor(readonly sessionId: string) {
    super("session_expired", `session ${sessionId} has expired or was closed`);
  }
}

/** The backend cannot do this at all (e.g. ephemeral nodes on the filesystem store). */
export class UnsupportedError extends StoreError {
  /** The store does not support the operation. */
  constructor(message: string) {
    super("unsupported", message);
  }
}

/** Deleting a node that still has children, on a backend that forbids it (ZooKeeper). */
export class NotEmptyError extends StoreError {
  /** `path` has children. */
  constructor(readonly path: string) {
    super("not_empty", `node ${path} has children`);
  }
}

/** The client or store was closed. */
export class ClosedError extends StoreError {
  /** `what` is closed. */
  constructor(what = "store client") {
    super("closed", `${what} is closed`);
  }
}

/** A malformed path or argument. */
export class InvalidArgumentError extends StoreError {
  /** An argument is invalid. */
  constructor(message: string) {
    super("invalid", message);
  }
}

/** The plain-data form of an error, as kept in apply results and sent over HTTP. */
export interface ErrorInfo {
  /** The error's kind. */
  code: StoreErrorCode;
  /** The error's message. */
  message?: string;
  /** The node path, for path errors. */
  path?: string;
  /** The expected revision, for conflicts. */
  expected?: number;
  /** The actual revision, for conflicts. */
  actual?: number;
  /** The requested revision, when compacted. */
  requested?: number;
  /** The oldest revision kept, when compacted. */
  compactRevision?: number;
  /** The expired session's id. */
  sessionId?: string;
  /** The leader's id, when not the leader. */
  leaderId?: number;
  /** The leader's address, when not the leader. */
  leaderAddr?: string;
}

/** Rebuilds a typed error from its plain-data form. */
export function errorFromInfo(e: ErrorInfo): StoreError {
  switch (e.code) {
    case "exists":
      return new ExistsError(e.path ?? "?");
    case "not_found":
      return new NotFoundError(e.path ?? "?");
    case "conflict":
      return new RevisionConflictError(e.path ?? "?", e.expected ?? 0, e.actual ?? 0);
    case "compacted":
      return new CompactedError(e.requested ?? 0, e.compactRevision ?? 0);
    case "no_quorum":
      return new NoQuorumError(e.message);
    case "not_leader":
      return new NotLeaderError(e.leaderId, e.leaderAddr);
    case "session_expired":
      return new SessionExpiredError(e.sessionId ?? "?");
    case "not_empty":
      return new NotEmptyError(e.path ?? "?");
    case "closed":
      return new ClosedError();
    case "unsupported":
      return new UnsupportedError(e.message ?? "unsupported");
    default:
      return new InvalidArgumentError(e.message ?? "invalid request");
  }
}

/** The plain-data form of a typed error (for apply results and HTTP answers). */
export function errorToInfo(err: StoreError): ErrorInfo {
  const info: ErrorInfo = { code: err.code, message: err.message };
  for (
    const k of ["path", "expected", "actual", "requested", "compactRevision", "sessionId", "leaderId", "leaderAddr"]
  ) {
    const v = (err as unknown as Record<string, unknown>)[k];
    if (v !== undefined) (info as unknown as Record<string, unknown>)[k] = v;
  }
  return info;
}
