import { Controller, Get, Inject, OnApplicationShutdown } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import Redis from 'ioredis';
import { Public } from '../http/auth';

export const REDIS = Symbol('REDIS');

@ApiTags('operations')
@Controller('health')
export class HealthController implements OnApplicationShutdown {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  @Get()
  @Public()
  @HealthCheck()
  @ApiOperation({ summary: 'PostgreSQL and Redis reachability (503 when either is down); no API key' })
  check() {
    return this.health.check([
      () => this.db.pingCheck('database').withTimeout(1500),
      () =>
        this.indicators
          .check('redis')
          .attempt(async () => {
            const reply = await this.redis.ping();
            if (reply !== 'PONG') throw new Error(`unexpected PING reply ${reply}`);
          })
          .withTimeout(1500),
    ]);
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis.disconnect();
  }
}
