import { Actor } from '@closeloop/core';
import { ProgramView } from './dto/program.dto';

/**
 * The seam between planning and what runs a program. Planning moves the program to `running`
 * and then tells every listener; the delivery lib (a later issue) registers one that builds the
 * target list and starts the send. Listeners run after the state change has committed.
 */
export interface ProgramLaunchListener {
  onProgramLaunched(program: ProgramView, actor: Actor): Promise<void>;
}

export const PROGRAM_LAUNCH_LISTENERS = Symbol('PROGRAM_LAUNCH_LISTENERS');

export const CLOCK = Symbol('CLOCK');
