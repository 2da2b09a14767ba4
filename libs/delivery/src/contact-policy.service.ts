import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Actor, Clock, ContactPolicy, DEFAULT_CONTACT_POLICY, parseContactPolicy, systemClock } from '@closeloop/core';
import { AuditService } from '@closeloop/persistence';
import { DataSource } from 'typeorm';

export const DELIVERY_CLOCK = Symbol('DELIVERY_CLOCK');

const KEY = 'contact-policy';
/** Workers re-read the policy this often, so a change holds everywhere within seconds. */
const CACHE_MS = 5000;

/**
 * The contact policy (PRODUCT.md): rules across all campaigns, applied at send time. Stored as one
 * setting; until someone sets it, the default holds (no cap, SMS quiet hours 21:00-08:00 local).
 */
@Injectable()
export class ContactPolicyService {
  private cached: { policy: ContactPolicy; at: number } | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    @Optional() @Inject(DELIVERY_CLOCK) private readonly clock: Clock = systemClock,
  ) {}

  async get(): Promise<ContactPolicy> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < CACHE_MS) return this.cached.policy;
    const rows: { value: unknown }[] = await this.dataSource.query(`SELECT value FROM setting WHERE key = $1`, [KEY]);
    const policy = rows.length ? parseContactPolicy(rows[0].value) : DEFAULT_CONTACT_POLICY;
    this.cached = { policy, at: now };
    return policy;
  }

  async set(actor: Actor, input: unknown): Promise<ContactPolicy> {
    const policy = parseContactPolicy(input);
    await this.dataSource.transaction(async (m) => {
      await m.query(
        `INSERT INTO setting (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET value = $2, updated_by = $3, updated_at = $4`,
        [KEY, JSON.stringify(policy), actor.name, this.clock.now()],
      );
      await this.audit.record(m, actor, {
        action: 'contact-policy.set',
        entityType: 'setting',
        entityId: null,
        changes: policy as unknown as Record<string, unknown>,
      });
    });
    this.cached = null;
    return policy;
  }
}
