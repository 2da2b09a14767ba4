import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Actor, Role } from '@closeloop/core';
import { ApiKeyService } from '@closeloop/access';
import type { Request } from 'express';

const ROLES_KEY = 'closeloop:roles';
const PUBLIC_KEY = 'closeloop:public';

/** Roles allowed on a route. A /v1 route without this decorator is admin-only (fail closed). */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
/** No API key needed: health, docs, and (later) the tracking endpoints hit by mail clients. */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export const READ_ROLES: Role[] = ['admin', 'marketer', 'analyst'];
export const WRITE_ROLES: Role[] = ['admin', 'marketer'];

type AuthedRequest = Request & { actor?: Actor };

export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const actor = ctx.switchToHttp().getRequest<AuthedRequest>().actor;
  if (!actor) throw new UnauthorizedException('missing API key');
  return actor;
});

export function rolesFor(reflector: Reflector, ctx: ExecutionContext): Role[] {
  return reflector.getAllAndOverride<Role[]>(ROLES_KEY, [ctx.getHandler(), ctx.getClass()]) ?? ['admin'];
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, [ctx.getHandler(), ctx.getClass()])) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new UnauthorizedException('missing API key: send Authorization: Bearer <key>');
    const actor = await this.keys.authenticate(match[1]);
    if (!actor) throw new UnauthorizedException('invalid or revoked API key');
    req.actor = actor;
    const allowed = rolesFor(this.reflector, ctx);
    if (!allowed.includes(actor.role)) {
      throw new ForbiddenException(`role ${actor.role} may not do this; allowed: ${allowed.join(', ')}`);
    }
    return true;
  }
}
