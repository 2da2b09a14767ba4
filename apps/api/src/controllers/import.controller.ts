import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import busboy from 'busboy';
import type { Request, Response } from 'express';
import type { Readable } from 'node:stream';
import {
  Actor,
  AppConfig,
  IMPORT_KINDS,
  ImportKind,
  NotFoundError,
  TooLargeError,
  ValidationError,
} from '@closeloop/core';
import {
  ImportJobs,
  ImportListQueryDto,
  ImportOptionsDto,
  ImportPage,
  ImportService,
  ImportView,
} from '@closeloop/audience';
import { InjectConfig } from '@closeloop/persistence';
import { ApiErrors } from '../http/api-errors';
import { CurrentActor, READ_ROLES, Roles, WRITE_ROLES } from '../http/auth';

const CSV_TYPES = ['text/csv', 'application/csv', 'text/plain', 'application/vnd.ms-excel', 'application/octet-stream'];

@ApiTags('audience')
@ApiBearerAuth()
@Controller('v1/imports')
export class ImportController {
  constructor(
    private readonly jobs: ImportJobs,
    private readonly imports: ImportService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  @Post(':kind')
  @HttpCode(202)
  @Roles(...WRITE_ROLES)
  @ApiOperation({
    summary: 'Upload a CSV of customers, orders or suppressions; it is processed as a job',
    description:
      'The body is the CSV itself (text/csv) or a multipart form with one file field. The answer comes once the ' +
      'file is stored; follow the import at its Location. Columns and their accepted spellings: see the README.',
  })
  @ApiParam({ name: 'kind', enum: IMPORT_KINDS })
  @ApiConsumes('text/csv', 'multipart/form-data')
  @ApiBody({
    schema: { type: 'string', format: 'binary' },
    description: 'the CSV file (UTF-8, header row first)',
  })
  @ApiAcceptedResponse({ type: ImportView, description: 'stored and queued' })
  @ApiErrors(400, 404, 413)
  async create(
    @CurrentActor() actor: Actor,
    @Param('kind') kind: string,
    @Query() options: ImportOptionsDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ImportView> {
    if (!(IMPORT_KINDS as readonly string[]).includes(kind)) throw new NotFoundError('import kind', kind);
    const declared = Number(req.headers['content-length']);
    if (declared > this.config.importMaxBytes) {
      res.setHeader('Connection', 'close');
      throw new TooLargeError(`the file is over the import limit of ${this.config.importMaxBytes} bytes`);
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    let file: Readable;
    let fileName: string | null = null;
    if (type === 'multipart/form-data') {
      ({ stream: file, fileName } = await multipartFile(req));
    } else if (CSV_TYPES.includes(type)) {
      file = req;
    } else {
      throw new ValidationError('Content-Type must be text/csv or multipart/form-data', 'Content-Type');
    }
    try {
      const created = await this.jobs.submit(actor, kind as ImportKind, { ...options, fileName }, file);
      res.setHeader('Location', `/v1/imports/${created.id}`);
      return created;
    } catch (error) {
      // Stop reading an upload we refuse; the client gets the answer and the connection closes.
      if (!req.complete) res.setHeader('Connection', 'close');
      throw error;
    }
  }

  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Imports, oldest first (keyset-paginated)' })
  @ApiOkResponse({ type: ImportPage })
  @ApiErrors(400)
  list(@Query() query: ImportListQueryDto) {
    return this.imports.list(query);
  }

  @Get(':id')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'An import: state, progress, counts and where its rejected rows are' })
  @ApiOkResponse({ type: ImportView })
  @ApiErrors(404)
  get(@Param('id') id: string) {
    return this.imports.get(id);
  }

  @Get(':id/errors.csv')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'The rejected rows of an import as CSV: line, column, reason (formula-safe)' })
  @ApiProduces('text/csv')
  @ApiOkResponse({ description: 'columns line,column,reason', content: { 'text/csv': { schema: { type: 'string' } } } })
  @ApiErrors(404)
  async errors(@Param('id') id: string, @Res() res: Response) {
    const pages = this.imports.errorsCsv(id);
    const first = await pages.next(); // an unknown import is still a 404
    res
      .status(200)
      .type('text/csv')
      .setHeader('Content-Disposition', `attachment; filename="import-${encodeURIComponent(id)}-errors.csv"`);
    for (let page = first; !page.done; page = await pages.next()) {
      if (!res.write(page.value)) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  }
}

/** The first file of a multipart form, as a stream (busboy never buffers it whole). */
function multipartFile(req: Request): Promise<{ stream: Readable; fileName: string | null }> {
  return new Promise((resolve, reject) => {
    let form: busboy.Busboy;
    try {
      form = busboy({ headers: req.headers, limits: { files: 1 } });
    } catch (error) {
      reject(new ValidationError(`the multipart form cannot be read: ${(error as Error).message}`, 'file'));
      return;
    }
    form.on('file', (_name, stream, info) => resolve({ stream, fileName: info.filename ?? null }));
    form.on('error', (error) =>
      reject(new ValidationError(`the multipart form is malformed: ${(error as Error).message}`, 'file')),
    );
    form.on('close', () => reject(new ValidationError('the form has no file field', 'file')));
    req.pipe(form);
  });
}
