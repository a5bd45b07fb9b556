/** Notifications: the outbox in the journal and its webhook sender. */
export {
  decideNotice,
  NOTICE_RULES,
  type NoticeRule,
  noticeBody,
  type RunCondition,
} from "./decide-notice.js";
export { EXIT_BUDGET_MS, Notifier, type NotifierOptions, type NotifySummary } from "./notifier.js";
export { type PostResult, postWebhook } from "./post-webhook.js";
