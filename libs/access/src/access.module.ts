import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyEntity } from '@closeloop/persistence';
import { ApiKeyService } from './api-key.service';

/** API keys and roles. The HTTP guard that uses them lives in apps/api. */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity])],
  providers: [ApiKeyService],
  exports: [ApiKeyService],
})
export class AccessModule {}
