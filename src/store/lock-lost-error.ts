/**
 * A journal write refused because the writer no longer holds the run lock: another ferry took it
 * over (its lease had run out), or it was released. The store checks the lock in the same
 * transaction as the write, so once a takeover has committed, no write of the former holder does.
 */
import { OperationError } from "../errors.js";

export class LockLostError extends OperationError {
  override readonly kind = "lock-lost";

  constructor(token: string) {
    super(`the run lock is no longer held by this ferry (token ${token}): the journal write was refused`);
    this.name = "LockLostError";
  }
}
