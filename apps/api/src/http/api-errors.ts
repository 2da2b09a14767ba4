import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';

export class ErrorResponse {
  @ApiProperty({ example: 409 }) statusCode!: number;
  @ApiProperty({ example: 'Conflict' }) error!: string;
  @ApiProperty({ example: 'program LOY26-LAPSED cannot launch: cell weights sum to 90, not 100 (A 45, B 45)' })
  message!: string;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'invalid input; the message names the field',
  401: 'missing, malformed or revoked API key',
  403: 'the key role may not call this route',
  404: 'unknown id or code',
  409: 'conflict: duplicate code or illegal state change',
  413: 'request body too large',
  422: 'well-formed but not processable',
};

/** Documents the error responses of a route with the one error shape. 401 and 403 are implied. */
export const ApiErrors = (...statuses: number[]) =>
  applyDecorators(
    ...[401, 403, ...statuses].map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status], type: ErrorResponse }),
    ),
  );
