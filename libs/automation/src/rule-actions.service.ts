import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ATTRIBUTE_CHANGED, Clock, codeKey, RuleAction, systemClock } from '@closeloop/core';
import { CustomerService, mapCustomer } from '@closeloop/audience';
import { DispatcherService, SendLedgerRepository } from '@closeloop/delivery';
import { TemplateService } from '@closeloop/messaging';
import { DataSource, EntityManager } from 'typeorm';
import { AUTOMATION_CLOCK } from './automation-clock';
import { AfterEvents, AutomationEvents, InternalEvent, NOTHING_AFTER } from './automation-events.service';
import { DripCatalog } from './drip-catalog';
import { EnrollmentRepository } from './enrollment.repository';
import { OutboundWebhookError, OutboundWebhookSender } from './outbound-webhook';
import { ruleHoldoutCode } from './rule.service';

export interface ActionResult {
  type: RuleAction['type'];
  status: 'done' | 'failed' | 'skipped' | 'held-out';
  detail?: unknown;
}

interface FiringRow {
  id: string;
  rule_id: string;
  event_id: string;
  customer_id: string;
  depth: number;
  state: string;
  program_id: string | null;
  cell_id: string | null;
  results: ActionResult[];
  created_at: Date;
  rule_code: string;
  rule_name: string;
  /** The rule's actions when it fired. */
  actions: RuleAction[];
  cell_code: string | null;
  response_code: string | null;
  is_control: boolean | null;
}

/** A customer as the actions need it: the row `mapCustomer` reads, and whether it was erased. */
type CustomerRow = Parameters<typeof mapCustomer>[0] & { erased: boolean };

/**
 * Runs a rule firing's actions (the `act` job; BullMQ may run it more than once). Database actions
 * (send, enroll, update, suppress, unsuppress) run in one transaction under the firing's row lock,
 * each recorded in the firing's results, so a rerun does only what is left; sends and enrollments
 * are keyed by the firing besides (a send per action, an enrollment per action). Webhooks go after
 * the commit, one by one: at least once (receivers dedupe on `Closeloop-Webhook-Id`), a retryable
 * failure retried with the job's backoff, the last one recorded as failed.
 *
 * A held-out firing (the customer is in the rule's holdout cell) does nothing but write a `held_out`
 * send for each send action, the touch its conversions are measured by.
 */
@Injectable()
export class RuleActions {
  private readonly logger = new Logger(RuleActions.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly templates: TemplateService,
    private readonly ledger: SendLedgerRepository,
    private readonly dispatcher: DispatcherService,
    private readonly customers: CustomerService,
    private readonly catalog: DripCatalog,
    private readonly enrollments: EnrollmentRepository,
    private readonly events: AutomationEvents,
    private readonly webhooks: OutboundWebhookSender,
    @Optional() @Inject(AUTOMATION_CLOCK) private readonly clock: Clock = systemClock,
  ) {}

  /** `lastAttempt`: a retryable webhook failure is recorded as failed instead of thrown for a retry. */
  async run(firingId: string, lastAttempt: boolean): Promise<{ state: string } | null> {
    const phase = await this.dataSource.transaction(async (m) => this.databaseActions(m, firingId));
    if (!phase) return null;
    try {
      await this.dispatcher.flushOutbox({ ids: phase.outbox });
    } catch (error) {
      this.logger.warn({ err: error, firing: firingId }, 'rule sends not enqueued yet; the sweep will');
    }
    await this.events.afterCommit(phase.after);
    const { firing, customer, results } = phase;
    const webhooks = firing.actions
      .map((action, i) => ({ action, i }))
      .filter(({ action, i }) => action.type === 'webhook' && !results[i]);
    for (const { action, i } of webhooks) {
      if (action.type !== 'webhook') continue;
      try {
        const sent = await this.webhooks.send(action.url, await this.payload(firing, customer, i), {
          id: `${firing.id}.a${i}`,
        });
        results[i] = {
          type: 'webhook',
          status: 'done',
          detail: { status: sent.status, ms: Math.round(sent.durationMs) },
        };
      } catch (error) {
        const e = error as OutboundWebhookError;
        if (e.retryable && !lastAttempt) {
          await this.save(firing.id, results, 'pending', null);
          throw error;
        }
        results[i] = { type: 'webhook', status: 'failed', detail: e.message };
      }
    }
    const failed = results.filter((r) => r?.status === 'failed');
    const state = failed.length ? 'failed' : firing.is_control ? 'held-out' : 'done';
    const error = failed.length ? failed.map((r) => `${r.type}: ${String(r.detail)}`).join('; ') : null;
    await this.save(firing.id, results, state, error);
    return { state };
  }

  /** A firing whose job ran out of attempts on something else than a webhook answer. */
  async markFailed(firingId: string, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE rule_firing SET state = 'failed', error = $2, finished_at = $3 WHERE id = $1 AND state = 'pending'`,
      [firingId, error, this.clock.now()],
    );
  }

  private async save(id: string, results: ActionResult[], state: string, error: string | null): Promise<void> {
    await this.dataSource.query(
      `UPDATE rule_firing SET results = $2, state = $3, error = $4,
              finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE $5::timestamptz END
        WHERE id = $1 AND state = 'pending'`,
      [id, JSON.stringify(results), state, error, this.clock.now()],
    );
  }

  private async databaseActions(m: EntityManager, firingId: string) {
    const rows: FiringRow[] = await m.query(
      `SELECT f.id, f.rule_id, f.event_id, f.customer_id, f.depth, f.state, f.program_id, f.cell_id, f.results,
              f.created_at, r.code AS rule_code, r.name AS rule_name, f.actions, ce.code AS cell_code,
              ce.response_code, ce.is_control
         FROM rule_firing f JOIN rule r ON r.id = f.rule_id LEFT JOIN cell ce ON ce.id = f.cell_id
        WHERE f.id = $1 FOR UPDATE OF f`,
      [firingId],
    );
    const firing = rows[0];
    if (!firing || firing.state !== 'pending') return null;
    const [customer]: CustomerRow[] = await m.query(
      `SELECT c.*, c.erased_at IS NOT NULL AS erased FROM customer c WHERE c.id = $1`,
      [firing.customer_id],
    );
    const now = this.clock.now();
    const results: ActionResult[] = [...(firing.results ?? [])];
    const sends: Parameters<SendLedgerRepository['writeOriginSends']>[1] = [];
    const raised: InternalEvent[] = [];
    let enrolled = false;
    const actions = firing.actions;
    const heldOut = firing.is_control === true;
    if (firing.program_id && firing.cell_id) {
      await this.enrollments.addMembers(
        m,
        [{ programId: firing.program_id, customerId: customer.id, cellId: firing.cell_id }],
        now,
      );
    }
    for (const [i, action] of actions.entries()) {
      if (results[i]) continue;
      if (customer.erased) {
        results[i] = { type: action.type, status: 'skipped', detail: 'customer erased' };
        continue;
      }
      if (heldOut && action.type !== 'send') {
        results[i] = { type: action.type, status: 'held-out' };
        continue;
      }
      switch (action.type) {
        case 'send': {
          const t = (await this.templates.currentVersions(m, [action.template])).get(codeKey(action.template));
          if (!t || !firing.program_id || !firing.cell_id) {
            results[i] = { type: 'send', status: 'failed', detail: `template "${action.template}" does not exist` };
            break;
          }
          const channel = t.channel as 'email' | 'sms';
          sends.push({
            programId: firing.program_id,
            cellId: firing.cell_id,
            responseCode: firing.response_code!,
            customerId: customer.id,
            channel,
            address: channel === 'email' ? customer.email : customer.phone,
            templateCode: action.template,
            templateVersion: t.version,
            originId: firing.id,
            stepId: `a${i}`,
            heldOut,
          });
          results[i] = {
            type: 'send',
            status: heldOut ? 'held-out' : 'done',
            detail: { template: action.template, channel },
          };
          break;
        }
        case 'enroll': {
          const [drip]: { id: string; code: string; state: string; version: number }[] = await m.query(
            `SELECT id, code, state, version FROM drip WHERE lower(code) = lower($1)`,
            [action.drip],
          );
          if (!drip || drip.state !== 'active') {
            results[i] = {
              type: 'enroll',
              status: 'skipped',
              detail: drip ? `drip ${drip.code} is ${drip.state}` : `no drip ${action.drip}`,
            };
            break;
          }
          const v = await this.catalog.version(drip.id, drip.version, m);
          const done = await this.enrollments.enroll(
            m,
            v,
            v.definition.reentry,
            [{ customerId: customer.id, triggerKey: `rule:${firing.id}:${i}`, depth: firing.depth + 1 }],
            now,
          );
          enrolled ||= done.length > 0;
          results[i] = {
            type: 'enroll',
            status: done.length ? 'done' : 'skipped',
            detail: done.length
              ? { drip: drip.code }
              : `already in drip ${drip.code} (re-entry ${v.definition.reentry})`,
          };
          break;
        }
        case 'update': {
          const [change] = await this.customers.setAttributes(m, [{ customerId: customer.id, set: action.set }], now);
          const changed = change?.changes ?? {};
          if (Object.keys(changed).length) {
            raised.push({
              customerId: customer.id,
              type: ATTRIBUTE_CHANGED,
              occurredAt: now,
              properties: { changes: changed, rule: firing.rule_code },
              depth: firing.depth + 1,
              causeId: firing.id,
              source: `rule:${firing.rule_code}`,
              idempotencyKey: `firing:${firing.id}:a${i}`,
            });
          }
          results[i] = { type: 'update', status: 'done', detail: { changed: Object.keys(changed) } };
          break;
        }
        case 'suppress':
        case 'unsuppress': {
          const channels = action.channel === 'all' ? (['email', 'sms'] as const) : [action.channel];
          const addresses = channels.flatMap((c) => {
            const address = c === 'email' ? customer.email : customer.phone;
            return address ? [{ channel: c, address }] : [];
          });
          const n =
            action.type === 'suppress'
              ? await this.suppress(m, addresses, customer.id, firing.rule_code)
              : await this.unsuppress(m, addresses, customer.id);
          results[i] = {
            type: action.type,
            status: 'done',
            detail: { [action.type === 'suppress' ? 'suppressed' : 'lifted']: n },
          };
          break;
        }
        case 'webhook':
          if (heldOut) results[i] = { type: 'webhook', status: 'held-out' };
          break;
      }
    }
    const { outbox } = await this.ledger.writeOriginSends(m, sends, now);
    const after: AfterEvents = raised.length ? await this.events.recordIn(m, raised) : { ...NOTHING_AFTER };
    if (enrolled) after.enrolled = true;
    await m.query(`UPDATE rule_firing SET results = $2 WHERE id = $1`, [firing.id, JSON.stringify(results)]);
    return { firing, customer, results, outbox, after };
  }

  private async suppress(
    m: EntityManager,
    addresses: { channel: 'email' | 'sms'; address: string }[],
    customerId: string,
    rule: string,
  ): Promise<number> {
    if (!addresses.length) return 0;
    const rows: unknown[] = await m.query(
      `INSERT INTO suppression (channel, address, address_hash, customer_id, reason, source, created_by)
       SELECT x.channel, x.address, sha256(convert_to(x.address, 'UTF8')), $3, 'manual', $4, 'automation'
         FROM unnest($1::text[], $2::text[]) AS x(channel, address)
       ON CONFLICT (channel, address_hash) DO NOTHING RETURNING 1`,
      [addresses.map((a) => a.channel), addresses.map((a) => a.address), customerId, `rule:${rule}`],
    );
    return rows.length;
  }

  /**
   * Lifts suppressions a rule made only: an unsubscribe, a bounce or a complaint is the recipient's, and a
   * block an operator added by hand is the operator's, not a rule's to undo.
   */
  private async unsuppress(
    m: EntityManager,
    addresses: { channel: 'email' | 'sms'; address: string }[],
    customerId: string,
  ): Promise<number> {
    if (!addresses.length) return 0;
    const rows: unknown[] = await m.query(
      `WITH lifted AS (
         DELETE FROM suppression s USING unnest($1::text[], $2::text[]) AS x(channel, address)
          WHERE s.channel = x.channel AND s.reason = 'manual' AND s.source LIKE 'rule:%'
            AND (s.address_hash = sha256(convert_to(x.address, 'UTF8')) OR s.customer_id = $3)
         RETURNING 1)
       SELECT 1 FROM lifted`,
      [addresses.map((a) => a.channel), addresses.map((a) => a.address), customerId],
    );
    return rows.length;
  }

  /** What a rule webhook receives: the firing, the rule, the event and the customer. */
  private async payload(firing: FiringRow, customer: CustomerRow, index: number) {
    const [event]: { id: string; type: string; occurred_at: Date; properties: Record<string, unknown> }[] =
      await this.dataSource.query(`SELECT id, type, occurred_at, properties FROM customer_event WHERE id = $1`, [
        firing.event_id,
      ]);
    return {
      id: `${firing.id}.a${index}`,
      firing: { id: firing.id, depth: firing.depth, firedAt: new Date(firing.created_at).toISOString() },
      rule: { code: firing.rule_code, name: firing.rule_name },
      event: event
        ? {
            id: event.id,
            type: event.type,
            occurredAt: new Date(event.occurred_at).toISOString(),
            properties: event.properties,
          }
        : null,
      customer: (({ id: _id, erasedAt: _erased, ...view }) => view)(mapCustomer(customer)),
      // Post an event back with "cause": firing.id and it counts one level deeper (loops stop at RULE_MAX_DEPTH).
      cause: firing.id,
      holdout: ruleHoldoutCode(firing.rule_code) === firing.cell_code,
    };
  }
}
