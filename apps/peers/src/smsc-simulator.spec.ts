import {
  parseDeliveryReceipt,
  SmsChannel,
  type DeliveryReceipt,
  type InboundSms,
  type SmsSubmitResult,
} from '@closeloop/messaging';
import type { LoggerService } from '@nestjs/common';
import { SmscSimulator } from './smsc-simulator';

const quiet: LoggerService = { log: () => undefined, warn: () => undefined, error: () => undefined };
const fastReconnect = { baseMs: 10, maxMs: 100 };

/** Polls until the condition holds; the machine is shared, so no timing is asserted. */
async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('SmsChannel against the SMSC simulator (SMPP over loopback)', () => {
  const simulator = new SmscSimulator({
    systemId: 'closeloop',
    password: 'p@ss:word',
    undeliverable: ['+15550000002'],
    dlrDelayMs: 5,
  });
  let url: string;
  let channel: SmsChannel;
  const receipts: DeliveryReceipt[] = [];
  const inbound: InboundSms[] = [];

  const messagesTo = (to: string) => simulator.messages().filter((m) => m.to === to);

  beforeAll(async () => {
    ({ url } = await simulator.start());
    channel = new SmsChannel(url, { window: 10, reconnect: fastReconnect, logger: quiet });
    channel.onDeliveryReceipt((receipt) => void receipts.push(receipt));
    channel.onInbound((mo) => void inbound.push(mo));
    await channel.connect();
  });

  afterAll(async () => {
    await channel.close();
    await simulator.stop();
  });

  it('binds with the URL-decoded system_id and password', () => {
    expect(url).toMatch(/^smpp:\/\/closeloop:p%40ss%3Aword@127\.0\.0\.1:\d+$/);
    expect(channel.connected).toBe(true);
    expect(simulator.sessions()).toBe(1);
  });

  it('submits a short GSM text as one segment with data_coding 0 and the exact text', async () => {
    const result = await channel.submit({
      from: 'Closeloop',
      to: '+4915100000001',
      text: 'Hello @Anna: 20% off today!',
    });
    expect(result).toEqual({ messageIds: [expect.any(String)], segments: 1, encoding: 'GSM-7' });
    await until(() => messagesTo('+4915100000001').length === 1, 'the message');
    expect(messagesTo('+4915100000001')).toEqual([
      expect.objectContaining({
        id: result.messageIds[0],
        systemId: 'closeloop',
        from: 'Closeloop',
        to: '+4915100000001',
        dataCoding: 0,
        text: 'Hello @Anna: 20% off today!',
        segments: 1,
      }),
    ]);
  });

  it('cuts a 200-character GSM text into two segments that reassemble exactly', async () => {
    const text = 'Spring offer [code] {X} ~ ^ \\ | € '.repeat(5).padEnd(200, 'x'); // 245 septets
    expect(text).toHaveLength(200);
    const result = await channel.submit({ from: '+4930123456', to: '+4915100000002', text });
    expect(result).toMatchObject({ segments: 2, encoding: 'GSM-7' });
    await until(() => messagesTo('+4915100000002').length === 1, 'both segments');
    const [message] = messagesTo('+4915100000002');
    expect(message).toMatchObject({
      from: '+4930123456',
      dataCoding: 0,
      segments: 2,
      text,
      messageIds: result.messageIds,
    });
    expect(new Set(result.messageIds).size).toBe(2);
  });

  it('sends an emoji text as UCS-2 (data_coding 8) without splitting the emoji', async () => {
    const text = `${'a'.repeat(66)}😀${'ü'.repeat(10)}`;
    const result = await channel.submit({ from: 'Closeloop', to: '+4915100000003', text });
    expect(result).toMatchObject({ segments: 2, encoding: 'UCS-2' });
    await until(() => messagesTo('+4915100000003').length === 1, 'the UCS-2 message');
    expect(messagesTo('+4915100000003')[0]).toMatchObject({ dataCoding: 8, segments: 2, text });
  });

  it('reports a delivery receipt with the message id returned by submit', async () => {
    const { messageIds } = await channel.submit({ from: 'Closeloop', to: '+15550000001', text: 'Receipt please' });
    await until(() => receipts.some((r) => r.messageId === messageIds[0]), 'the receipt');
    const receipt = receipts.find((r) => r.messageId === messageIds[0])!;
    expect(receipt).toMatchObject({ messageId: messageIds[0], stat: 'DELIVRD', err: '000', delivered: true });
    expect(receipt.doneAt).toBeInstanceOf(Date);
  });

  it('reports UNDELIV for an undeliverable number', async () => {
    const { messageIds } = await channel.submit({ from: 'Closeloop', to: '+15550000002', text: 'Nobody home' });
    await until(() => receipts.some((r) => r.messageId === messageIds[0]), 'the receipt');
    expect(receipts.find((r) => r.messageId === messageIds[0])).toMatchObject({
      stat: 'UNDELIV',
      err: '001',
      delivered: false,
    });
  });

  it('rejects throttled submits with the command status, then succeeds once the rule is spent', async () => {
    simulator.addRule({ to: '+4915100000010', status: 0x58, times: 2 });
    const sms = { from: 'Closeloop', to: '+4915100000010', text: 'Throttled?', reference: 'send-42' };
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(channel.submit(sms)).rejects.toMatchObject({
        name: 'SmsSubmitError',
        commandStatus: 0x58,
        statusName: 'ESME_RTHROTTLED',
        message: 'SMSC refused submit_sm of send send-42: ESME_RTHROTTLED (0x00000058)',
      });
    }
    await expect(channel.submit(sms)).resolves.toMatchObject({ segments: 1 });
    await until(() => messagesTo('+4915100000010').length === 1, 'the third submit');
    expect(messagesTo('+4915100000010')).toHaveLength(1);
    simulator.clearRules();
  });

  it('refuses input it cannot send, before anything reaches the SMSC', async () => {
    const before = simulator.submits();
    await expect(channel.submit({ from: 'Closeloop', to: '015100000001', text: 'x' })).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'to',
    });
    await expect(channel.submit({ from: 'Closeloop', to: '+4915100000001', text: '' })).rejects.toMatchObject({
      field: 'text',
    });
    await expect(channel.submit({ from: 'A sender too long', to: '+4915100000001', text: 'x' })).rejects.toMatchObject({
      field: 'from',
    });
    expect(simulator.submits()).toBe(before);
  });

  it('passes mobile-originated messages to onInbound, a long one reassembled', async () => {
    await simulator.sendMo('+4915100000020', '12345', 'STOP');
    expect(inbound.filter((mo) => mo.from === '+4915100000020')).toEqual([
      { from: '+4915100000020', to: '12345', text: 'STOP', receivedAt: expect.any(Date) },
    ]);
    const long = `Please stop sending me offers, ${'really '.repeat(30)}ç`; // UCS-2, three segments
    await simulator.sendMo('+4915100000021', '+4930123456', long);
    expect(inbound.filter((mo) => mo.from === '+4915100000021')).toEqual([
      { from: '+4915100000021', to: '+4930123456', text: long, receivedAt: expect.any(Date) },
    ]);
  });

  it('reconnects after the connection is cut; a submit made meanwhile waits for the rebind', async () => {
    simulator.dropConnections();
    expect(simulator.sessions()).toBe(0);
    await until(() => !channel.connected, 'the channel to notice');
    const waiting = channel.submit({ from: 'Closeloop', to: '+4915100000030', text: 'After the drop' });
    await expect(waiting).resolves.toMatchObject({ segments: 1 });
    expect(channel.connected).toBe(true);
    expect(simulator.sessions()).toBe(1);
    await until(() => messagesTo('+4915100000030').length === 1, 'the message after reconnect');
    expect(messagesTo('+4915100000030')[0].text).toBe('After the drop');
  });
});

describe('SmsChannel window and failures', () => {
  it('keeps at most `window` submit_sm in flight and sends the rest in order', async () => {
    const simulator = new SmscSimulator({ respondDelayMs: 5 });
    const { url } = await simulator.start();
    const channel = new SmsChannel(url, { window: 5, logger: quiet });
    try {
      await channel.connect();
      const texts = Array.from({ length: 100 }, (_, i) => `Offer number ${i}`);
      const results: SmsSubmitResult[] = await Promise.all(
        texts.map((text) => channel.submit({ from: 'Closeloop', to: '+4915100000040', text })),
      );
      expect(results).toHaveLength(100);
      await simulator.waitForCount(100);
      expect(simulator.messages().map((m) => m.text)).toEqual(texts);
      expect(simulator.submits()).toBe(100);
      expect(simulator.maxInFlight()).toBe(5);
      expect(new Set(results.map((r) => r.messageIds[0])).size).toBe(100);
    } finally {
      await channel.close();
      await simulator.stop();
    }
  });

  it('rejects a submit in flight when the connection is lost, as retryable and possibly accepted', async () => {
    const simulator = new SmscSimulator({ respondDelayMs: 60_000 });
    const { url } = await simulator.start();
    const channel = new SmsChannel(url, { reconnect: fastReconnect, logger: quiet });
    try {
      await channel.connect();
      const inFlight = channel.submit({ from: 'Closeloop', to: '+4915100000050', text: 'Never answered' });
      await until(() => simulator.inFlight() === 1, 'the submit_sm at the SMSC');
      simulator.dropConnections();
      await expect(inFlight).rejects.toMatchObject({
        name: 'SmsConnectionError',
        retryable: true,
        possiblyAccepted: true,
      });
      await simulator.waitForSessions(1);
    } finally {
      await channel.close();
      await simulator.stop();
    }
  });

  it('rejects connect clearly on a wrong password, and does not retry', async () => {
    const simulator = new SmscSimulator({ systemId: 'closeloop', password: 'right' });
    const { port } = await simulator.start();
    const channel = new SmsChannel(`smpp://closeloop:wrong@127.0.0.1:${port}`, { logger: quiet });
    try {
      await expect(channel.connect()).rejects.toMatchObject({
        name: 'SmsBindError',
        commandStatus: 0x0e,
        statusName: 'ESME_RINVPASWD',
        message: `SMSC at smpp://127.0.0.1:${port} refused the bind: ESME_RINVPASWD (0x0000000e)`,
      });
      expect(channel.connected).toBe(false);
      expect(simulator.sessions()).toBe(0);
      await expect(channel.submit({ from: 'Closeloop', to: '+4915100000060', text: 'x' })).rejects.toMatchObject({
        name: 'SmsConnectionError',
        possiblyAccepted: false,
      });
    } finally {
      await channel.close();
      await simulator.stop();
    }
  });

  it('rejects connect when nothing listens', async () => {
    const simulator = new SmscSimulator();
    const { port } = await simulator.start();
    await simulator.stop();
    const channel = new SmsChannel(`smpp://closeloop:x@127.0.0.1:${port}`, { logger: quiet });
    await expect(channel.connect()).rejects.toMatchObject({ name: 'SmsConnectionError', retryable: true });
    await channel.close();
  });

  it('unbinds on close and refuses submits afterwards', async () => {
    const simulator = new SmscSimulator();
    const { url } = await simulator.start();
    const channel = new SmsChannel(url, { logger: quiet });
    try {
      await channel.connect();
      expect(simulator.sessions()).toBe(1);
      await channel.close();
      expect(channel.connected).toBe(false);
      await until(() => simulator.sessions() === 0, 'the session to go');
      await expect(channel.submit({ from: 'Closeloop', to: '+4915100000070', text: 'x' })).rejects.toMatchObject({
        name: 'SmsConnectionError',
        message: 'SMS channel is closed',
      });
    } finally {
      await simulator.stop();
    }
  });
});

describe('parseDeliveryReceipt', () => {
  it('reads the classic receipt text when the TLVs are missing', () => {
    const text =
      'id:0123456789 sub:001 dlvrd:000 submit date:2403151200 done date:240315120530 stat:EXPIRED err:027 text:Hello';
    expect(parseDeliveryReceipt(text)).toEqual({
      messageId: '0123456789',
      stat: 'EXPIRED',
      err: '027',
      doneAt: new Date('2024-03-15T12:05:30Z'),
      delivered: false,
    });
  });

  it('prefers receipted_message_id and message_state', () => {
    const text = 'id:1 sub:001 dlvrd:001 submit date:2403151200 done date:2403151201 stat:DELIVRD err:000 text:';
    expect(parseDeliveryReceipt(text, { receiptedMessageId: 'abc', messageState: 8 })).toMatchObject({
      messageId: 'abc',
      stat: 'REJECTD',
      delivered: false,
      doneAt: new Date('2024-03-15T12:01:00Z'),
    });
  });
});
