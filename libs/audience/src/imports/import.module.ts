import { Module } from '@nestjs/common';
import { ImportService } from './import.service';

/** Imports without the queue: what the CLI needs to import a file in its own process. */
@Module({ providers: [ImportService], exports: [ImportService] })
export class ImportModule {}
