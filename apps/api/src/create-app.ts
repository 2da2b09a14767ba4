import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { json, urlencoded } from 'express';
import { Logger } from 'nestjs-pino';
import { AppConfig } from '@closeloop/core';
import { APP_CONFIG } from '@closeloop/persistence';
import { AppModule } from './app.module';
import { servePixelFirst } from './http/pixel';
import { TrackingService } from '@closeloop/tracking';
import { createValidationPipe } from './http/validation';

export function buildOpenApiDocument(app: INestApplication) {
  const config = new DocumentBuilder()
    .setTitle('Closeloop API')
    .setDescription(
      'Plan campaigns as campaign -> program -> cells, build target lists, send, track responses and measure. ' +
        'Every /v1 route needs `Authorization: Bearer <api key>`; errors are `{ statusCode, error, message }`. ' +
        'Lists are keyset-paginated: `limit` (1-200, default 50) and `cursor` (the `nextCursor` of the previous page).',
    )
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an API key from `npm run cli -- apikey create`' })
    .build();
  return SwaggerModule.createDocument(app, config);
}

const RESPONSES_BODY_LIMIT = '16mb';

/** The API application, configured exactly as `main.ts` runs it; tests boot the same thing. */
export async function createApiApp(options: { logger?: boolean } = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(), {
    bufferLogs: options.logger !== false,
    logger: options.logger === false ? false : undefined,
    bodyParser: false,
    abortOnError: false,
    // Webhook signatures are over the raw bytes (req.rawBody).
    rawBody: true,
  });
  if (options.logger !== false) app.useLogger(app.get(Logger));
  const config = app.get<AppConfig>(APP_CONFIG);
  // A batch of 10,000 responses is larger than other bodies; the first parser to run wins.
  app.use('/v1/responses', json({ limit: RESPONSES_BODY_LIMIT }));
  // The unsubscribe form and RFC 8058 one-click POSTs are form-encoded (their body is not needed).
  app.use('/u', urlencoded({ extended: false, limit: '16kb' }));
  app.useBodyParser('json', { limit: config.bodyLimit });
  if (config.trustProxy) app.set('trust proxy', config.trustProxy);
  servePixelFirst(app.getHttpServer(), app.get(TrackingService), config.trustProxy);
  app.useGlobalPipes(createValidationPipe());
  app.disable('x-powered-by');
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return app;
}
