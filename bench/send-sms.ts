import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { connect, gsmCoder, PDU } from 'smpp';
import { BenchContext, Scenario, stopApp } from './harness';
import { cpuMeter, formatCpu, formatPhases, formatRss, rssTrend, runProgram, startPeers } from './send-email';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
// SmsChannel's default window: submit_sm unanswered at once.
const WINDOW = 10;
const SMS_FROM = 'Closeloop';
const ESM_CLASS_DELIVERY_RECEIPT = 0x04;

async function seedCustomers(ctx: BenchContext, count: number): Promise<void> {
  const db = new Client({ connectionString: ctx.databaseUrl });
  await db.connect();
  try {
    await db.query(
      `INSERT INTO customer (external_id, phone, phone_given, first_name, last_name, locale, time_zone, country,
                             consent_sms, lifecycle_stage)
       SELECT 's' || i, p, p, (ARRAY['Anna','Ben','Chloé','Dmitri','Eva','Farid','Grete','Hiro'])[1 + i % 8],
              (ARRAY['Müller','Schmidt','Weber','Berg'])[1 + i % 4], 'de-DE', 'Europe/Berlin', 'DE', true, 'active'
         FROM generate_series(1, $1::int) AS i, LATERAL (SELECT '+49151' || lpad(i::text, 8, '0')) AS x(p)`,
      [count],
    );
    await db.query('ANALYZE');
  } finally {
    await db.end();
  }
}

/**
 * The raw client: bind_transceiver, then submit_sm with at most WINDOW unanswered, answering every
 * deliver_sm; done when every message has its delivery receipt. Resolves with the seconds taken.
 */
function rawSmppLoop(smppUrl: string, text: string, count: number): Promise<{ seconds: number; refused: number }> {
  const url = new URL(smppUrl);
  const shortMessage = gsmCoder.encode(text, 0x00);
  return new Promise((resolve, reject) => {
    const session = connect({ host: url.hostname, port: Number(url.port) });
    let next = 0;
    let unanswered = 0;
    let refused = 0;
    let receipts = 0;
    let t0 = 0n;
    session.on('error', reject);
    session.on('deliver_sm', (pdu: PDU) => {
      session.send(pdu.response());
      if ((Number(pdu.esm_class) & ESM_CLASS_DELIVERY_RECEIPT) !== 0 && ++receipts + refused === count) {
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        session.close();
        resolve({ seconds, refused });
      }
    });
    const pump = () => {
      while (unanswered < WINDOW && next < count) {
        const i = ++next;
        unanswered++;
        session.submit_sm(
          {
            source_addr_ton: 0x05,
            source_addr_npi: 0x00,
            source_addr: SMS_FROM,
            dest_addr_ton: 0x01,
            dest_addr_npi: 0x01,
            destination_addr: `49151${String(i).padStart(8, '0')}`,
            registered_delivery: 0x01,
            data_coding: 0x00,
            short_message: shortMessage,
          },
          (response) => {
            unanswered--;
            if (response.command_status !== 0) refused++;
            pump();
          },
        );
      }
    };
    session.on('connect', () => {
      session.bind_transceiver(
        { system_id: decodeURIComponent(url.username), password: decodeURIComponent(url.password) },
        (response) => {
          if (response.command_status !== 0) return reject(new Error(`bind refused: ${response.command_status}`));
          t0 = process.hrtime.bigint();
          pump();
        },
      );
    });
  });
}

/**
 * 20,000 one-segment SMS from one program through the executor (list, dispatch, claims, SMPP client
 * with a window of 10, receipts back into the ledger) until every one is delivered, against a raw
 * smpp client loop with the same window to the same SMSC simulator. Figures in messages per second.
 */
export const sendSms: Scenario = {
  name: 'send-sms',
  description: `${MESSAGES.toLocaleString('en')} SMS: launch -> all delivered through API + worker vs raw smpp loop (window ${WINDOW})`,
  async run(ctx: BenchContext) {
    const peers = await startPeers();
    try {
      ctx.log(`generating ${MESSAGES.toLocaleString('en')} customers with E.164 phones with SQL`);
      await seedCustomers(ctx, MESSAGES);
      const body = readFileSync(join(__dirname, '..', '..', 'templates', 'sms', 'spring-offer.hbs'), 'utf8').trim();
      let text = '';
      const run = await runProgram(ctx, {
        channel: 'sms',
        template: { body },
        env: { SMPP_URL: peers.smppUrl, SMS_FROM },
        peersPid: peers.child.pid!,
        // Receipts come after the sends: wait for every one.
        isSettled: (p) => (p.counts.delivered ?? 0) + (p.counts.failed ?? 0) === p.total,
        pollMs: 500,
        afterSettled: async (call) => {
          const preview = await call<{ text: string; sms: { segments: number; encoding: string } }>(
            'POST',
            '/v1/templates/BENCH-SPRING/preview',
            { customer: 's1', cell: 'BENCH-A' },
          );
          if (preview.sms.segments !== 1) throw new Error(`the SMS has ${preview.sms.segments} segments, not 1`);
          text = preview.text;
        },
      });
      const t = run.timings;
      const delivered = run.counts.delivered ?? 0;
      if (delivered !== MESSAGES)
        ctx.log(`warning: ${delivered} of ${MESSAGES} delivered: ${JSON.stringify(run.counts)}`);
      // A send's delivered_at is the receipt's "done date" (minute precision): the end is when the poll saw them all.
      const ours = MESSAGES / run.polledSeconds;
      const submitRate = MESSAGES / seconds(t.dispatchedAt, t.lastSentAt);
      ctx.log(formatPhases(t));
      ctx.log(
        `ours: ${ours.toFixed(0)} msgs/s launch -> all delivered (polled ${run.polledSeconds.toFixed(1)} s); ` +
          `${submitRate.toFixed(0)} msgs/s dispatched -> last sent`,
      );
      ctx.log(
        `ours: counts ${JSON.stringify(run.counts)}; worker peak RSS ${run.workerPeakMb} MB; ${formatRss(run.workerRssMb)}`,
      );
      ctx.log(`ours: worker VmRSS trend (MB): ${rssTrend(run.workerRssMb)}`);
      ctx.log(`ours: CPU s launch -> delivered: ${formatCpu(run.cpu)}`);

      ctx.log(`baseline: raw smpp bind_transceiver + submit_sm loop, window ${WINDOW}, text "${text}"`);
      const cpu = cpuMeter({ peers: peers.child.pid!, bench: process.pid });
      const baseline = await rawSmppLoop(peers.smppUrl, text, MESSAGES);
      ctx.log(
        `baseline: ${MESSAGES.toLocaleString('en')} delivered in ${baseline.seconds.toFixed(1)} s ` +
          `(${baseline.refused} refused); CPU s: ${formatCpu(cpu.read())}`,
      );
      return {
        ours: {
          value: ours,
          unit: 'msgs/s',
          detail:
            `${delivered.toLocaleString('en')} delivered in ${run.polledSeconds.toFixed(1)} s from launch ` +
            `(list + dispatch ${seconds(t.launchedAt, t.dispatchedAt).toFixed(1)} s, then ${submitRate.toFixed(0)} submits/s); ` +
            `worker peak RSS ${run.workerPeakMb} MB, ${formatRss(run.workerRssMb)}`,
        },
        baseline: { value: MESSAGES / baseline.seconds, unit: 'msgs/s' },
        higherIsBetter: true,
      };
    } finally {
      await stopApp(peers.child);
    }
  },
};

const seconds = (from: Date, to: Date) => (to.getTime() - from.getTime()) / 1000;
