import Papa from 'papaparse';
import { recordLines, ValidationError } from '@closeloop/core';

/** One parsed record and the physical line it starts on (1 = the header). */
export interface CsvRecord {
  line: number;
  fields: string[];
  /** A quoting problem papaparse recovered from; the row is rejected with it. */
  problem?: string;
}

/** A record larger than this is taken for an unclosed quote rather than buffered on. */
const MAX_RECORD_CHARS = 1024 * 1024;

/** The file is not something we can read as CSV; the import fails with this and changes nothing. */
export class MalformedFileError extends ValidationError {
  constructor(message: string) {
    super(message, 'file');
  }
}

/**
 * Streams CSV records out of a byte stream, in batches, without holding the file: UTF-8 with or
 * without a BOM (anything else, or a NUL byte, fails the file), quoted fields with delimiters,
 * quotes and line breaks, `\n`, `\r\n` or `\r` line ends, blank lines skipped. Each record carries
 * the line it starts on, counted through the line breaks inside quoted fields.
 */
export async function* readCsv(
  chunks: AsyncIterable<Buffer>,
  delimiter: string,
  onBytes: (bytes: number) => void = () => {},
): AsyncGenerator<CsvRecord[]> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let parser: Papa.Parser | undefined;
  let partial = '';
  let line = 1;
  let bytes = 0;

  const take = (data: string[][], errors: Papa.ParseError[]): CsvRecord[] => {
    const invalid = new Map<number, string>();
    for (const e of errors) if (e.code === 'InvalidQuotes' && e.row !== undefined) invalid.set(e.row, e.message);
    const out: CsvRecord[] = [];
    data.forEach((fields, i) => {
      const lines = recordLines(fields);
      if (!(fields.length === 1 && fields[0].trim() === '')) {
        const problem = invalid.get(i);
        out.push(
          problem ? { line, fields, problem: `badly quoted field (${problem.toLowerCase()})` } : { line, fields },
        );
      }
      line += lines;
    });
    return out;
  };

  for await (const chunk of chunks) {
    const nul = chunk.indexOf(0);
    if (nul !== -1)
      throw new MalformedFileError(`the file looks binary, not CSV text (a NUL byte at byte ${bytes + nul + 1})`);
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw new MalformedFileError(`the file is not UTF-8 text (an invalid byte sequence after byte ${bytes})`);
    }
    bytes += chunk.length;
    if (!parser) parser = new Papa.Parser({ delimiter, newline: guessNewline(text), quoteChar: '"' });
    const input = partial + text;
    const result = parser.parse(input, 0, true);
    partial = input.substring(result.meta.cursor);
    if (partial.length > MAX_RECORD_CHARS) {
      throw new MalformedFileError(
        `the record starting on line ${line} runs over 1 MiB: a quoted field is probably never closed`,
      );
    }
    // Errors of the unfinished last row come again when it is complete; keep those of whole rows.
    const records = take(
      result.data as string[][],
      result.errors.filter((e: Papa.ParseError) => (e.row ?? 0) < result.data.length),
    );
    onBytes(bytes);
    if (records.length) yield records;
  }
  try {
    decoder.decode();
  } catch {
    throw new MalformedFileError('the file is not UTF-8 text (it ends inside a multi-byte character)');
  }
  if (!parser) return;
  const result = parser.parse(partial, 0, false);
  const missing = result.errors.find((e: Papa.ParseError) => e.code === 'MissingQuotes');
  if (missing) {
    throw new MalformedFileError(`a quoted field in the record starting on line ${line} is never closed`);
  }
  const records = take(result.data as string[][], result.errors);
  if (records.length) yield records;
}

function guessNewline(text: string): '\n' | '\r\n' | '\r' {
  const lf = text.indexOf('\n');
  if (lf > 0 && text[lf - 1] === '\r') return '\r\n';
  if (lf !== -1) return '\n';
  return text.includes('\r') ? '\r' : '\n';
}
