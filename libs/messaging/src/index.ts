// Front door of the messaging lib: templates (handlebars rendering) and channels (email, SMS).
export * from './rendering/template-engine';
export * from './channels/email.channel';
export * from './channels/sms.channel';
export * from './channels/sms-pdu';
export { MessagingModule } from './messaging.module';
export { TemplateService } from './template.service';
export type { CompiledTemplate } from './template.service';
export * from './dto/template.dto';
export { CELL_RENDER_COLUMNS, CUSTOMER_RENDER_COLUMNS, RENDER_COLUMNS, toRenderContext } from './render-context';
export type { RenderRow } from './render-context';
