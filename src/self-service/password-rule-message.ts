// The words for a new password that breaks a rule of password-policy.ts, in
// the reader's language, the same on every page that sets one (sign-up,
// reset, the account page): the page names the rule (by the error's `rule`
// code, never its English message) and never repeats the password.
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../accounts/password-policy.ts';
import type { PasswordRule } from '../errors.ts';
import { message, type Message } from '../i18n/message.ts';

const KEYS: Readonly<Record<PasswordRule, string>> = {
  too_short: 'password.rule.tooShort',
  too_long: 'password.rule.tooLong',
  common: 'password.rule.common',
};

export function passwordRuleMessage(rule: PasswordRule): Message {
  return message(KEYS[rule], { min: PASSWORD_MIN_LENGTH, max: PASSWORD_MAX_LENGTH });
}
