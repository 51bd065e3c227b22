import { ClassConstructor, plainToInstance, Transform } from 'class-transformer';
import { IsOptional, registerDecorator, validate, ValidationArguments, ValidationError, ValidationOptions } from 'class-validator';
import { badUserInput, FieldError } from '../errors';

/**
 * Checks a GraphQL input against its class-validator class and returns the typed instance.
 * Keys the caller left out stay absent (patch semantics depend on it), explicit nulls stay null.
 */
export async function validateInput<T extends object>(cls: ClassConstructor<T>, plain: unknown): Promise<T> {
  const instance = plainToInstance(cls, plain ?? {}, { exposeUnsetFields: false });
  const nullErrors = (notNullable.get(cls) ?? [])
    .filter((key) => (instance as Record<string, unknown>)[key] === null)
    .map((field) => ({ field, message: `${field} cannot be null` }));
  const errors = await validate(instance, { forbidUnknownValues: true, validationError: { target: false, value: false } });
  const fields = nullErrors.concat(errors.flatMap((e) => toFieldErrors(e)));
  if (fields.length > 0) throw badUserInput(fields);
  return instance;
}

function toFieldErrors(error: ValidationError, prefix = ''): FieldError[] {
  const field = prefix + error.property;
  const own = error.constraints ? [{ field, message: Object.values(error.constraints).join('; ') }] : [];
  return own.concat((error.children ?? []).flatMap((child) => toFieldErrors(child, `${field}.`)));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A lone UTF-16 surrogate (JSON may carry one) as U+FFFD. No column can hold one, and the drivers
 * replace it differently (one U+FFFD on MySQL, three on SQLite); replacing it here keeps what is
 * stored equal on both databases and to what the mutation answers.
 */
export const wellFormed = (value: string): string => value.replace(LONE_SURROGATE, '\uFFFD');

/** Strings arrive trimmed (and well-formed) at the validators and the services. */
export const Trim = (): PropertyDecorator =>
  Transform(({ value }) => (typeof value === 'string' ? wellFormed(value.trim()) : value));

const notNullable = new WeakMap<object, string[]>();

/**
 * The key may be left out (the field stays unchanged), but an explicit null is an error: for
 * update fields that cannot be cleared. The other rules on the property then run only on values.
 */
export function NotNullWhenGiven(): PropertyDecorator {
  return (object, propertyName) => {
    IsOptional()(object, propertyName);
    const keys = notNullable.get(object.constructor) ?? [];
    notNullable.set(object.constructor, [...keys, propertyName as string]);
  };
}

/** A custom rule from a predicate, with a message that names the property. */
export function Matches(predicate: (value: string) => boolean, message: string, options?: ValidationOptions): PropertyDecorator {
  return (object, propertyName) =>
    registerDecorator({
      name: 'matchesRule',
      target: object.constructor,
      propertyName: propertyName as string,
      options: { message: (args: ValidationArguments) => `${args.property} ${message}`, ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && predicate(value) },
    });
}
