// The words for a new password that breaks a rule of password-policy.ts, in
// the reader's language: the page names the rule (by the error's `rule`
// code, never its English message) and never repeats the password.
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../accounts/password-policy.ts';
import type { PasswordRule } from '../errors.ts';
import { message, type Message } from '../i18n/message.ts';

const KEYS: Readonly<Record<PasswordRule, string>> = {
  too_short: 'reset.rule.tooShort',
  too_long: 'reset.rule.tooLong',
  common: 'reset.rule.common',
};

export function passwordRuleMessage(rule: PasswordRule): Message {
  return message(KEYS[rule], { min: PASSWORD_MIN_LENGTH, max: PASSWORD_MAX_LENGTH });
}
