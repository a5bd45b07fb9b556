/** Where commands run: the driver contract, the local and SSH drivers, and the in-memory twin. */
export {
  type Driver,
  describeExit,
  type ExecOptions,
  type ExecResult,
  formatMs,
  MARKER_VARIABLE,
  type MarkedEnd,
  OUTPUT_TAIL_BYTES,
} from "./driver.js";
export { LocalDriver, type LocalDriverOptions } from "./local-driver.js";
export {
  type MemoryCall,
  type MemoryContext,
  MemoryDriver,
  type MemoryDriverOptions,
  type MemoryHandler,
  type MemoryReply,
} from "./memory-driver.js";
export { HostKeyError, SshConnectError, SshDriver, type SshDriverOptions } from "./ssh-driver.js";
export type { HostRef, SshSettings } from "./ssh-settings.js";
