import type { SmsEncoding } from '@closeloop/core';
import { gsmCoder, type MessageWithUdh } from 'smpp';

/** Concatenated SMS information elements (3GPP TS 23.040 9.2.3.24.1 and .8). */
const IEI_CONCATENATED_8BIT = 0x00;
const IEI_CONCATENATED_16BIT = 0x08;

export interface SmsConcatenation {
  reference: number;
  total: number;
  sequence: number;
}

/** short_message bytes: GSM-7 unpacked, one septet per octet, as SMPP carries data_coding 0; UCS-2 as UTF-16BE. */
export function encodeSmsText(text: string, encoding: SmsEncoding): Buffer {
  return encoding === 'GSM-7' ? gsmCoder.encode(text, 0x00) : Buffer.from(text, 'utf16le').swap16();
}

/** One segment of a concatenated message: a UDH with an 8-bit reference in front of its bytes. */
export function withConcatenation(message: Buffer, reference: number, total: number, sequence: number): MessageWithUdh {
  return { udh: Buffer.from([0x05, IEI_CONCATENATED_8BIT, 0x03, reference, total, sequence]), message };
}

/** The concatenation element of a decoded UDH (8- or 16-bit reference), or null for a single message. */
export function concatenationOf(udh: Buffer[] | undefined): SmsConcatenation | null {
  for (const element of udh ?? []) {
    if (element[0] === IEI_CONCATENATED_8BIT && element.length >= 5) {
      return { reference: element[2], total: element[3], sequence: element[4] };
    }
    if (element[0] === IEI_CONCATENATED_16BIT && element.length >= 6) {
      return { reference: element.readUInt16BE(2), total: element[4], sequence: element[5] };
    }
  }
  return null;
}
