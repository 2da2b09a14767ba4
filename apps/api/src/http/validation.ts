import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

/** `cells.0.weight` -> `cells[0].weight`, the path style used in every error message. */
function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = /^\d+$/.test(e.property)
      ? `${parent}[${e.property}]`
      : parent
        ? `${parent}.${e.property}`
        : e.property;
    const own = Object.values(e.constraints ?? {}).map((msg) =>
      // class-validator starts messages with the bare property name; name the full path instead.
      msg.startsWith(`${e.property} `) ? `${path}${msg.slice(e.property.length)}` : `${path}: ${msg}`,
    );
    const whitelist = e.constraints?.whitelistValidation;
    const rest = flatten(e.children ?? [], path);
    return whitelist ? [`${path} is not a known field`, ...rest] : [...own, ...rest];
  });
}

/** Global pipe: unknown fields are refused, messages name the field (API.md "Errors"). */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    stopAtFirstError: false,
    exceptionFactory: (errors) => new BadRequestException(flatten(errors).join('; ')),
  });
}

/** Validates a body against a DTO chosen at run time (a route that takes one thing or a batch of them). */
export async function validateAs<T extends object>(dto: new () => T, value: unknown): Promise<T> {
  return (await createValidationPipe().transform(value, { type: 'body', metatype: dto })) as T;
}
