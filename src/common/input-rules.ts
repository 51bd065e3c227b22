import { Transform } from 'class-transformer';
import { IsString } from 'class-validator';
import { isDns1123Subdomain } from './rules';
import { Matches, Trim, wellFormed } from './validation';

export const MAX_DISPLAY_NAME = 100;
export const MAX_DESCRIPTION = 2000;
export const MAX_URL = 512;

/** Trimmed; a blank string becomes null (an optional text left empty in a form means "none"). */
export const TrimToNull = (): PropertyDecorator =>
  Transform(({ value }) => {
    if (typeof value !== 'string') return value;
    const trimmed = wellFormed(value.trim());
    return trimmed === '' ? null : trimmed;
  });

/**
 * Text of `min` to `max` characters, counted in code points as a MySQL/MariaDB VARCHAR(n) counts
 * them. class-validator's MaxLength/Length count an emoji with its variation selector (❤️, two
 * code points) as one, so they let through values the column then refused (an internal error).
 */
export function Characters(min: number, max: number): PropertyDecorator {
  const bounds = min > 0 ? `${min} to ${max} characters` : `at most ${max} characters`;
  return Matches((value) => {
    const length = [...value].length;
    return length >= min && length <= max;
  }, `must be ${bounds}`);
}

/** Image and pull-secret names. */
export function DnsName(): PropertyDecorator {
  return (target, key) => {
    Trim()(target, key);
    IsString()(target, key);
    Matches(
      isDns1123Subdomain,
      'must be 1 to 63 characters of lowercase letters, digits, "-" and ".", in dot-separated parts that start and end with a letter or digit',
    )(target, key);
  };
}

/** Display names: blank means "use the name", so only the upper bound is checked here. */
export function DisplayName(): PropertyDecorator {
  return (target, key) => {
    Trim()(target, key);
    IsString()(target, key);
    Characters(0, MAX_DISPLAY_NAME)(target, key);
  };
}

export function Description(): PropertyDecorator {
  return (target, key) => {
    TrimToNull()(target, key);
    IsString()(target, key);
    Characters(0, MAX_DESCRIPTION)(target, key);
  };
}

/** The display name to store: a blank one falls back to the name. */
export function displayNameOr(displayName: string | null | undefined, name: string): string {
  return displayName ? displayName : name;
}
