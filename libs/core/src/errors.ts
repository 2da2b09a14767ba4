/** Typed domain errors. Services throw these; the API maps each `kind` to one HTTP status, once. */
export abstract class DomainError extends Error {
  abstract readonly kind: 'invalid' | 'not_found' | 'conflict' | 'unprocessable' | 'too_large';

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input; `field` names the offending field or path (e.g. `cells[1].weight`). */
export class ValidationError extends DomainError {
  readonly kind = 'invalid' as const;

  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export class NotFoundError extends DomainError {
  readonly kind = 'not_found' as const;

  constructor(
    readonly entity: string,
    readonly key: string,
  ) {
    super(`${entity} "${key}" not found`);
  }
}

export class ConflictError extends DomainError {
  readonly kind = 'conflict' as const;
}

export class InvalidTransitionError extends DomainError {
  readonly kind = 'conflict' as const;

  constructor(
    readonly entity: string,
    readonly from: string,
    readonly action: string,
  ) {
    super(`${entity} cannot ${action} from state ${from}`);
  }
}

export class UnprocessableError extends DomainError {
  readonly kind = 'unprocessable' as const;
}

/**
 * A template that does not compile (HTTP 422). `line` and `column` are 1-based and point into the
 * named `part` (subject, html, text or body) as the marketer wrote it.
 */
export class TemplateCompileError extends UnprocessableError {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
    readonly part?: string,
  ) {
    super(message);
  }
}

/** A body or upload over a configured size (HTTP 413). */
export class TooLargeError extends DomainError {
  readonly kind = 'too_large' as const;
}

/** A missing or malformed environment variable: the process stops at start with this message. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}
