import { Module } from '@nestjs/common';
import { TemplateEngine } from './rendering/template-engine';
import { TemplateService } from './template.service';

/** Templates (versioned, compiled on save) and rendering. Needs PersistenceModule in the app. */
@Module({
  providers: [{ provide: TemplateEngine, useFactory: () => new TemplateEngine() }, TemplateService],
  exports: [TemplateEngine, TemplateService],
})
export class MessagingModule {}
