// The part of smpp@0.5.1 (no types of its own) that Closeloop uses: sessions, servers and PDUs.
declare module 'smpp' {
  import { EventEmitter } from 'node:events';
  import { Server as NetServer, Socket } from 'node:net';

  /** PDU parameters and TLVs by their SMPP names (snake_case, as in the specification). */
  export type PduParams = Record<string, unknown>;

  /** A decoded short_message or message_payload: udh is the list of information elements. */
  export interface DecodedMessage {
    udh?: Buffer[];
    message: string | Buffer;
  }

  /** A short_message to encode: udh is the whole header (its length octet first). */
  export interface MessageWithUdh {
    udh: Buffer;
    message: string | Buffer;
  }

  export class PDU {
    constructor(command: string, options?: PduParams);
    command: string;
    command_id: number;
    command_status: number;
    sequence_number: number;
    [param: string]: unknown;
    isResponse(): boolean;
    response(options?: PduParams): PDU;
  }

  type ResponseCallback = (pdu: PDU) => void;

  export class Session extends EventEmitter {
    readonly socket: Socket;
    /** Returns false (and registers nothing) when the socket is no longer writable. */
    send(pdu: PDU, responseCallback?: ResponseCallback, sendCallback?: ResponseCallback): boolean;
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
    pause(): void;
    resume(): void;
    bind_transceiver(options: PduParams, responseCallback?: ResponseCallback): boolean;
    submit_sm(options: PduParams, responseCallback?: ResponseCallback): boolean;
    deliver_sm(options: PduParams, responseCallback?: ResponseCallback): boolean;
    enquire_link(options: PduParams, responseCallback?: ResponseCallback): boolean;
    unbind(options: PduParams, responseCallback?: ResponseCallback): boolean;
  }

  export class Server extends NetServer {
    readonly sessions: Session[];
  }

  export interface ConnectOptions {
    host: string;
    port: number;
    tls?: boolean;
    auto_enquire_link_period?: number;
  }

  export function createServer(listener?: (session: Session) => void): Server;
  export function connect(options: ConnectOptions, listener?: () => void): Session;

  /** command_status names (ESME_ROK, ESME_RTHROTTLED ...) to their codes. */
  export const errors: Readonly<Record<string, number>>;

  export const gsmCoder: {
    GSM: { charRegex: RegExp };
    encode(text: string, table?: number): Buffer;
    decode(septets: Buffer | string, table?: number): string;
  };
}
