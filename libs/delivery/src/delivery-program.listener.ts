import { Injectable, Logger } from '@nestjs/common';
import { Actor, ProgramAction } from '@closeloop/core';
import { LaunchCandidate, ProgramStateListener, ProgramView } from '@closeloop/planning';
import { EntityManager } from 'typeorm';
import { DispatcherService } from './dispatcher.service';
import { SendLedgerRepository } from './send-ledger.repository';

/**
 * How delivery follows a program's state: launch -> dispatch; resume -> re-enqueue only what is
 * still pending (never the list from the top); cancel -> the rest cancelled. Pause needs nothing
 * here: a worker claims sends of running programs only, so pausing stops new sends at once.
 */
@Injectable()
export class DeliveryProgramListener implements ProgramStateListener {
  private readonly logger = new Logger(DeliveryProgramListener.name);

  constructor(
    private readonly dispatcher: DispatcherService,
    private readonly ledger: SendLedgerRepository,
  ) {}

  /** Templates named by the program or its cells must exist on the program's channel before it is scheduled or launched. */
  async assertLaunchable(program: LaunchCandidate, cellTemplates: (string | null)[], m: EntityManager): Promise<void> {
    const codes = [program.templateCode, ...cellTemplates].filter((c): c is string => !!c);
    await this.dispatcher.assertTemplates(m, program.channel, [...new Set(codes)]);
  }

  async onProgramStateChanged(program: ProgramView, action: ProgramAction, _actor: Actor): Promise<void> {
    if (action === 'launch') await this.dispatcher.requestDispatch(program.id);
    if (action === 'resume') {
      const n = await this.dispatcher.enqueuePending(program.id, `r${Date.now()}`);
      this.logger.log({ program: program.code, pending: n }, 'program resumed');
    }
    if (action === 'cancel') {
      const n = await this.ledger.cancelPending(program.id);
      this.logger.log({ program: program.code, cancelled: n }, 'program cancelled');
    }
  }
}
