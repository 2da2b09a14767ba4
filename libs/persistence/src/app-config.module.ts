import { DynamicModule, Inject, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { AppConfig, parseConfig } from '@closeloop/core';

export const APP_CONFIG = Symbol('APP_CONFIG');
const CONFIG_KEY = 'closeloop';

/** Injects the typed configuration validated once at boot (STYLE.md: config is read once). */
export const InjectConfig = (): ParameterDecorator => Inject(APP_CONFIG);

/**
 * The environment is validated by @nestjs/config with core's `parseConfig` when an app calls
 * `forRoot()` at boot (not at import time, so a test can point an app at its own database);
 * a missing or malformed variable stops the process with its name. Lives here because
 * persistence is the one Nest-aware lib every other lib may import.
 */
@Module({})
export class AppConfigModule {
  static forRoot(): DynamicModule {
    return {
      module: AppConfigModule,
      global: true,
      imports: [
        ConfigModule.forRoot({
          ignoreEnvFile: true,
          validate: (env) => ({ [CONFIG_KEY]: parseConfig(env) }),
        }),
      ],
      providers: [
        {
          provide: APP_CONFIG,
          inject: [ConfigService],
          useFactory: (config: ConfigService): AppConfig => config.getOrThrow<AppConfig>(CONFIG_KEY),
        },
      ],
      exports: [APP_CONFIG],
    };
  }
}
