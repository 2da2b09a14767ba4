import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { IsNull, Repository } from 'typeorm';
import { Actor, ConflictError, isRole, NotFoundError, Role, ValidationError } from '@closeloop/core';
import { ApiKeyEntity } from '@closeloop/persistence';

export interface ApiKeyView {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

// Key format: cl_<prefix>_<secret>. The prefix finds the row; only sha256(secret) is stored.
// 32 random bytes of secret make a slow hash unnecessary: there is nothing to brute-force.
const KEY_PATTERN = /^cl_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const LAST_USED_RESOLUTION_MS = 60_000;

const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret).digest();

@Injectable()
export class ApiKeyService {
  constructor(@InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>) {}

  /** Creates a key and returns it in clear text, once; only its hash is kept. */
  async create(input: { name: unknown; role: unknown }): Promise<{ key: string; apiKey: ApiKeyView }> {
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (!name || name.length > 100) throw new ValidationError('name must be 1 to 100 characters', 'name');
    if (!isRole(input.role)) {
      throw new ValidationError('role must be one of admin, marketer, analyst', 'role');
    }
    const existing = await this.keys
      .createQueryBuilder('k')
      .where('lower(k.name) = lower(:name) AND k.revoked_at IS NULL', { name })
      .getCount();
    if (existing) throw new ConflictError(`an active API key named "${name}" already exists`);
    const prefix = randomBytes(9)
      .toString('base64url')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '0')
      .slice(0, 12);
    const secret = randomBytes(32).toString('base64url');
    const entity = await this.keys.save(
      this.keys.create({
        name,
        role: input.role,
        prefix,
        secretHash: hashSecret(secret),
        createdAt: new Date(),
        lastUsedAt: null,
        revokedAt: null,
      }),
    );
    return { key: `cl_${prefix}_${secret}`, apiKey: mapApiKey(entity) };
  }

  async list(includeRevoked = false): Promise<ApiKeyView[]> {
    const rows = await this.keys.find({
      where: includeRevoked ? {} : { revokedAt: IsNull() },
      order: { createdAt: 'ASC' },
    });
    return rows.map(mapApiKey);
  }

  /** Revokes by id, prefix or (active) name. */
  async revoke(ref: string): Promise<ApiKeyView> {
    const row = await this.keys
      .createQueryBuilder('k')
      .where('k.revoked_at IS NULL')
      .andWhere('(k.id::text = :ref OR k.prefix = :ref OR lower(k.name) = lower(:ref))', { ref })
      .getOne();
    if (!row) throw new NotFoundError('api key', ref);
    row.revokedAt = new Date();
    await this.keys.save(row);
    return mapApiKey(row);
  }

  /** The actor behind a presented key, or null when it is malformed, unknown or revoked. */
  async authenticate(presented: string): Promise<Actor | null> {
    const match = KEY_PATTERN.exec(presented);
    if (!match) return null;
    const [, prefix, secret] = match;
    const row = await this.keys.findOne({ where: { prefix, revokedAt: IsNull() } });
    if (!row || !timingSafeEqual(row.secretHash, hashSecret(secret))) return null;
    if (!isRole(row.role)) return null;
    const now = Date.now();
    if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      // Coarse on purpose: one write a minute per key, not one per request.
      await this.keys.update({ id: row.id }, { lastUsedAt: new Date(now) });
    }
    return { keyId: row.id, name: row.name, role: row.role };
  }
}

export function mapApiKey(e: ApiKeyEntity): ApiKeyView {
  return {
    id: e.id,
    name: e.name,
    role: e.role as Role,
    prefix: e.prefix,
    createdAt: e.createdAt.toISOString(),
    lastUsedAt: e.lastUsedAt ? e.lastUsedAt.toISOString() : null,
    revokedAt: e.revokedAt ? e.revokedAt.toISOString() : null,
  };
}
