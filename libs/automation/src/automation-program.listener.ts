import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Actor, ProgramAction } from '@closeloop/core';
import { ProgramService, ProgramStateListener, ProgramView } from '@closeloop/planning';
import { DripService } from './drip.service';
import { RuleService } from './rule.service';

/**
 * Follows the programs automation keeps: when something other than automation pauses one (the
 * complaint guard, at a 0.3% complaint rate), the drip or rule it measures is paused too, so it stops
 * enrolling and firing instead of queueing messages that cannot go.
 */
@Injectable()
export class AutomationProgramListener implements ProgramStateListener, OnModuleInit {
  private readonly logger = new Logger(AutomationProgramListener.name);

  constructor(
    private readonly programs: ProgramService,
    private readonly drips: DripService,
    private readonly rules: RuleService,
  ) {}

  onModuleInit(): void {
    this.programs.addStateListener(this);
  }

  async onProgramStateChanged(program: ProgramView, action: ProgramAction, actor: Actor): Promise<void> {
    if (action !== 'pause' || !program.managedBy || actor.name.startsWith('automation')) return;
    const reason = `program ${program.code} was paused (${actor.name})`;
    const paused =
      program.managedBy.type === 'drip'
        ? await this.drips.pauseFor(reason, program.managedBy.id)
        : await this.rules.pauseFor(reason, program.managedBy.id);
    if (paused) this.logger.warn({ program: program.code, [program.managedBy.type]: program.managedBy.id }, reason);
  }
}
